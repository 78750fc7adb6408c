/**
 * Engine loss: the test's own dockerd (test/helpers/scratch-engine.ts) is killed with -9
 * while `hln up` builds and while it converges. hln must say, in one line naming the
 * engine, that it lost it, and exit (not 70) without hanging; the app's state file must
 * still parse and either be as it was or record the failed deploy; the lock must be free.
 * Once dockerd is back on the same roots, a rerun reuses the build cache and converges.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { nonce } from "../helpers/engine.js";
import { processes } from "../helpers/processes.js";
import { type CliResult, repoRoot, runCli } from "../helpers/run-cli.js";
import { type ScratchEngine, startScratchEngine } from "../helpers/scratch-engine.js";
import { tempDir } from "../helpers/temp-dir.js";

const tag = nonce();
// The expensive step prints its marker in capitals, so its output is told apart from its
// name: a rerun that shows the marker ran the step again instead of taking it from cache.
const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "engine-loss",
  version: "1.0.0",
  inputs: {
    slowBuild: { type: "number", default: 0 },
    extra: { type: "boolean", default: false },
  },
  actions: {
    async up({ dag, inputs, app }) {
      const idle = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
      const built = dag.container().from("busybox")
        .withExec(["sh", "-c", "echo expensive-${tag} | tr a-z A-Z; echo done > /expensive"])
        .withExec(["sh", "-c", "echo slow-${tag}-started | tr a-z A-Z; sleep " + inputs.slowBuild]);
      app.service("web", built, { command: idle });
      if (inputs.extra) app.service("extra", dag.container().from("busybox"), { command: idle });
    },
  },
});
`;
const ran = `EXPENSIVE-${tag.toUpperCase()}`;

const dir = tempDir("hln-engine-loss-");
const stackDir = join(dir, "stack");
mkdirSync(stackDir);
writeFileSync(join(stackDir, "stack.ts"), stackSource);
const stateHome = join(dir, "state");
const app = `t${nonce()}`;
/** Kill-safety for "no hang", far above the few seconds expected on a loaded machine. */
const guardMs = 30_000;
let engine: ScratchEngine | undefined;
const figures: string[] = [];
const t0 = performance.now();
const stamp = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

function env(): NodeJS.ProcessEnv {
  return {
    XDG_STATE_HOME: stateHome,
    DOCKER_HOST: engine!.host,
    BUILDKIT_HOST: "",
    DOCKER_CONTEXT: "",
  };
}

function up(args: string[]): Promise<CliResult> {
  return runCli(["--log-format", "plain", "up", app, "--dir", stackDir, ...args], {
    env: env(),
    timeoutMs: 180_000,
  });
}

/** The app's state and lock files (the store keeps them per engine ID, which a restart keeps). */
function appFiles(): { state?: string; lock: boolean } {
  const apps = join(stateHome, "hln/apps");
  if (!existsSync(apps)) return { lock: false };
  const [engineDir] = readdirSync(apps);
  if (!engineDir) return { lock: false };
  const state = join(apps, engineDir, `${app}.json`);
  return {
    state: existsSync(state) ? readFileSync(state, "utf8") : undefined,
    lock: existsSync(join(apps, engineDir, `${app}.lock`)),
  };
}

/**
 * Starts `hln up`, kills the engine's dockerd once stderr shows `when`, and returns how
 * hln ended and how long after the kill. With `freezeFirst`, dockerd is stopped at `when`
 * and killed a moment later, so that hln's next request is in flight when it dies.
 */
