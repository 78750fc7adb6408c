/**
 * An error's remedy is data below the CLI (HlnError.remedy); the CLI names the setting as
 * the user gave it: the flag for a flag, the variable for a variable, and both when the
 * user gave neither. No engine is needed: each case fails before or at the first dial.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the CLI names a remedy's setting in the words the user used", () => {
  const dir = tempDir("hln-setting-words-");
  const cert = join(dir, "cert.pem");
  writeFileSync(cert, "not a certificate\n");
  const pair =
    "hln: error: BuildKit TLS: a client certificate needs its key and the other way round";
  // No user config or context may decide where the engine is.
  const base = { DOCKER_CONFIG: dir, BUILDKIT_HOST: "", DOCKER_HOST: "", HLN_DEBUG: "" };

  it("a flag", async () => {
    const r = await runCli(["--tlscert", cert, "--engine", "tcp://127.0.0.1:1", "engine", "info"], {
      env: base,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [pair, "  hint: set --tlscert and --tlskey"]);
  });

  it("a variable", async () => {
    const r = await runCli(["engine", "info"], {
      env: { ...base, BUILDKIT_HOST: "tcp://127.0.0.1:1", BUILDKIT_TLS_CERT: cert },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      pair,
      "  hint: set BUILDKIT_TLS_CERT and BUILDKIT_TLS_KEY",
    ]);
  });

  it("a variable given, and a setting not given at all", async () => {
    const r = await runCli(["engine", "info"], {
      env: { ...base, DOCKER_HOST: `unix://${join(dir, "no-such.sock")}` },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      r.stderr.trimEnd().split("\n")[1],
      "  hint: start Docker (sudo systemctl start docker); or set DOCKER_HOST or --engine (or BUILDKIT_HOST) to a running engine",
    );
  });
});
