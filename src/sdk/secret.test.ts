import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { settlesWithin } from "../../test/helpers/hang-guard.js";
import { tempDir } from "../../test/helpers/temp-dir.js";
import { HlnError } from "../errors.js";
import { secretFromCommand, secretFromValue } from "./secret.js";

describe("secretFromCommand", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hln-secret-cmd-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("takes the value of a command that exited while something it started holds its output", async () => {
    const pidFile = join(dir, "agent.pid");
    // An agent left running with the command's stdout, as `eval $(ssh-agent)` or a gpg
    // agent can be: the command is done, its output will never close.
    const secret = secretFromCommand(
      ["sh", "-c", `sleep 60 & echo $! > ${pidFile}; printf s3cret`],
      "token",
    );
    try {
      const value = await settlesWithin("the secret's value", secret.value(), 20_000);
      assert.equal(Buffer.from(value).toString(), "s3cret");
    } finally {
      const pid = Number(await readFile(pidFile, "utf8").catch(() => ""));
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
  });

  it("stops a command that never exits when the run is cancelled", async () => {
    const ac = new AbortController();
    const value = secretFromCommand(["sleep", "60"], "token", ac.signal).value();
    ac.abort();
    await assert.rejects(settlesWithin("the secret's value", value), (e: unknown) => {
      assert.ok(e instanceof HlnError, String(e));
      assert.equal(e.code, "E_ABORTED");
      return true;
    });
  });

  it("fails naming a command killed by a signal", async () => {
    await assert.rejects(
      settlesWithin(
        "the secret's value",
        secretFromCommand(["sh", "-c", "kill -9 $$"], "t").value(),
      ),
      /killed by a signal/,
    );
  });

  it("stops a command that never finishes, naming it and its bound", async () => {
    const secret = secretFromCommand(["sleep", "600"], "token", undefined, 300);
    await assert.rejects(settlesWithin("the secret's value", secret.value(), 20_000), {
      code: "E_INPUT_INVALID",
      message: 'secretFromCommand(["sleep","600"]): did not finish within 0.3 s, so it was stopped',
    });
  });
});

describe("secret IDs", () => {
  it("carry a keyed fingerprint of a value known up front, never the value", () => {
    const state = tempDir("hln-secret-key-");
    const env = { XDG_STATE_HOME: state };
    const a = secretFromValue("token", "hunter2", env);
    assert.match(a.id, /^token\.[0-9a-f]{16}$/);
    assert.equal(secretFromValue("token", "hunter2", env).id, a.id, "stable for one value");
    assert.notEqual(secretFromValue("token", "hunter3", env).id, a.id);
    assert.equal(a.name, "token");
    const key = join(state, "hln", "secret-key");
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(readFileSync(key).length, 32);
    // Without the key the fingerprint is not a plain hash of the value.
    const plain = createHash("sha256").update("hunter2").digest("hex");
    assert.ok(!plain.startsWith(a.id.slice("token.".length)), "not an unkeyed hash");
  });
});
