/**
 * `hln status` and `hln list apps` as text: tables fitted to the terminal, a failed
 * service marked so that it cannot be missed (red on a terminal, and a line of its own
 * under the table in any case). Pure: data in, text out.
 */
import { stringify } from "yaml";
import type { AppListing } from "../app/app-listing.js";
import type { AppStatus, TaskStatus } from "../app/status.js";
import { createColors } from "./colors.js";
import { cut, formatTable } from "./text-table.js";

export interface StatusTextOptions {
  width: number;
  /** Now, in ms since the epoch, for "5m ago". */
  now: number;
  color: boolean;
}

export function formatAppStatus(status: AppStatus, o: StatusTextOptions): string {
  const c = createColors(o.color);
  const stack = status.stack ? `  ${status.stack.name}@${status.stack.version}` : "";
  const lines = [`${c.bold(`app ${status.app}`)}${stack}`];
  if (status.services.length === 0) lines.push("no services");
  else {
    const swarm = status.target === "swarm";
    const table = formatTable(
      [
        { header: "SERVICE", max: 24 },
        { header: "KIND" },
        { header: "STATE", max: 24 },
        ...(swarm ? [{ header: "TASKS" }] : []),
        { header: "IMAGE", max: 40 },
        { header: "PORTS", max: 48 },
        { header: "SINCE" },
      ],
      status.services.map((s) => [
        s.service,
        s.kind,
        s.state,
        ...(swarm ? [s.replicas ? `${s.replicas.running}/${s.replicas.desired}` : "-"] : []),
        s.image,
        s.ports.join(", ") || "-",
        s.since ? formatAgo(o.now - Date.parse(s.since)) : "-",
      ]),
      { width: o.width },
    );
    // Colour goes on after the table is laid out, so the escapes do not count as width.
    const [head, ...rows] = table.trimEnd().split("\n");
    lines.push(head!);
    const at = head!.indexOf("STATE");
    status.services.forEach((s, i) => {
      const row = rows[i] ?? "";
      const state = cut(s.state, 24);
      lines.push(s.ok ? row : `${row.slice(0, at)}${row.slice(at).replace(state, c.red(state))}`);
      if (s.update) lines.push(`  update: ${s.ok ? s.update : c.red(s.update)}`);
      if (s.tasks && s.tasks.length > 0) lines.push(...taskLines(s.tasks, o));
    });
  }
  if (status.outputs !== undefined && status.outputs !== null) {
    lines.push("outputs:");
    const yaml = stringify(status.outputs, { lineWidth: 0 }).trimEnd();
    lines.push(...yaml.split("\n").map((l) => `  ${l}`));
  }
  if (status.volumes) lines.push(`volumes: ${status.volumes.join(", ")}`);
  if (status.lastDeploy) {
    const d = status.lastDeploy;
    const result = d.result === "ok" ? d.result : c.red(d.result);
    const action = d.action ? ` (${d.action})` : "";
    lines.push(`last deploy: ${d.at} ${result}${action}${d.error ? `: ${d.error}` : ""}`);
  }
  const failed = status.services.filter((s) => !s.ok);
  if (failed.length > 0)
    lines.push(
      c.red(
        `${failed.length} of ${status.services.length} not ok: ${failed.map((s) => `${s.service} (${s.state})`).join(", ")}`,
      ),
    );
  return `${lines.join("\n")}\n`;
}

/**
 * A swarm service's tasks under its row: `  api.1  node-a  running (healthy)  5m ago`,
 * then swarm's error or message for a task that has one.
 */
function taskLines(tasks: readonly TaskStatus[], o: StatusTextOptions): string[] {
  const table = formatTable(
    [{ header: "" }, { header: "" }, { header: "", max: 24 }, { header: "" }, { header: "" }],
    tasks.map((t) => [
      t.task,
      t.node || "(unplaced)",
      taskState(t),
      t.since ? formatAgo(o.now - Date.parse(t.since)) : "-",
      t.message ?? "",
    ]),
    { width: o.width, indent: "  " },
  );
  // The first line is the (empty) header; a wrapped message continues on lines of its own.
  return table.trimEnd().split("\n").slice(1);
}

/** `running (healthy)`, `failed (exit 1)`, `running (stopping)` while swarm stops it. */
export function taskState(t: TaskStatus): string {
  const notes = [
    t.health,
    t.exitCode !== undefined && t.state === "failed" ? `exit ${t.exitCode}` : undefined,
    t.desired !== t.state &&
    (t.desired === "shutdown" || t.desired === "remove") &&
    t.state === "running"
      ? "stopping"
      : undefined,
  ].filter(Boolean);
  return notes.length > 0 ? `${t.state} (${notes.join(", ")})` : t.state;
}

export function formatAppListing(apps: readonly AppListing[], width: number): string {
  if (apps.length === 0) return "no apps\n";
  return formatTable(
    [
      { header: "APP", max: 32 },
      { header: "STACK", max: 32 },
      { header: "VERSION", max: 16 },
      { header: "SERVICES" },
      { header: "LAST DEPLOY" },
    ],
    apps.map((a) => [
      a.app,
      a.stack ?? "-",
      a.version ?? "-",
      `${a.services.running}/${a.services.total}`,
      a.lastDeploy ? `${a.lastDeploy.at} ${a.lastDeploy.result}` : "-",
    ]),
    { width },
  );
}

/**
 * How long ago, coarsely, as `docker ps` says it: `12s ago`, `5m ago`, `3h ago`, `2d ago`.
 *
 * @example
 * formatAgo(300_000); // "5m ago"
 */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(ms) ? ms / 1000 : 0));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
