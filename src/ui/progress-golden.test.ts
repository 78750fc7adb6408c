/**
 * Golden output of every mode for the cases in testdata/progress/<case>/input.json.
 * Regenerate after an intended change with:
 *
 *   UPDATE_GOLDEN=1 npx tsx --test src/ui/progress-golden.test.ts
 *
 * and review the diff. In tty.txt, ESC is written as `␛` so the cursor work is readable.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { SolveStatus } from "../buildkit/solve-status.js";
import { createProgress, type ResolvedProgressMode } from "./create-progress.js";

const DIR = fileURLToPath(new URL("./testdata/progress/", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** BuildKit's clock; `at` fields in input.json are ms after it. */
const T0 = Date.parse("2024-05-01T12:00:00.000Z");
/** Our clock runs 250 ms ahead of the daemon's, to exercise the skew correction. */
const LOCAL = T0 + 250;

interface CaseInput {
  columns: number;
  rows: number;
  events: { at: number; status: RawStatus }[];
  end: { at: number; error?: boolean };
}

interface RawStatus {
  vertexes?: {
    digest: string;
    name: string;
    inputs?: string[];
    cached?: boolean;
    started?: number;
    completed?: number;
    error?: string;
  }[];
  statuses?: {
    id: string;
    vertex: string;
    name?: string;
    current: number;
    total: number;
    at: number;
    started?: number;
    completed?: number;
  }[];
  logs?: { vertex: string; at: number; stream?: number; data: string }[];
  warnings?: { vertex: string; level: number; short: string; detail?: string[]; url?: string }[];
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(T0 + ms));

function decode(raw: RawStatus): SolveStatus {
  const enc = new TextEncoder();
  return {
    vertexes: (raw.vertexes ?? []).map((v) => ({
      digest: v.digest,
      name: v.name,
      inputs: v.inputs ?? [],
      cached: v.cached ?? false,
      ...(v.started !== undefined ? { started: date(v.started) } : {}),
      ...(v.completed !== undefined ? { completed: date(v.completed) } : {}),
      ...(v.error !== undefined ? { error: v.error } : {}),
    })),
    statuses: (raw.statuses ?? []).map((s) => ({
      id: s.id,
      vertex: s.vertex,
      name: s.name ?? s.id,
      current: s.current,
      total: s.total,
      timestamp: new Date(T0 + s.at),
      ...(s.started !== undefined ? { started: date(s.started) } : {}),
      ...(s.completed !== undefined ? { completed: date(s.completed) } : {}),
    })),
    logs: (raw.logs ?? []).map((l) => ({
      vertex: l.vertex,
      timestamp: new Date(T0 + l.at),
      stream: l.stream ?? 1,
      data: enc.encode(l.data),
    })),
    warnings: (raw.warnings ?? []).map((w) => ({
      vertex: w.vertex,
      level: w.level,
      short: w.short,
      detail: w.detail ?? [],
      ...(w.url !== undefined ? { url: w.url } : {}),
    })),
  };
}

/** Runs a case through one mode and returns everything written. */
function runCase(input: CaseInput, mode: ResolvedProgressMode): string {
  let clock = LOCAL;
  let written = "";
  const progress = createProgress({
    mode,
    stream: { write: (s: string) => (written += s), columns: input.columns, rows: input.rows },
    env: {},
    now: () => clock,
    isTTY: mode === "tty",
    color: false,
    timers: { setInterval: () => 0, clearInterval: () => {} },
  });
  for (const ev of input.events) {
    clock = LOCAL + ev.at;
    progress.update(decode(ev.status));
  }
  clock = LOCAL + input.end.at;
  progress.end({ error: input.end.error === true });
  return written;
}

const OUTPUTS: [ResolvedProgressMode, string][] = [
  ["plain", "plain.txt"],
  ["json", "json.ndjson"],
  ["tty", "tty.txt"],
  ["quiet", "quiet.txt"],
];

describe("progress golden output", () => {
  for (const name of readdirSync(DIR).sort()) {
    const input = JSON.parse(readFileSync(join(DIR, name, "input.json"), "utf8")) as CaseInput;
    for (const [mode, file] of OUTPUTS) {
      test(`${name} ${mode}`, () => {
        let got = runCase(input, mode);
        if (mode === "tty") got = got.replaceAll("\u001b", "␛");
        const path = join(DIR, name, file);
        if (UPDATE) writeFileSync(path, got);
        assert.equal(got, readFileSync(path, "utf8"));
      });
    }
  }
});
