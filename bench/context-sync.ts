/**
 * Times sending a large build context to BuildKit: hln (a host directory mounted with
 * withDirectory) against `docker buildx build` (COPY . from the same directory), on the
 * same engine. The context is 20,000 files, about 250 MB, made under /dev/shm.
 *
 *   npx tsx bench/context-sync.ts [--runs N]
 *
 * Two cases, each tool timed as a whole command (`hln do up` on a generated stack, and
 * `docker buildx build`):
 * - first: the engine's cache is empty, so the whole context is sent;
 * - change: one small file was rewritten since that tool's first run, so only it should
 *   be sent, and the step after the copy must run again (checked on both sides).
 * hln's bytes come from the SDK's onTransfer (file contents sent), in a third, in-process
 * sequence whose times are also shown (no process start, no stack loading). buildx's are
 * what its progress says it transferred ("transferring context"), which also counts the
 * file list: on a rerun that is most of it (about 29 B a file).
 *
 * Prints a table of medians and a JSON line on stdout, progress on stderr, and writes
 * the JSON to bench/out/context-sync.json. A ratio is hln/buildx: below 1 means hln won.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { openEngine } from "../src/engine/engine.js";
import { createDag } from "../src/sdk/dag.js";
import {
  BenchError,
  hlnBin,
  hlnBuild,
  median,
  parseRuns,
  preflight,
  pruneEngine,
  report,
  root,
  run,
} from "./lib.js";

type Tool = "hln" | "buildx";
type Case = "first" | "change";
const cases: Case[] = ["first", "change"];

const outFile = join(root, "bench", "out", "context-sync.json");

// The context: 200 directories of 100 files. Every 1000th file is 5 MB (20 in all), the
// rest are 16 B to 15 kB, about 7.5 kB on average: 20,000 files, about 250 MB.
const DIRS = 200;
const FILES_PER_DIR = 100;
const LARGE_EVERY = 1000;
const LARGE_SIZE = 5_000_000;
const SMALL_MAX = 15_000;
// The one small file the change case rewrites; its first line is "rev <n>".
const MARKER = "d000/f000";
const MARKER_SIZE = 1000;

/** Where the context is made: memory when the machine has it, so disk speed stays out. */
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

