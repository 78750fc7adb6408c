/**
 * W4: what a 1,000-vertex graph costs the client. The SDK builds it (ten branches of
 * withNewFile, withDirectory and withExec chains off one busybox, joined by copies into
 * one container), marshals it and submits it with `sync()`: one Solve. The engine's
 * answer is included and cheap: the warm-up run builds the graph, so every measured
 * Solve finds all of it cached, and the client's share of that answer (Status messages
 * for every vertex, the session) is counted too. No peer: the goal is absolute.
 *
 * Measured in a child process (this file, compiled by esbuild and run with `--child`),
 * so the peak RSS is the SDK's alone and not the bench runner's: process CPU (user + system) per run after a
 * warm-up run in the same process, and the process's peak RSS at the end.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type BenchCase, hlnBuild, type Metric, root, run, type Stats, stats } from "../lib.js";

interface ChildResult {
  vertices: number;
  /** CPU seconds per measured run: all of it, and the graph building alone. */
  cpu: number[];
  buildCpu: number[];
  wallMs: number[];
  /** Steps the engine ran (not cached) per measured run: 0 when the answer was cached. */
  ran: number[];
  maxRssMb: number;
}

const self = fileURLToPath(import.meta.url);

export const benchCase: BenchCase = {
  id: "W4",
  title: "a 1,000-vertex graph: client CPU and memory",
  async run(o) {
    // The smoke run proves the case works on a tenth of the graph (cold, it builds fast).
    const size = o.smoke ? 100 : 1000;
    // The compiled SDK, as a stack gets it from an installed hln, unless src/ is newer.
    const how = hlnBuild();
    const sdk = how === "bundle" ? join(root, "dist", "index.js") : join(root, "src", "index.ts");
    // Plain node runs the child when the SDK is compiled, as a library user runs it: tsx
    // alone would add about 35 MB to the peak. esbuild (hln's own dependency) compiles it.
    const scratch = mkdtempSync(join(tmpdir(), "hln-w4-"));
    let stdout: string;
    try {
      let entry = ["--import", "tsx", self];
      if (how === "bundle") {
        const { build } = await import("esbuild");
        const outfile = join(scratch, "w4-child.mjs");
        await build({
          entryPoints: [self],
          bundle: true,
          platform: "node",
          format: "esm",
          outfile,
          logLevel: "silent",
        });
        entry = [outfile];
      }
      ({ stdout } = await run(
        process.execPath,
        [...entry, "--child", "--runs", String(o.runs), "--size", String(size), "--sdk", sdk],
        root,
      ));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as ChildResult;
    o.log(
      `${r.vertices} vertices; cpu s ${r.cpu.map((x) => x.toFixed(3)).join(" ")}; build-only ${r.buildCpu.map((x) => x.toFixed(3)).join(" ")}; wall ms ${r.wallMs.map((x) => x.toFixed(0)).join(" ")}; steps ran ${r.ran.join(" ")}; peak RSS ${r.maxRssMb.toFixed(0)} MB`,
    );
    const cpu = stats(r.cpu);
    const cold = r.ran.filter((n) => n > 0).length;
    const rss: Stats = stats([r.maxRssMb]);
    const build = stats(r.buildCpu);
    const what = `${r.vertices} vertices`;
    const metrics: Metric[] = [
      {
        id: "W4",
        what: `${what}: build, marshal, Solve (cached answer)`,
        unit: "s CPU",
        hln: cpu,
        goal: "<= 0.3 s CPU",
        met: cpu.median <= 0.3,
        note: `process CPU per run after a warm-up; building the graph alone ${build.median.toFixed(3)} s${cold > 0 ? `; ${cold} run(s) found the cache pruned and ran steps` : ""}`,
      },
      {
        id: "W4",
        what: `${what}: peak RSS`,
        unit: "MB",
        hln: rss,
        goal: "<= 150 MB",
        met: rss.median <= 150,
        note: `peak of the child process (node and the SDK from its ${how}${how === "bundle" ? "" : ", with tsx"})`,
      },
    ];
    return metrics;
  },
};

/**
 * The graph: `branches` chains off busybox, each mostly new files with a directory copy
 * and a command every few steps, then one container that copies every branch in and
 * lists them. The same inputs make the same graph, so runs after the first are cached.
 */
// biome-ignore lint/suspicious/noExplicitAny: the SDK's types are loaded dynamically below
function buildGraph(dag: any, size: number): any {
  const branches = 10;
  // Fixed vertices: busybox, the shim and two capture-dir ops, each branch's config
  // directory, one copy per branch into the join, the join's command.
  const per = Math.ceil((size - 4 - 2 * branches - 1) / branches);
  const base = dag.container().from("busybox:latest");
  let join = base;
  for (let b = 0; b < branches; b++) {
    const conf = dag.directory().withNewFile(`conf-${b}.txt`, `branch ${b}\n`);
    let c = base.withWorkdir(`/b${b}`);
    for (let i = 0; i < per; i++) {
      if (i % 10 === 9) c = c.withExec(["sh", "-c", `echo ${b}.${i} >>log.txt`]);
      else if (i % 10 === 4) c = c.withDirectory(`conf${i}`, conf);
      else c = c.withNewFile(`f${i}.txt`, `branch ${b} op ${i}\n`);
    }
    join = join.withDirectory(`/all/b${b}`, c.directory(`/b${b}`));
  }
  return join.withExec(["sh", "-c", "ls -R /all | wc -l"]);
}

async function child(
  runs: number,
  size: number,
  sdk: string,
  profile?: string,
): Promise<ChildResult> {
  const hln = (await import(pathToFileURL(sdk).href)) as typeof import("../../src/index.js");
  // "hln/llb", beside the entry in the same build.
  const llbEntry = sdk.replace(/index\.(js|ts)$/, "llb/public.$1");
  const llb = (await import(
    pathToFileURL(llbEntry).href
  )) as typeof import("../../src/llb/public.js");
  const engine = await hln.openEngine();
  const signal = new AbortController().signal;
  const once = async () => {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    // Steps that ran: another run pruning the shared cache would make the answer cold.
    // Vertices without inputs (the image, files made on scratch) are reported uncached
    // even when their results are, so they are not counted.
    const ran = new Set<string>();
    const dag = hln.createDag({
      connection: engine.buildkit,
      signal,
      onStatus: (s) => {
        for (const v of s.vertexes)
          if (v.completed && !v.cached && v.inputs.length > 0) ran.add(v.digest);
      },
    });
    const final = buildGraph(dag, size);
    const built = process.cpuUsage(c0);
    try {
      await final.sync();
    } finally {
      await dag.close();
    }
    const all = process.cpuUsage(c0);
    return {
      final,
      cpu: (all.user + all.system) / 1e6,
      buildCpu: (built.user + built.system) / 1e6,
      wallMs: performance.now() - w0,
      ran: ran.size,
    };
  };
  try {
    const warm = await once();
    process.stderr.write(`warm-up: ${warm.cpu.toFixed(3)} s CPU, ${warm.wallMs.toFixed(0)} ms\n`);
    const def = llb.definition(warm.final.directory("/").output);
    const cpu: number[] = [];
    const buildCpu: number[] = [];
    const wallMs: number[] = [];
    const ran: number[] = [];
    // `--profile FILE`: a CPU profile of the measured runs alone, for Chrome DevTools.
    const inspector = profile ? new (await import("node:inspector/promises")).Session() : undefined;
    if (inspector) {
      inspector.connect();
      await inspector.post("Profiler.enable");
      await inspector.post("Profiler.start");
    }
    for (let i = 0; i < runs; i++) {
      const r = await once();
      process.stderr.write(
        `run ${i + 1}: ${r.cpu.toFixed(3)} s CPU, ${r.wallMs.toFixed(0)} ms, ${r.ran} steps ran\n`,
      );
      cpu.push(r.cpu);
      buildCpu.push(r.buildCpu);
      wallMs.push(r.wallMs);
      ran.push(r.ran);
    }
    if (inspector && profile) {
      const { profile: p } = await inspector.post("Profiler.stop");
      (await import("node:fs")).writeFileSync(profile, JSON.stringify(p));
      inspector.disconnect();
    }
    return {
      vertices: def.def.length - 1,
      cpu,
      buildCpu,
      wallMs,
      ran,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    engine.close();
  }
}

if (process.argv[1] === self && process.argv.includes("--child")) {
  const { values } = parseArgs({
    options: {
      child: { type: "boolean" },
      runs: { type: "string", default: "5" },
      size: { type: "string", default: "1000" },
      sdk: { type: "string", default: join(root, "src", "index.ts") },
      profile: { type: "string" },
    },
  });
  const r = await child(Number(values.runs), Number(values.size), values.sdk, values.profile);
  console.log(JSON.stringify(r));
  // An engine connection left open would keep the child alive.
  process.exit(0);
}
