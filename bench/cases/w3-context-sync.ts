/**
 * W3: sending a large build context to BuildKit. hln (`hln do up` of a stack that mounts a
 * host directory with withDirectory) against `docker buildx build` (COPY . of the same
 * kind of directory), on the same engine, each timed as a whole command.
 *
 * - first: a directory the engine has never received: a new one per run and per side,
 *   with contents no earlier run had (a salt in every file), so the whole context is sent
 *   and no COPY can come from the cache. The engine is not pruned (other work shares it):
 *   hln keeps what it received per directory, so a new directory is cold for it; buildx
 *   keeps one copy for every context ("context" plus its node key) and sends the new
 *   files into it, which can only make its side faster.
 * - change: one small file of that directory was rewritten since the side's previous
 *   sync of it, so only it should be sent, and the step after the copy must run again
 *   (both sides print the file's revision, and the bench checks it).
 *
 * Full mode: 20,000 files, about 250 MB, under /dev/shm when the machine has it, so disk
 * speed stays out. Smoke mode: 2,000 files, about 25 MB.
 *
 * A new context is left alone for RACY_WAIT_MS before its first timed run, on both sides:
 * hln's ledger reads the content of every file written within 2 s of its fingerprint
 * (src/sdk/host-fingerprint.ts, racyWindowNs), which a context that is not being written
 * as the build starts never meets, and a bench that times its own just-made files would.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  alternate,
  type BenchCase,
  BenchError,
  type CaseOptions,
  hlnBin,
  type Metric,
  root,
  run,
} from "../lib.js";

// The context: DIRS directories of 100 files. Every 1000th file is 5 MB, the rest are
// 16 B to 15 kB, about 7.5 kB on average: 200 directories make 20,000 files, about 250 MB.
const FULL_DIRS = 200;
const SMOKE_DIRS = 20;
const FILES_PER_DIR = 100;
const LARGE_EVERY = 1000;
const LARGE_SIZE = 5_000_000;
const SMALL_MAX = 15_000;
/** hln's ledger's racy window (2 s) and a margin; see the header. */
const RACY_WAIT_MS = 2500;
// The one small file the change case rewrites; its first line is "rev <n>".
const MARKER = "d000/f000";
const MARKER_SIZE = 1000;

/** Where contexts are made: memory when the machine has it, so disk speed stays out. */
function scratchBase(): string {
  return existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
}

/** A small fast PRNG (mulberry32): the same seed gives the same context on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function markerContent(rev: number): string {
  const line = `rev ${rev}\n`;
  return `${line + "x".repeat(MARKER_SIZE - line.length - 1)}\n`;
}

/** The pool every file is a slice of, made once: 16 MB of pseudo-random bytes. */
let pool: Buffer | undefined;

/**
 * Writes a context of `dirs` x 100 files into `dir`; returns its file count and bytes.
 * Every file starts with `salt` and its own path, so no two files, and no two contexts,
 * are alike, and nothing compresses.
 */
export function makeContext(
  dir: string,
  dirs: number,
  salt: string,
): { files: number; bytes: number } {
  const rand = prng(42);
  if (pool === undefined) {
    pool = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE((rand() * 2 ** 32) >>> 0, i);
  }
  let files = 0;
  let bytes = 0;
  for (let d = 0; d < dirs; d++) {
    const sub = `d${String(d).padStart(3, "0")}`;
    mkdirSync(join(dir, sub), { recursive: true });
    for (let f = 0; f < FILES_PER_DIR; f++) {
      const rel = `${sub}/f${String(f).padStart(3, "0")}`;
      const n = d * FILES_PER_DIR + f;
      let body: Buffer;
      if (rel === MARKER) {
        body = Buffer.from(markerContent(0));
      } else {
        const size =
          n % LARGE_EVERY === LARGE_EVERY - 1
            ? LARGE_SIZE
            : 16 + Math.floor(rand() * (SMALL_MAX - 16));
        const header = Buffer.from(`${salt} ${rel}\n`);
        const at = Math.floor(rand() * (pool.length - size));
        body = Buffer.concat([header, pool.subarray(at, at + Math.max(0, size - header.length))]);
      }
      writeFileSync(join(dir, rel), body);
      files++;
      bytes += body.length;
    }
  }
  return { files, bytes };
}

/**
 * The step after the copy, the same on both sides: it prints the marker's revision. It
 * runs without a network on both, so no bridge or veth setup is timed.
 */
function script(nonce: string): string {
  return `du -s /ctx; head -n 1 /ctx/${MARKER}; echo ${nonce}`;
}

function stackSource(ctxDir: string, nonce: string): string {
  return `import { defineStack } from "hln";

export default defineStack({
  name: "context-sync",
  version: "0.1.0",
  actions: {
    async up({ dag }) {
      return await dag
        .container()
        .from("busybox")
        .withDirectory("/ctx", dag.host().directory(${JSON.stringify(ctxDir)}))
        .withExec(["sh", "-c", ${JSON.stringify(script(nonce))}], { network: "none" })
        .stdout();
    },
  },
});
`;
}

