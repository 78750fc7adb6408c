/**
 * Ctrl-C: hln exits 130, the step it was running is stopped on the engine, and nothing
 * it started (ssh processes included) outlives it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { nonce } from "../helpers/engine.js";
import { processes, until } from "../helpers/processes.js";
import { remoteAddr, requireTestEngines, sshPath } from "../helpers/remote-host.js";
import { repoRoot } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const bin = fileURLToPath(new URL("../../bin/hln.js", import.meta.url));

async function interrupt(env: NodeJS.ProcessEnv): Promise<void> {
  const marker = `hln-interrupt-${nonce()}`;
  const dir = tempDir("hln-interrupt-");
  writeFileSync(
    join(dir, "stack.ts"),
    `import { defineStack } from "hln";
export default defineStack({ name: "interrupt", version: "0.0.1", actions: { async up({ dag }) {
  await dag.container().from("busybox").withExec(["sh", "-c", "sleep 300; echo ${marker}"]).sync();
} } });
`,
  );
  const child = spawn(process.execPath, [bin, "--log-format", "plain", "do", "up", "--plan", dir], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  // The step's process runs on this kernel, wherever its engine's namespace is.
  await until("the step runs", () => processes(marker).length > 0);
  child.kill("SIGINT");
  const code = await exited;
  assert.equal(code, 130, stderr);
  await until("the step is stopped on the engine", () => processes(marker).length === 0);
}

describe("Ctrl-C", () => {
  it("stops the step on the local engine and exits 130", async () => {
    await interrupt({});
  });

  it("leaves no ssh process behind with DOCKER_HOST=ssh://", async () => {
    requireTestEngines();
    const before = processes("system dial-stdio").length;
    await interrupt({ DOCKER_HOST: `ssh://root@${remoteAddr}`, PATH: sshPath });
    await until(
      "hln's ssh processes are gone",
      () => processes("system dial-stdio").length <= before,
      5000,
    );
  });
});
