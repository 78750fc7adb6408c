import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { settlesWithin } from "../../test/helpers/hang-guard.js";
import { HlnError } from "../errors.js";
import {
  type CredentialHelperRunner,
  DOCKER_HUB_SERVER,
  type DockerConfig,
  dockerConfigPath,
  helperServerUrl,
  inlineCredentials,
  loadDockerConfig,
  lookupCredentials,
  matchingKeys,
  registryHostKey,
  spawnCredentialHelper,
} from "./docker-config.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("dockerConfigPath", () => {
  it("prefers $DOCKER_CONFIG, else ~/.docker", () => {
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: "/etc/dc" }, "/home/u"), "/etc/dc/config.json");
    assert.equal(dockerConfigPath({}, "/home/u"), "/home/u/.docker/config.json");
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: "" }, "/home/u"), "/home/u/.docker/config.json");
  });
});

describe("loadDockerConfig", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hln-dc-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("treats a missing file as no credentials", async () => {
    assert.deepEqual(await loadDockerConfig(join(dir, "absent.json")), {});
  });

  it("keeps the credential fields and drops the rest", async () => {
    const p = join(dir, "c.json");
    await writeFile(
      p,
      JSON.stringify({
        auths: { "ghcr.io": { auth: "eDp5", email: "e@x", extra: 1 }, bad: "string" },
        credHelpers: { "gcr.io": "gcloud", empty: "" },
        credsStore: "pass",
        psFormat: "table",
      }),
    );
    const c = await loadDockerConfig(p);
    assert.deepEqual(c, {
      auths: { "ghcr.io": { auth: "eDp5" } },
      credHelpers: { "gcr.io": "gcloud" },
      credsStore: "pass",
    });
  });

  it("fails with E_INPUT_INVALID naming the file on bad JSON", async () => {
    const p = join(dir, "bad.json");
    await writeFile(p, "{ nope");
    await assert.rejects(loadDockerConfig(p), (e: unknown) => {
      assert.ok(e instanceof HlnError);
      assert.equal(e.code, "E_INPUT_INVALID");
      assert.ok(e.message.includes(p), e.message);
      return true;
    });
    await writeFile(p, "[]");
    await assert.rejects(loadDockerConfig(p), /is not a JSON object/);
  });

  it("reads through an injected reader and reports its other errors", async () => {
    const c = await loadDockerConfig("/virtual", async () => '{"credsStore":"x"}');
    assert.deepEqual(c, { credsStore: "x" });
    const denied = Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    await assert.rejects(
      loadDockerConfig("/virtual", async () => {
        throw denied;
      }),
      /cannot read Docker config \/virtual: EACCES/,
    );
  });
});