function dockerfile(nonce: string): string {
  return `FROM busybox\nCOPY . /ctx\nRUN --network=none ${script(nonce)}\n`;
}

/** The step after the copy ran on this context, not a cached one: it printed this revision. */
function expectRev(label: string, output: string, want: number): void {
  if (!new RegExp(`(^|[ \\t])rev ${want}$`, "m").test(output)) {
    throw new BenchError(`${label}: the step after the copy did not print "rev ${want}"`);
  }
}

interface Tool {
  label: string;
  /** Makes a new context directory for this side (untimed), and syncs it: ms. */
  first(): Promise<number>;
  /** Rewrites the marker of the current context (untimed), and syncs it again: ms. */
  change(): Promise<number>;
  dispose(): void;
}

function tool(
  label: "hln" | "buildx",
  work: string,
  dirs: number,
  nonce: string,
  log: (s: string) => void,
): Tool {
  const base = join(work, label);
  mkdirSync(base);
  let n = 0;
  let ctxDir: string | undefined;
  let rev = 0;
  const sync = async (): Promise<number> => {
    if (ctxDir === undefined) throw new BenchError(`${label}: no context yet`);
    if (label === "hln") {
      const planDir = join(base, "plan");
      mkdirSync(planDir, { recursive: true });
      writeFileSync(join(planDir, "stack.ts"), stackSource(ctxDir, nonce));
      const r = await run(
        process.execPath,
        [hlnBin, "--log-format", "quiet", "do", "up", "--plan", planDir],
        root,
      );
      expectRev(`hln (${ctxDir})`, r.stdout, rev);
      return r.ms;
    }
    const dockerDir = join(base, "docker");
    mkdirSync(dockerDir, { recursive: true });
    writeFileSync(join(dockerDir, "Dockerfile"), dockerfile(nonce));
    // Plain progress (not quiet) so the step's output can be checked; cacheonly: no image
    // is exported or loaded, as hln exports nothing.
    const r = await run(
      "docker",
      [
        "buildx",
        "build",
        "--progress=plain",
        "--output",
        "type=cacheonly",
        "-f",
        join(dockerDir, "Dockerfile"),
        ctxDir,
      ],
      base,
    );
    expectRev(`buildx (${ctxDir})`, r.stderr, rev);
    return r.ms;
  };
  return {
    label,
    async first() {
      if (ctxDir !== undefined) rmSync(ctxDir, { recursive: true, force: true });
      ctxDir = join(base, `ctx-${++n}`);
      const made = makeContext(ctxDir, dirs, `${nonce}-${label}-${n}`);
      if (n === 1)
        log(`${label}: contexts of ${made.files} files, ${(made.bytes / 1e6).toFixed(1)} MB`);
      rev = 0;
      await new Promise((resolve) => setTimeout(resolve, RACY_WAIT_MS));
      return sync();
    },
    async change() {
      if (ctxDir === undefined) await this.first();
      rev++;
      writeFileSync(join(ctxDir!, MARKER), markerContent(rev));
      return sync();
    },
    dispose() {
      if (ctxDir !== undefined) rmSync(ctxDir, { recursive: true, force: true });
    },
  };
}

async function runCase(o: CaseOptions): Promise<Metric[]> {
  const dirs = o.smoke ? SMOKE_DIRS : FULL_DIRS;
  const work = mkdtempSync(join(scratchBase(), "hln-bench-w3-"));
  // New per invocation, so no earlier invocation's cache could answer a step.
  const nonce = `w3-${process.pid}-${Date.now()}`;
  const hln = tool("hln", work, dirs, nonce, o.log);
  const buildx = tool("buildx", work, dirs, nonce, o.log);
  try {
    const runs = { runs: o.runs, warmup: o.smoke ? 0 : 1, log: o.log };
    const side = (t: Tool, what: "first" | "change") => ({
      label: `${t.label} ${what}`,
      run: () => t[what](),
    });
    const first = await alternate(side(hln, "first"), side(buildx, "first"), runs);
    // Each side changes the context of its own last first run, one file per run.
    const change = await alternate(side(hln, "change"), side(buildx, "change"), runs);
    const size = o.smoke ? "2,000 files / 25 MB" : "20,000 files / 250 MB";
    const metric = (what: string, r: typeof first, note: string): Metric => ({
      id: "W3",
      what: `context sync ${size}, ${what}`,
      unit: "ms",
      hln: r.a,
      peer: { label: "buildx", stats: r.b },
      ratio: r.ratio,
      goal: "<= 1.0 x buildx",
      met: r.ratio.median <= 1.0,
      note,
    });
    return [
      metric("first", first, "a new directory per run; engine not pruned"),
      metric("after one change", change, "one 1 kB file rewritten"),
    ];
  } finally {
    hln.dispose();
    buildx.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

export const benchCase: BenchCase = {
  id: "W3",
  title: "context sync: hln do up vs docker buildx build (COPY .)",
  run: runCase,
};
