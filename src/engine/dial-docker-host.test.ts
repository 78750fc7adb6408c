import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dialerForDockerHost, sshDialStdioArgv } from "./dial-docker-host.js";

const head = ["ssh", "-o", "ConnectTimeout=2", "-o", "BatchMode=yes", "-T"];

describe("sshDialStdioArgv", () => {
  it("runs docker system dial-stdio on the host, in batch mode", () => {
    assert.deepEqual(sshDialStdioArgv(new URL("ssh://host"), 2000), [
      ...head,
      "--",
      "host",
      "docker",
      "system",
      "dial-stdio",
    ]);
  });

  it("passes the user and port as ssh options", () => {
    assert.deepEqual(sshDialStdioArgv(new URL("ssh://user@host:2222"), 2000), [
      ...head,
      "-l",
      "user",
      "-p",
      "2222",
      "--",
      "host",
      "docker",
      "system",
      "dial-stdio",
    ]);
  });

  it("points the remote docker at a socket given as the path", () => {
    assert.deepEqual(sshDialStdioArgv(new URL("ssh://user@host/var/run/other.sock"), 2000), [
      ...head,
      "-l",
      "user",
      "--",
      "host",
      "docker",
      "--host=unix:///var/run/other.sock",
      "system",
      "dial-stdio",
    ]);
  });

  it("rounds the connect timeout up to whole seconds, at least one", () => {
    assert.equal(sshDialStdioArgv(new URL("ssh://h"), 2500)[2], "ConnectTimeout=3");
    assert.equal(sshDialStdioArgv(new URL("ssh://h"), 10)[2], "ConnectTimeout=1");
  });

  it("decodes the user and unbrackets an IPv6 host", () => {
    const argv = sshDialStdioArgv(new URL("ssh://deploy%2Bci@[fe80::1]:22"), 2000);
    assert.deepEqual(argv.slice(head.length, head.length + 7), [
      "-l",
      "deploy+ci",
      "-p",
      "22",
      "--",
      "fe80::1",
      "docker",
    ]);
  });

  it("refuses a password in the URL", () => {
    assert.throws(() => sshDialStdioArgv(new URL("ssh://root:hunter2@host"), 2000), {
      name: "HlnError",
      code: "E_USAGE",
      message:
        "ssh://root@host: passwords in the URL are not supported; use a key (ssh-agent or ~/.ssh/config)",
    });
  });
});

describe("dialerForDockerHost", () => {
  it("names unix, tcp and ssh endpoints", () => {
    assert.equal(
      dialerForDockerHost("unix:///var/run/docker.sock").endpoint,
      "unix:///var/run/docker.sock",
    );
    assert.equal(dialerForDockerHost("unix://").endpoint, "unix:///var/run/docker.sock");
    assert.equal(dialerForDockerHost("tcp://10.0.0.2:2376").endpoint, "tcp://10.0.0.2:2376");
    assert.equal(dialerForDockerHost("tcp://docker.example").endpoint, "tcp://docker.example:2375");
    assert.equal(
      dialerForDockerHost("http://docker.example:2376").endpoint,
      "tcp://docker.example:2376",
    );
    assert.equal(dialerForDockerHost("ssh://host").endpoint, "ssh://host");
    assert.equal(dialerForDockerHost("ssh://user@host:2222").endpoint, "ssh://user@host:2222");
    assert.equal(
      dialerForDockerHost("ssh://user@host/var/run/other.sock").endpoint,
      "ssh://user@host/var/run/other.sock",
    );
  });

  it("dials an IPv6 tcp host without its brackets", () => {
    // tcpDialer names the endpoint from the host it connects to; a bracketed one would not resolve.
    assert.equal(dialerForDockerHost("tcp://[::1]:2375").endpoint, "tcp://::1:2375");
  });

  it("refuses a password in an ssh URL before running anything", () => {
    assert.throws(() => dialerForDockerHost("ssh://u:p@host"), { code: "E_USAGE" });
  });

  it("refuses an unsupported scheme, naming it", () => {
    assert.throws(() => dialerForDockerHost("npipe:////./pipe/docker_engine"), {
      name: "HlnError",
      code: "E_USAGE",
      message:
        'Docker host "npipe:////./pipe/docker_engine": scheme npipe:// is not supported (use unix://, tcp:// or ssh://)',
    });
  });

  it("refuses a host that is not a URL", () => {
    assert.throws(() => dialerForDockerHost("localhost:2375 x"), { code: "E_USAGE" });
    assert.throws(() => dialerForDockerHost("not a url"), {
      code: "E_INPUT_INVALID",
      message: 'invalid Docker host "not a url"',
    });
  });
});
