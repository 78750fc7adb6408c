import { describeTarget } from "../../app/target.js";
import { diskUsage, prune } from "../../buildkit/usage.js";
import { parseDuration } from "../../duration.js";
import { type EngineInfo, engineInfo } from "../../engine/engine.js";
import { formatTable } from "../../ui/text-table.js";
import type { CliContext } from "../context.js";
import { openFromCli } from "../open-engine.js";
import { formatData, parseOutputFormat } from "../output.js";

function bytes(n: number): string {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)}${u[i]}`;
}

/** What `hln engine info` prints: the engine, and where `hln up` deploys through it. */
export type EngineInfoView = EngineInfo & { target?: string };

export function formatEngineInfo(info: EngineInfoView): string {
  const bk = !info.buildkit.version
    ? "unknown (this engine does not report its BuildKit version)"
    : info.buildkit.source === "docker"
      ? `${info.buildkit.version} (vendored by this Docker release; the build reports no version)`
      : info.buildkit.source === "capabilities"
        ? `${info.buildkit.version} (judged by its capabilities; the build reports no version)`
        : `${info.buildkit.version}${info.buildkit.revision ? ` (${info.buildkit.revision.slice(0, 12)})` : ""}`;
  const choice = info.choice;
  const rows: [string, string][] = [
    ["engine", choice.kind === "docker" ? "Docker engine, built-in BuildKit" : "BuildKit"],
    ["chosen by", choice.source],
    ["endpoint", info.endpoint],
  ];
  if (choice.kind === "buildkit") rows.push(["address", choice.address]);
  if (info.docker)
    rows.push([
      "docker",
      `${info.docker.version} (API ${info.docker.apiVersion}, ${info.docker.os}/${info.docker.arch})`,
    ]);
  rows.push(["buildkit", bk]);
  if (info.imageStore)
    rows.push([
      "image store",
      info.imageStore === "containerd"
        ? "containerd (all exporters)"
        : "classic (moby, local and tar exporters only)",
    ]);
  if (choice.kind === "buildkit")
    rows.push(["deploys to", `${choice.docker.host} (${choice.docker.source})`]);
  if (info.target) rows.push(["target", info.target]);
  for (const w of info.workers) {
    const extra = [
      w.executor && `executor ${w.executor}`,
      w.snapshotter && `snapshotter ${w.snapshotter}`,
    ]
      .filter(Boolean)
      .join(", ");
    rows.push(["worker", `${w.id}${extra ? ` (${extra})` : ""}`]);
    rows.push(["platforms", [...new Set(w.platforms)].join(", ")]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`;
}

/** `hln engine info`: which engine, why, and what it can do. */
export async function runEngineInfo(opts: { output?: string }, ctx: CliContext): Promise<void> {
  // Flags are checked before the engine is touched.
  const format = opts.output ? parseOutputFormat(opts.output) : undefined;
  const e = await openFromCli(ctx);
  try {
    const [engine, docker] = await Promise.all([
      engineInfo(e, ctx.signal),
      // The deploy engine's /info says whether up goes to a swarm; an engine that does not
      // answer it leaves the line out rather than failing the rest.
      e.docker.info({ signal: ctx.signal }).catch(() => undefined),
    ]);
    const info: EngineInfoView = docker ? { ...engine, target: describeTarget(docker) } : engine;
    ctx.stdout.write(format ? formatData(info, format) : formatEngineInfo(info));
  } finally {
    e.close();
  }
}

/** `hln engine du`: the build cache's usage. */
export async function runEngineDu(
  opts: { verbose?: boolean; output?: string },
  ctx: CliContext,
): Promise<void> {
  const format = opts.output ? parseOutputFormat(opts.output) : undefined;
  const e = await openFromCli(ctx);
  try {
    const records = await diskUsage(e.buildkit, { signal: ctx.signal });
    if (format) {
      ctx.stdout.write(formatData(records, format));
      return;
    }
    const total = records.reduce((a, r) => a + r.size, 0);
    const reclaimable = records.filter((r) => !r.inUse).reduce((a, r) => a + r.size, 0);
    if (opts.verbose && records.length > 0) {
      const headers = ["ID", "TYPE", "SIZE", "IN USE", "LAST USED", "DESCRIPTION"];
      const rows = [...records]
        .sort((a, b) => b.size - a.size)
        .map((r) => [
          r.id.slice(0, 12),
          r.type,
          bytes(r.size),
          r.inUse ? "yes" : "no",
          r.lastUsedAt?.toISOString().slice(0, 19).replace("T", " ") ?? "-",
          r.description.slice(0, 60),
        ]);
      const columns = headers.map((header) => ({ header }));
      ctx.stdout.write(formatTable(columns, rows, { width: Number.POSITIVE_INFINITY }));
      ctx.stdout.write("\n");
    }
    ctx.stdout.write(
      `${records.length} records, ${bytes(total)} total, ${bytes(reclaimable)} reclaimable\n`,
    );
  } finally {
    e.close();
  }
}

/** `hln engine prune`: removes build cache. */
export async function runEnginePrune(
  opts: { all?: boolean; keepDuration?: string },
  ctx: CliContext,
): Promise<void> {
  const keepDurationMs = opts.keepDuration
    ? parseDuration(opts.keepDuration, "--keep-duration")
    : 0;
  const e = await openFromCli(ctx);
  try {
    const removed = await prune(e.buildkit, {
      all: opts.all,
      keepDurationMs,
      signal: ctx.signal,
    });
    const total = removed.reduce((a, r) => a + r.size, 0);
    ctx.stdout.write(`removed ${removed.length} records, reclaimed ${bytes(total)}\n`);
  } finally {
    e.close();
  }
}
