import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { nonce } from "../helpers/engine.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

/** Every form of `secret` that must never appear in what hln prints or stores. */
function forms(secret: string): string[] {
  const b = Buffer.from(secret);
  const out = [secret, b.toString("base64"), b.toString("base64url"), b.toString("hex")];
  // The secret inside a longer base64 stream, at each of the three alignments.
  for (const pad of ["", "a", "ab"])
    out.push(
      Buffer.from(pad + secret)
        .toString("base64")
        .slice(4, -4),
    );
  return out;
}

function assertNoLeak(where: string, text: string | Buffer, secret: string) {
  for (const f of forms(secret)) {
    assert.equal(text.includes(f), false, `${where} contains the secret (${f.slice(0, 6)}…)`);
  }
}

describe("secrets", () => {
  it("reach the step but never the output, the result, the logs or the image", async () => {
    const secret = randomBytes(16).toString("hex");
    const dir = tempDir("hln-secret-");
    const n = nonce();
    writeFileSync(
      join(dir, "stack.ts"),
      `import { defineStack } from "hln";
export default defineStack({
  name: "probe", version: "0.0.1",
  inputs: { fail: { type: "boolean", default: false } },
  actions: { async up({ dag, inputs }) {
    const s = dag.secretFromEnv("HLN_PROBE_SECRET", { name: "probe" });
    const c = dag.container().from("busybox")
      .withMountedSecret("/run/secrets/probe", s)
      .withSecretVariable("TOKEN", s)
      .withExec(["sh", "-c", 'echo ${n}; cat /run/secrets/probe; echo; echo "$TOKEN"; printf %s "$TOKEN" | base64; printf x%s "$TOKEN" | base64; echo "token=$TOKEN" >&2; [ "${"$"}(cat /run/secrets/probe)" = "$TOKEN" ] && echo same' + (inputs.fail ? "; exit 9" : "")]);
    const out = await c.stdout();
    await c.export(${JSON.stringify(join(dir, "image.tar"))}, { format: "oci" });
    return { out };
  } },
});
`,
    );
    const env = { HLN_PROBE_SECRET: secret };
    for (const format of ["plain", "json"]) {
      const r = await runCli(["--log-format", format, "do", "up", "--plan", dir], { env });
      assert.equal(r.code, 0, r.stderr);
      assertNoLeak(`stdout (${format})`, r.stdout, secret);
      assertNoLeak(`stderr (${format})`, r.stderr, secret);
      // The step did see the secret: it printed it, and hln redacted it.
      assert.match(r.stdout, /same/);
      assert.match(r.stdout, /\*\*\*/);
    }
    const image = readFileSync(join(dir, "image.tar"));
    assert.ok(image.length > 1000);
    assertNoLeak("the exported image", image, secret);

    const failed = await runCli(
      ["--log-format", "plain", "do", "up", "--plan", dir, "--set", "fail=true"],
      { env },
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /exited with code 9/);
    assert.match(failed.stderr, /\| \*\*\*/, "the failed step's output is shown, redacted");
    assertNoLeak("a failed run's stderr", failed.stderr, secret);
  });

  it("a changed value runs the step again: the old value is never replayed from the cache", async () => {
    // BuildKit keeps secret values out of cache keys. Without the keyed fingerprint in the
    // secret's ID, the second run reused the step and printed what it printed the first
    // time: the first value, which the second run's redactor never learned.
    const dir = tempDir("hln-secret-change-");
    const home = tempDir("hln-secret-state-");
    const n = nonce();
    writeFileSync(
      join(dir, "stack.ts"),
      `import { defineStack } from "hln";
export default defineStack({
  name: "rotate", version: "0.0.1",
  inputs: { token: { type: "secret", env: "HLN_ROTATE_TOKEN" } },
  actions: { async up({ dag, inputs }) {
    const out = await dag.container().from("busybox")
      .withSecretVariable("TOKEN", inputs.token)
      .withExec(["sh", "-c", 'echo ${n} "token=$TOKEN"']).stdout();
    const set = await dag.container().from("busybox")
      .withSecretVariable("TOKEN", dag.setSecret("set", process.env.HLN_ROTATE_TOKEN ?? ""))
      .withExec(["sh", "-c", 'echo ${n} "set=$TOKEN"']).stdout();
    return { out, set };
  } },
});
`,
    );
    const env = { XDG_STATE_HOME: home };
    const first = randomBytes(12).toString("hex");
    const second = randomBytes(12).toString("hex");
    const a = await runCli(["--log-format", "plain", "do", "up", "--dir", dir], {
      env: { ...env, HLN_ROTATE_TOKEN: first },
    });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /token=\*\*\*/);
    const b = await runCli(["--log-format", "plain", "do", "up", "--dir", dir], {
      env: { ...env, HLN_ROTATE_TOKEN: second },
    });
    assert.equal(b.code, 0, b.stderr);
    assertNoLeak("stdout after the value changed", b.stdout, first);
    assertNoLeak("stderr after the value changed", b.stderr, first);
    assert.match(b.stdout, /token=\*\*\*/);
    assert.match(b.stdout, /set=\*\*\*/);
    // The same value again is answered from the cache: the key is kept between runs.
    const c = await runCli(["--log-format", "plain", "do", "up", "--dir", dir], {
      env: { ...env, HLN_ROTATE_TOKEN: second },
    });
    assert.equal(c.code, 0, c.stderr);
    assert.doesNotMatch(c.stderr, /^#\d+ sh -c .*\n#\d+ DONE/m);
    assert.match(c.stderr, /CACHED/);
  });

  it("fail with one line naming the variable when it is unset", async () => {
    const dir = tempDir("hln-secret-");
    writeFileSync(
      join(dir, "stack.ts"),
      `import { defineStack } from "hln";
export default defineStack({ name: "probe", version: "0.0.1", actions: { async up({ dag }) {
  dag.secretFromEnv("HLN_SURELY_UNSET_${nonce()}");
} } });
`,
    );
    const r = await runCli(["do", "up", "--plan", dir]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr.trim(),
      /^hln: error: secret HLN_SURELY_UNSET_\w+: environment variable HLN_SURELY_UNSET_\w+ is not set$/,
    );
  });
});
