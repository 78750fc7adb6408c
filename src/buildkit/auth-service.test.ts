import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Auth } from "../gen/buildkit/filesync_pb.js";
import { type AuthServiceOptions, createAuthService } from "./auth-service.js";
import type { CredentialsSource } from "./docker-config.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function clientFor(options: AuthServiceOptions) {
  const service = createAuthService(options);
  return createClient(
    Auth,
    createRouterTransport((router) => service.register(router)),
  );
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

describe("createAuthService", () => {
  let dir: string;
  let binDir: string;
  const writeConfig = async (name: string, config: unknown) => {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, "config.json"), JSON.stringify(config));
    return d;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hln-auth-"));
    binDir = join(dir, "bin");
    await mkdir(binDir);
    // A credential store that counts its runs and knows one registry.
    const helper = `#!/bin/sh
url=$(cat)
echo "$url" >> "${dir}/runs"
if [ "$url" = "store.example" ]; then echo '{"Username":"su","Secret":"sp"}'; exit 0; fi
echo "credentials not found in native keychain"; exit 1
`;
    await writeFile(join(binDir, "docker-credential-teststore"), helper);
    await chmod(join(binDir, "docker-credential-teststore"), 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("announces only Credentials", () => {
    assert.deepEqual(createAuthService({ env: {} }).methods, [
      "/moby.filesync.v1.Auth/Credentials",
    ]);
  });

  it("maps BuildKit's Docker Hub host to the https://index.docker.io/v1/ key", async () => {
    const d = await writeConfig("hub", {
      auths: { "https://index.docker.io/v1/": { auth: b64("hubby:pw") } },
    });
    const res = await clientFor({ env: { DOCKER_CONFIG: d } }).credentials({
      host: "registry-1.docker.io",
    });
    assert.equal(res.username, "hubby");
    assert.equal(res.secret, "pw");
  });

  it("matches keys written as https://host, http://host and host/v1/", async () => {
    const d = await writeConfig("spellings", {
      auths: {
        "https://a.example": { auth: b64("ua:pa") },
        "http://b.example:5000": { username: "ub", password: "pb" },
        "c.example/v1/": { identitytoken: "tok-c" },
      },
    });
    const client = clientFor({ env: { DOCKER_CONFIG: d } });
    assert.deepEqual(
      await client.credentials({ host: "a.example" }).then((r) => [r.username, r.secret]),
      ["ua", "pa"],
    );
    assert.deepEqual(
      await client.credentials({ host: "b.example:5000" }).then((r) => [r.username, r.secret]),
      ["ub", "pb"],
    );
    assert.deepEqual(
      await client.credentials({ host: "c.example" }).then((r) => [r.username, r.secret]),
      ["", "tok-c"],
    );
  });

  it("answers empty credentials for an unknown host and with no config at all", async () => {
    const d = await writeConfig("one", { auths: { "a.example": { auth: b64("u:p") } } });
    const res = await clientFor({ env: { DOCKER_CONFIG: d } }).credentials({ host: "quay.io" });
    assert.deepEqual([res.username, res.secret], ["", ""]);
    const none = await clientFor({ env: {}, home: join(dir, "no-home") }).credentials({
      host: "quay.io",
    });
    assert.deepEqual([none.username, none.secret], ["", ""]);
  });

  it("reads ~/.docker/config.json when DOCKER_CONFIG is unset", async () => {
    const home = join(dir, "home");
    await writeConfig(join("home", ".docker"), { auths: { "h.example": { auth: b64("hu:hp") } } });
    const res = await clientFor({ env: {}, home }).credentials({ host: "h.example" });
    assert.deepEqual([res.username, res.secret], ["hu", "hp"]);
  });

  it("uses an injected reader", async () => {
    const paths: string[] = [];
    const res = await clientFor({
      env: { DOCKER_CONFIG: "/virtual" },
      readFile: async (p) => {
        paths.push(p);
        return JSON.stringify({ auths: { "v.example": { auth: b64("vu:vp") } } });
      },
    }).credentials({ host: "v.example" });
    assert.deepEqual([res.username, res.secret], ["vu", "vp"]);
    assert.deepEqual(paths, ["/virtual/config.json"]);
  });

  it("runs credsStore from PATH once per host and tells onLookup where answers came from", async () => {
    const d = await writeConfig("store", { credsStore: "teststore" });
    const lookups: Array<{ host: string; source: CredentialsSource }> = [];
    const client = clientFor({
      env: { DOCKER_CONFIG: d, PATH: `${binDir}${delimiter}${process.env.PATH}` },
      onLookup: (l) => lookups.push(l),
    });
    for (let i = 0; i < 3; i++) {
      const res = await client.credentials({ host: "store.example" });
      assert.deepEqual([res.username, res.secret], ["su", "sp"]);
    }
    const anon = await client.credentials({ host: "other.example" });
    assert.deepEqual([anon.username, anon.secret], ["", ""]);
    assert.deepEqual((await readFile(join(dir, "runs"), "utf8")).trim().split("\n"), [
      "store.example",
      "other.example",
    ]);
    assert.deepEqual(lookups, [
      { host: "store.example", source: "credsStore" },
      { host: "other.example", source: "none" },
    ]);
  });

  it("fails the request with one line when the helper is missing, and retries next time", async () => {
    const d = await writeConfig("missing", { credHelpers: { "m.example": "absent" } });
    const client = clientFor({ env: { DOCKER_CONFIG: d, PATH: binDir } });
    for (let i = 0; i < 2; i++) {
      const e = await failure(client.credentials({ host: "m.example" }));
      assert.equal(e.code, Code.FailedPrecondition);
      assert.equal(
        e.rawMessage,
        "credential helper docker-credential-absent not found on PATH (named by the Docker config for m.example)",
      );
    }
  });

  it("fails the request naming a config file that is not JSON", async () => {
    const d = join(dir, "badjson");
    await mkdir(d);
    await writeFile(join(d, "config.json"), "{");
    const e = await failure(clientFor({ env: { DOCKER_CONFIG: d } }).credentials({ host: "x" }));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.ok(e.rawMessage.includes(join(d, "config.json")), e.rawMessage);
  });

  it("leaves FetchToken, GetTokenAuthority and VerifyTokenAuthority UNIMPLEMENTED", async () => {
    const client = clientFor({ env: {} });
    for (const call of [
      client.fetchToken({ host: "h" }),
      client.getTokenAuthority({ host: "h" }),
      client.verifyTokenAuthority({ host: "h" }),
    ]) {
      assert.equal((await failure(call)).code, Code.Unimplemented);
    }
  });
});