describe("registry host keys", () => {
  it("reduces any spelling of a key to its host", () => {
    for (const k of [
      "ghcr.io",
      "https://ghcr.io",
      "http://ghcr.io",
      "ghcr.io/v1/",
      "https://GHCR.io/v2/x",
    ]) {
      assert.equal(registryHostKey(k), "ghcr.io", k);
    }
    assert.equal(registryHostKey("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
  });

  it("folds Docker Hub's names together", () => {
    for (const k of ["registry-1.docker.io", "docker.io", "index.docker.io", DOCKER_HUB_SERVER]) {
      assert.equal(registryHostKey(k), "docker.io", k);
    }
    assert.equal(helperServerUrl("registry-1.docker.io"), DOCKER_HUB_SERVER);
    assert.equal(helperServerUrl("ghcr.io"), "ghcr.io");
  });

  it("ranks the exact key, then Hub's canonical key, then other spellings", () => {
    const rec = { "https://ghcr.io": 1, "ghcr.io/v1/": 2, "ghcr.io": 3, "quay.io": 4 };
    assert.deepEqual(matchingKeys(rec, "ghcr.io"), ["ghcr.io", "ghcr.io/v1/", "https://ghcr.io"]);
    const hub = { "docker.io": 1, [DOCKER_HUB_SERVER]: 2 };
    assert.deepEqual(matchingKeys(hub, "registry-1.docker.io"), [DOCKER_HUB_SERVER, "docker.io"]);
    assert.deepEqual(matchingKeys(undefined, "x"), []);
  });
});

describe("inlineCredentials", () => {
  it("decodes auth, splitting at the first colon", () => {
    assert.deepEqual(inlineCredentials({ auth: b64("me:pa:ss") }, "w"), {
      username: "me",
      secret: "pa:ss",
    });
  });
  it("prefers auth over username and password", () => {
    assert.deepEqual(inlineCredentials({ auth: b64("a:b"), username: "c", password: "d" }, "w"), {
      username: "a",
      secret: "b",
    });
    assert.deepEqual(inlineCredentials({ username: "c", password: "d" }, "w"), {
      username: "c",
      secret: "d",
    });
  });
  it("returns an identity token as the secret with no user name", () => {
    assert.deepEqual(inlineCredentials({ identitytoken: "tok", auth: b64("a:b") }, "w"), {
      username: "",
      secret: "tok",
    });
  });
  it("has nothing for an empty entry and rejects an auth without a colon", () => {
    assert.equal(inlineCredentials({}, "w"), undefined);
    assert.throws(
      () => inlineCredentials({ auth: b64("nocolon") }, "cfg: auths[x]"),
      /cfg: auths\[x\]: "auth"/,
    );
  });
});

describe("lookupCredentials", () => {
  const calls: string[] = [];
  const runner =
    (answers: Record<string, { username: string; secret: string }>): CredentialHelperRunner =>
    async (helper, url) => {
      calls.push(`${helper} ${url}`);
      return answers[`${helper} ${url}`];
    };
  const opts = (answers: Record<string, { username: string; secret: string }> = {}) => ({
    runHelper: runner(answers),
    configPath: "/c.json",
  });

  it("asks a per-host helper first, with Hub's server URL for Docker Hub", async () => {
    calls.length = 0;
    const config: DockerConfig = {
      credHelpers: { "docker.io": "hub", "gcr.io": "gcloud" },
      credsStore: "store",
      auths: { [DOCKER_HUB_SERVER]: { auth: b64("file:pw") } },
    };
    const r = await lookupCredentials(
      config,
      "registry-1.docker.io",
      opts({ [`hub ${DOCKER_HUB_SERVER}`]: { username: "h", secret: "s" } }),
    );
    assert.deepEqual(r, { credentials: { username: "h", secret: "s" }, source: "credHelper" });
    assert.deepEqual(calls, [`hub ${DOCKER_HUB_SERVER}`]);
  });

  it("asks the store under each spelling found in auths", async () => {
    calls.length = 0;
    const config: DockerConfig = { credsStore: "store", auths: { "https://q.example": {} } };
    const r = await lookupCredentials(
      config,
      "q.example",
      opts({ "store https://q.example": { username: "u", secret: "p" } }),
    );
    assert.equal(r.source, "credsStore");
    assert.deepEqual(calls, ["store q.example", "store https://q.example"]);
  });

  it("falls back to the file when the helper has nothing", async () => {
    const config: DockerConfig = {
      credsStore: "store",
      auths: { "q.example/v1/": { username: "u", password: "p" } },
    };
    const r = await lookupCredentials(config, "q.example", opts());
    assert.deepEqual(r, { credentials: { username: "u", secret: "p" }, source: "config" });
  });

  it("answers anonymous for a host it does not know", async () => {
    calls.length = 0;
    const r = await lookupCredentials(
      { auths: { "ghcr.io": { auth: b64("a:b") } } },
      "quay.io",
      opts(),
    );
    assert.deepEqual(r, { credentials: { username: "", secret: "" }, source: "none" });
    assert.deepEqual(calls, []);
  });
});

describe("spawnCredentialHelper", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hln-helper-"));
    // A real helper speaking the docker-credential-helpers protocol, with a few failure modes.
    const script = `#!/bin/sh
[ "$1" = get ] || { echo "unexpected action $1" >&2; exit 2; }
url=$(cat)
echo "$url" >> "${dir}/asked"
case "$url" in
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hubpass"}' "$url" ;;
  tok.example) echo '{"Username":"<token>","Secret":"refresh-token"}' ;;
  slow.example) sleep 5 ;;
  crash.example) kill -SEGV $$ ;;
  agent.example) sleep 60 & echo $! > "${dir}/agent.pid"; echo '{"Username":"agentuser","Secret":"agentpass"}' ;;
  broken.example) echo "keychain locked" >&2; exit 1 ;;
  garbage.example) echo 'not json: hubpass' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
    await writeFile(join(dir, "docker-credential-fake"), script);
    await chmod(join(dir, "docker-credential-fake"), 0o755);
    env = { PATH: `${dir}${delimiter}${process.env.PATH}` };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("sends the server URL on stdin and reads Username and Secret", async () => {
    const run = spawnCredentialHelper({ env });
    assert.deepEqual(await run("fake", DOCKER_HUB_SERVER, {}), {
      username: "hubuser",
      secret: "hubpass",
    });
    assert.match(
      await readFile(join(dir, "asked"), "utf8"),
      /^https:\/\/index\.docker\.io\/v1\/$/m,
    );
  });

  it("maps the <token> user name to an identity token", async () => {
    assert.deepEqual(await spawnCredentialHelper({ env })("fake", "tok.example", {}), {
      username: "",
      secret: "refresh-token",
    });
  });

  it("answers nothing for 'credentials not found'", async () => {
    assert.equal(await spawnCredentialHelper({ env })("fake", "other.example", {}), undefined);
  });

  it("fails with one line naming a helper that is not on PATH", async () => {
    await assert.rejects(spawnCredentialHelper({ env })("nope", "ghcr.io", {}), (e: unknown) => {
      assert.ok(e instanceof HlnError);
      assert.equal(e.code, "E_INPUT_INVALID");
      assert.equal(
        e.message,
        "credential helper docker-credential-nope not found on PATH (named by the Docker config for ghcr.io)",
      );
      return true;
    });
  });

  it("reports the helper's own error, and never its output when that is not JSON", async () => {
    const run = spawnCredentialHelper({ env });
    await assert.rejects(
      run("fake", "broken.example", {}),
      /docker-credential-fake failed for broken.example: keychain locked/,
    );
    await assert.rejects(run("fake", "garbage.example", {}), (e: Error) => {
      assert.match(e.message, /answered something that is not JSON/);
      assert.ok(!e.message.includes("hubpass"));
      return true;
    });
  });

  it("gives up on a helper that hangs", async () => {
    // The bound that fired is named in the error; how long it took is not the test's business.
    await assert.rejects(
      spawnCredentialHelper({ env, timeoutMs: 200 })("fake", "slow.example", {}),
      /did not answer within 200 ms/,
    );
  });

  it("fails naming a helper that died of a signal", async () => {
    await assert.rejects(
      settlesWithin(
        "the helper's answer",
        spawnCredentialHelper({ env })("fake", "crash.example", {}),
      ),
      /credential helper docker-credential-fake was killed by SIGSEGV/,
    );
  });

  it("takes the answer of a helper that exited while something it started holds its output", async () => {
    // The helper's bound is longer than the kill-safety: only its exit can end this.
    try {
      assert.deepEqual(
        await settlesWithin(
          "the helper's answer",
          spawnCredentialHelper({ env, timeoutMs: 60_000 })("fake", "agent.example", {}),
          20_000,
        ),
        { username: "agentuser", secret: "agentpass" },
      );
    } finally {
      const pid = Number(await readFile(join(dir, "agent.pid"), "utf8").catch(() => ""));
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
  });

  it("stops when the signal fires", async () => {
    const ac = new AbortController();
    const p = spawnCredentialHelper({ env })("fake", "slow.example", { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, (e: unknown) => e instanceof HlnError && e.code === "E_ABORTED");
  });
});
