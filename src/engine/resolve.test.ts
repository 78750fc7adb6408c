import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { resolveDockerHost, resolveEngine } from "./resolve.js";

function files(map: Record<string, string>) {
  return (path: string) => map[path];
}

const meta = (name: string) =>
  `/home/u/.docker/contexts/meta/${createHash("sha256").update(name).digest("hex")}/meta.json`;

describe("resolveEngine", () => {
  it("prefers DOCKER_HOST", () => {
    assert.deepEqual(
      resolveEngine({
        env: { DOCKER_HOST: "tcp://h:2375", DOCKER_CONTEXT: "x" },
        home: "/home/u",
        readFile: files({}),
      }),
      {
        kind: "docker",
        host: "tcp://h:2375",
        source: "DOCKER_HOST",
      },
    );
  });

  it("falls back to the default socket", () => {
    assert.deepEqual(resolveEngine({ env: {}, home: "/home/u", readFile: files({}) }), {
      kind: "docker",
      host: "unix:///var/run/docker.sock",
      source: "default socket",
    });
  });

  it("follows the current context in the Docker config to its endpoint", () => {
    const read = files({
      "/home/u/.docker/config.json": JSON.stringify({ currentContext: "remote" }),
      [meta("remote")]: JSON.stringify({
        Endpoints: { docker: { Host: "unix:///run/remote.sock" } },
      }),
    });
    assert.deepEqual(resolveEngine({ env: {}, home: "/home/u", readFile: read }), {
      kind: "docker",
      host: "unix:///run/remote.sock",
      source: 'docker context "remote" (currentContext in /home/u/.docker/config.json)',
    });
  });

  it("lets DOCKER_CONTEXT override the config, and treats 'default' as the default socket", () => {
    const read = files({
      "/home/u/.docker/config.json": JSON.stringify({ currentContext: "remote" }),
      [meta("ci")]: JSON.stringify({ Endpoints: { docker: { Host: "unix:///run/ci.sock" } } }),
    });
    assert.equal(
      resolveDockerHost({ env: { DOCKER_CONTEXT: "ci" }, home: "/home/u", readFile: read }).host,
      "unix:///run/ci.sock",
    );
    assert.equal(
      resolveEngine({ env: { DOCKER_CONTEXT: "default" }, home: "/home/u", readFile: read }).source,
      "default socket",
    );
  });

  it("names the file when a context is missing or broken", () => {
    assert.throws(
      () =>
        resolveEngine({ env: { DOCKER_CONTEXT: "gone" }, home: "/home/u", readFile: files({}) }),
      {
        message: `docker context "gone" (from DOCKER_CONTEXT) does not exist: no ${meta("gone")}`,
      },
    );
    assert.throws(
      () =>
        resolveEngine({
          env: {},
          home: "/home/u",
          readFile: files({ "/home/u/.docker/config.json": "{" }),
        }),
      { message: "/home/u/.docker/config.json: not valid JSON" },
    );
  });

  it("honours DOCKER_CONFIG", () => {
    const read = files({
      "/cfg/config.json": JSON.stringify({ currentContext: "c" }),
      [`/cfg/contexts/meta/${createHash("sha256").update("c").digest("hex")}/meta.json`]:
        JSON.stringify({
          Endpoints: { docker: { Host: "tcp://c:1" } },
        }),
    });
    assert.equal(
      resolveDockerHost({ env: { DOCKER_CONFIG: "/cfg" }, home: "/home/u", readFile: read }).host,
      "tcp://c:1",
    );
  });

  it("puts --engine before BUILDKIT_HOST before the Docker engine", () => {
    const env = { BUILDKIT_HOST: "tcp://127.0.0.1:1234", DOCKER_HOST: "ssh://root@h" };
    const docker = { host: "ssh://root@h", source: "DOCKER_HOST" };
    assert.deepEqual(resolveEngine({ env, home: "/home/u", readFile: files({}) }), {
      kind: "buildkit",
      address: "tcp://127.0.0.1:1234",
      source: "BUILDKIT_HOST",
      docker,
    });
    assert.deepEqual(
      resolveEngine({ engine: "unix:///run/bk.sock", env, home: "/home/u", readFile: files({}) }),
      { kind: "buildkit", address: "unix:///run/bk.sock", source: "engine option", docker },
    );
    // The CLI names its flag; a library caller reads no CLI word.
    assert.equal(
      resolveEngine({ engine: "unix:///b.sock", engineFrom: "--engine", env, readFile: files({}) })
        .source,
      "--engine",
    );
    assert.deepEqual(
      resolveEngine({ engine: "docker", env, home: "/home/u", readFile: files({}) }),
      { kind: "docker", ...docker },
    );
  });
});
