import type { Command } from "commander";
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

export function formatEngineInfo(info: EngineInfo): string {
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

export function registerEngine(program: Command, ctx: CliContext): void {
  const engine = program
    .command("engine")
    .description("inspect and maintain the build engine")
    .addHelpText(
      "after",
      `
The engine is the BuildKit hln builds on, chosen in this order: the --engine flag, then
BUILDKIT_HOST (tcp://HOST:PORT, unix:///PATH, docker-container://NAME[?context=CTX]),
then the built-in BuildKit of the Docker engine named by DOCKER_HOST (unix://, tcp://,
ssh://USER@HOST), else the current Docker context, else unix:///var/run/docker.sock.
TLS for tcp:// follows buildctl: --tlscacert/--tlscert/--tlskey/--tlsservername/--tlsdir,
or BUILDKIT_TLS_CA, _CERT, _KEY, _SERVERNAME, _DIR.

Examples:
  BUILDKIT_HOST=tcp://127.0.0.1:1234 hln engine info
  DOCKER_HOST=ssh://root@build-host BUILDKIT_HOST=docker-container://buildkitd hln engine info
  hln --engine tcp://buildkit:1234 --tlsdir ./certs engine info`,
    );

  engine
    .command("info")
    .description("show which engine hln uses, why, and what it can do")
    .option("-o, --output <format>", "yaml or json (default: a table)")
    .addHelpText(
      "after",
      "\nExamples:\n  hln engine info\n  DOCKER_HOST=unix:///run/other.sock hln engine info --output json",
    )
    .action(async (opts: { output?: string }) => {
      // Flags are checked before the engine is touched.
      const format = opts.output ? parseOutputFormat(opts.output) : undefined;
      const e = await openFromCli(ctx);
      try {
        const info = await engineInfo(e, ctx.signal);
        ctx.stdout.write(format ? formatData(info, format) : formatEngineInfo(info));
      } finally {
        e.close();
      }
    });

  engine
    .command("du")
    .description("show the engine's build cache usage")
    .option("-v, --verbose", "list every cache record")
    .option("-o, --output <format>", "yaml or json")
    .action(async (opts: { verbose?: boolean; output?: string }) => {
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
    });

  engine
    .command("prune")
    .description("remove build cache")
    .option("-a, --all", "remove all unused cache, not only dangling records")
    .option("--keep-duration <duration>", "keep cache used within this time (e.g. 24h, 7d)")
    .addHelpText(
      "after",
      "\nExamples:\n  hln engine prune\n  hln engine prune --all --keep-duration 24h",
    )
    .action(async (opts: { all?: boolean; keepDuration?: string }) => {
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
    });
}