async function killDuring(
  args: string[],
  when: string,
  freezeFirst = false,
): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, "bin/hln.js"), "--log-format", "plain", "up", app, "--dir", stackDir, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: "1", CI: "true", HLN_NO_LEDGER: "1", ...env() },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  let seen: () => void = () => {};
  const printed = new Promise<void>((resolve) => (seen = resolve));
  child.stderr.on("data", (d) => {
    stderr += d;
    if (stderr.includes(when)) seen();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const early = await Promise.race([printed.then(() => false), exited.then(() => true)]);
  assert.equal(early, false, `hln up ended before "${when}":\n${stderr}`);
  if (freezeFirst) {
    engine!.freeze();
    await sleep(500);
  }
  await engine!.kill9();
  const killed = performance.now();
  const guard = setTimeout(() => child.kill("SIGKILL"), guardMs);
  const code = await exited;
  clearTimeout(guard);
  const seconds = (performance.now() - killed) / 1000;
  assert.ok(
    seconds < guardMs / 1000,
    `hln up still ran ${guardMs / 1000} s after its engine died (killed); stderr:\n${stderr}`,
  );
  return { code, stderr, seconds };
}

/** hln's own last words: the error line, without the progress before it. */
function errorLines(stderr: string): string[] {
  return stderr
    .trimEnd()
    .split("\n")
    .filter((l) => /^(error|hln: error|Error)/i.test(l) || l.includes("error:"));
}

function checkLost(r: { code: number | null; stderr: string }): void {
  assert.notEqual(r.code, 0, r.stderr);
  assert.notEqual(r.code, 70, `exit 70 is a bug in hln:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+\(.*:\d+:\d+\)/, "a stack trace");
  const errors = errorLines(r.stderr);
  assert.equal(errors.length, 1, `one error line:\n${r.stderr}`);
  assert.ok(errors[0]!.includes(engine!.sock), `the error names the engine:\n${r.stderr}`);
}

/** The state file parses and is either as it was or ends with the failed deploy. */
function checkState(
  before: string | undefined,
  { state, lock }: { state?: string; lock: boolean },
): void {
  assert.equal(lock, false, "the lock is released");
  if (state === before) return;
  assert.ok(state, "a state file that existed is kept");
  const parsed = JSON.parse(state) as { history: { result: string }[] };
  assert.equal(parsed.history.at(-1)?.result, "failed", state);
  if (before !== undefined)
    assert.deepEqual(
      parsed.history.slice(0, -1),
      (JSON.parse(before) as { history: unknown[] }).history,
    );
}

before(async () => {
  engine = await startScratchEngine();
  figures.push(`scratch engine up in ${stamp()}`);
});

after(async () => {
  if (engine) {
    const lines = figures.join("\n");
    if (lines) console.log(lines);
    await engine.remove();
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Checks the step was taken from cache: its vertex says CACHED and its output never shows. */
function checkCached(stderr: string): void {
  assert.ok(!stderr.includes(ran), `the expensive step ran again:\n${stderr}`);
  assert.match(stderr, new RegExp(`#(\\d+) sh -c echo expensive-${tag}.*\\n#\\1 CACHED`), stderr);
}

// One app through three runs, each starting where the last left it: killed while it
// builds; after the restart, a rerun that takes the expensive step from cache and
// converges; killed while it converges a new service. (A rerun after that one too would
// prove nothing new and cost a fifth of the file's time.)
describe("engine loss", () => {
  it("while building: reported at once, no state made, the lock released", async () => {
    // Killed once the slow step prints, not when it starts: the step before it is then
    // surely in the cache (a kill right as the step began once cost the rerun that step).
    const r = await killDuring(["--set", "slowBuild=120"], `SLOW-${tag.toUpperCase()}-STARTED`);
    figures.push(
      `mid-build: exit ${r.code} ${r.seconds.toFixed(1)} s after kill -9: ${errorLines(r.stderr)[0] ?? r.stderr.trimEnd().split("\n").at(-1)}`,
    );
    const containerd = engine!.containerdPid();
    const containerdLeft = isAlive(containerd);
    const stepsLeft = processes(`slow-${tag}-started`).length;
    const { state, lock } = appFiles();
    // Back first, so that the runs after this one find the engine whatever this one found.
    await engine!.restart();
    figures.push(
      `mid-build: state file none -> ${state?.length ?? "none"}; lock left: ${lock}; step processes left: ${stepsLeft}, after the restart: ${processes(`slow-${tag}-started`).length}; managed containerd ${containerd} alive after the kill: ${containerdLeft}, after the restart: ${isAlive(containerd)} (new ${engine!.containerdPid()})`,
    );
    assert.ok(r.stderr.includes(ran), "the expensive step ran before the kill");
    checkLost(r);
    checkState(undefined, { state, lock });
  });

  it("after the restart: the rerun takes the expensive step from cache and converges", async () => {
    const again = await up([]);
    assert.equal(again.code, 0, again.stderr);
    checkCached(again.stderr);
    assert.match(again.stdout, new RegExp(`app ${app} is up`));
    figures.push(`rerun: exit 0 in ${(again.ms / 1000).toFixed(1)} s, expensive step cached`);
  });

  it("while converging: reported at once as the engine's loss, the failed deploy recorded", async () => {
    const before = appFiles().state;
    assert.ok(before, "the app was deployed");
    const r = await killDuring(["--set", "extra=true"], `plan for app ${app}`, true);
    figures.push(
      `mid-converge: exit ${r.code} ${r.seconds.toFixed(1)} s after kill -9: ${errorLines(r.stderr)[0] ?? r.stderr.trimEnd().split("\n").at(-1)}`,
    );
    const left = appFiles();
    await engine!.restart();
    figures.push(
      `mid-converge: state file ${before.length} -> ${left.state?.length} bytes; lock left: ${left.lock}`,
    );
    checkLost(r);
    // The engine went away; no service failed.
    assert.equal(r.code, 3, r.stderr);
    assert.doesNotMatch(errorLines(r.stderr)[0]!, /service extra/);
    checkState(before, left);
    figures.push(`file ${stamp()}`);
  });
});