/** Writes the context; returns its file count and total bytes. */
function makeContext(dir: string): { files: number; bytes: number } {
  const rand = prng(42);
  // Every file is a slice of one pseudo-random pool behind a header naming it, so no two
  // files are alike and nothing compresses.
  const pool = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE((rand() * 2 ** 32) >>> 0, i);
  let files = 0;
  let bytes = 0;
  for (let d = 0; d < DIRS; d++) {
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
        const header = Buffer.from(`${rel}\n`);
        const at = Math.floor(rand() * (pool.length - size));
        body = Buffer.concat([header, pool.subarray(at, at + size - header.length)]);
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

/** Parses a size as buildx prints it ("262.14MB", "1.05kB", "12B") into bytes. */
function parseSize(text: string): number {
  const m = /^([\d.]+)([kMG]?B)$/.exec(text);
  if (!m) return Number.NaN;
  const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as "B" | "kB" | "MB" | "GB"];
  return Math.round(Number(m[1]) * unit);
}

/** What buildx says it transferred of the context: the last "transferring context" figure. */
function buildxContextBytes(progress: string): number {
  const all = [...progress.matchAll(/transferring context: ([\d.]+[kMG]?B)/g)];
  const last = all.at(-1)?.[1];
  return last === undefined ? Number.NaN : parseSize(last);
}

function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

interface Sample {
  ms: number;
  bytes: number;
}

async function main(): Promise<void> {
  const runs = parseRuns();
  preflight();
  const how = hlnBuild();

  const work = mkdtempSync(join(scratchBase(), "hln-context-sync-"));
  const cleanup = () => rmSync(work, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const ctxDir = join(work, "ctx");
    const planDir = join(work, "plan");
    const dockerDir = join(work, "docker");
    mkdirSync(planDir);
    mkdirSync(dockerDir);
    const made = makeContext(ctxDir);
    // New per invocation, so no earlier invocation's cache could answer a step.
    const nonce = `bench-${process.pid}-${Date.now()}`;
    writeFileSync(join(planDir, "stack.ts"), stackSource(ctxDir, nonce));
    writeFileSync(join(dockerDir, "Dockerfile"), dockerfile(nonce));
    process.stderr.write(
      `context: ${made.files} files, ${formatBytes(made.bytes)} in ${ctxDir}\n` +
        `hln (${how}) vs docker buildx build, ${runs} run(s)\n`,
    );

    let rev = 0;
    /** Rewrites the marker (same size, new content and mtime); returns its new revision. */
    const change = () => {
      rev++;
      writeFileSync(join(ctxDir, MARKER), markerContent(rev));
      return rev;
    };
    /** The step after the copy ran on this context, not a cached one: it printed this revision. */
    const expectRev = (tool: string, c: Case, output: string, want: number) => {
      if (!new RegExp(`(^|[ \\t])rev ${want}$`, "m").test(output)) {
        throw new BenchError(`${tool} ${c}: the step after the copy did not print "rev ${want}"`);
      }
    };

    const commands: Record<Tool, { cmd: string; args: string[]; cwd: string }> = {
      hln: {
        cmd: process.execPath,
        args: [hlnBin, "--log-format", "quiet", "do", "up", "--plan", planDir],
        cwd: root,
      },
      // plain progress (not quiet) so the bench can see the step's output and the bytes
      // sent; cacheonly: no image is exported or loaded, as hln exports nothing.
      buildx: {
        cmd: "docker",
        args: [
          "buildx",
          "build",
          "--progress=plain",
          "--output",
          "type=cacheonly",
          "-f",
          join(dockerDir, "Dockerfile"),
          ctxDir,
        ],
        cwd: work,
      },
    };
    const runTool = async (tool: Tool, c: Case, want: number): Promise<Sample> => {
      const { cmd, args, cwd } = commands[tool];
      const r = await run(cmd, args, cwd);
      expectRev(tool, c, tool === "hln" ? r.stdout : r.stderr, want);
      return { ms: r.ms, bytes: tool === "buildx" ? buildxContextBytes(r.stderr) : Number.NaN };
    };

    // hln's bytes: the same two steps in-process, where onTransfer sees the transfer.
    const runSdk = async (c: Case, want: number): Promise<Sample> => {
      let bytes = 0;
      const start = performance.now();
      const engine = await openEngine();
      const dag = createDag({
        connection: engine.buildkit,
        onTransfer: (_path, s) => {
          bytes += s.bytesSent;
        },
      });
      let out: string;
      try {
        out = await dag
          .container()
          .from("busybox")
          .withDirectory("/ctx", dag.host().directory(ctxDir))
          .withExec(["sh", "-c", script(nonce)], { network: "none" })
          .stdout();
      } finally {
        await dag.close();
        engine.close();
      }
      const ms = performance.now() - start;
      expectRev("hln sdk", c, out, want);
      return { ms, bytes };
    };

    type Who = Tool | "sdk";
    const samples: Record<Case, Record<Who, Sample[]>> = {
      first: { hln: [], buildx: [], sdk: [] },
      change: { hln: [], buildx: [], sdk: [] },
    };
    for (let i = 0; i < runs; i++) {
      // Each one gets prune, first, change, second back to back. Alternate who goes first
      // so neither always runs on the other's leftovers (a busy engine, freed memory).
      const order: Who[] = i % 2 === 0 ? ["hln", "buildx", "sdk"] : ["buildx", "hln", "sdk"];
      for (const who of order) {
        const run = (c: Case, want: number) =>
          who === "sdk" ? runSdk(c, want) : runTool(who, c, want);
        await pruneEngine();
        const first = await run("first", rev);
        const second = await run("change", change());
        samples.first[who].push(first);
        samples.change[who].push(second);
        const bytes = (s: Sample) => (Number.isNaN(s.bytes) ? "" : `, ${formatBytes(s.bytes)}`);
        process.stderr.write(
          `run ${i + 1}/${runs} ${who}: first ${first.ms.toFixed(0)} ms${bytes(first)}, ` +
            `change ${second.ms.toFixed(0)} ms${bytes(second)}\n`,
        );
      }
    }

    const result = {
      context: { files: made.files, bytes: made.bytes },
    } as {
      context: { files: number; bytes: number };
    } & Record<
      Case,
      {
        hln_ms: number;
        buildx_ms: number;
        ratio: number;
        hln_sdk_ms: number;
        hln_bytes_sent: number;
        buildx_bytes_reported: number;
      }
    >;
    for (const c of cases) {
      const ms = (who: Who) => median(samples[c][who].map((s) => s.ms));
      const bytes = (who: Who) => median(samples[c][who].map((s) => s.bytes));
      result[c] = {
        hln_ms: Math.round(ms("hln")),
        buildx_ms: Math.round(ms("buildx")),
        ratio: Number((ms("hln") / ms("buildx")).toFixed(2)),
        hln_sdk_ms: Math.round(ms("sdk")),
        hln_bytes_sent: bytes("sdk"),
        buildx_bytes_reported: bytes("buildx"),
      };
    }

    const rows = [
      [
        "case",
        "hln ms",
        "buildx ms",
        "hln/buildx",
        "hln in-process ms",
        "hln data sent",
        "buildx transferred",
      ],
      ...cases.map((c) => [
        c,
        `${result[c].hln_ms}`,
        `${result[c].buildx_ms}`,
        result[c].ratio.toFixed(2),
        `${result[c].hln_sdk_ms}`,
        formatBytes(result[c].hln_bytes_sent),
        formatBytes(result[c].buildx_bytes_reported),
      ]),
    ];
    report(rows, result, outFile);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    cleanup();
  }
}

try {
  await main();
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`context-sync: ${msg}`);
  process.exitCode = 1;
}
