import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dialerForDockerHost, sshDialStdio } from "./dial-docker-host.js";

const dialStdio = ["docker", "system", "dial-stdio"];

describe("sshDialStdio", () => {
  it("runs docker system dial-stdio on the host", () => {
    assert.deepEqual(sshDialStdio(new URL("ssh://host")), {
      host: "host",
      target: [],
      command: dialStdio,
    });
  });

  it("passes the user and port as ssh options", () => {
    assert.deepEqual(sshDialStdio(new URL("ssh://user@host:2222")), {
      host: "host",
      target: ["-l", "user", "-p", "2222"],
      command: dialStdio,
    });
  });

  it("points the remote docker at a socket given as the path", () => {
    assert.deepEqual(sshDialStdio(new URL("ssh://user@host/var/run/other.sock")).command, [
      "docker",
      "--host=unix:///var/run/other.sock",
      "system",
      "dial-stdio",
    ]);
  });

  it("decodes the user and unbrackets an IPv6 host", () => {
    assert.deepEqual(sshDialStdio(new URL("ssh://deploy%2Bci@[fe80::1]:22")), {
      host: "fe80::1",
      target: ["-l", "deploy+ci", "-p", "22"],
      command: dialStdio,
    });
  });

  it("refuses a password in the URL", () => {
    assert.throws(() => sshDialStdio(new URL("ssh://root:hunter2@host")), {
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
