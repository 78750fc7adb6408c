/**
 * W1: a no-op rerun of the example stack (stacks/hello) when everything is cached, against
 * `docker buildx bake` of the same graph (bench/hello), on the same engine. Both quiet, so
 * output cost stays out of the timing.
 *
 * hln answers an unchanged rerun from its ledger without opening BuildKit (the Docker ping
 * and one image inspect remain); bake asks BuildKit, which answers from its cache. The
 * warm-up runs make both cached. hln gets a private XDG_CACHE_HOME (its ledger and stack
 * cache), removed at the end, so the user's own ledger neither helps nor grows. Before
 * timing, one plain run checks that the ledger really answers, or the figure would be
 * the engine path's. The engine path (`--no-ledger`) is measured too, for the note.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  alternate,
  type BenchCase,
  BenchError,
  hlnBin,
  type Metric,
  median,
  root,
  run,
  type Side,
} from "../lib.js";

const bakeDir = join(root, "bench", "hello");
const hlnArgs = ["do", "up", "--plan", "stacks/hello"];

export const benchCase: BenchCase = {
  id: "W1",
  title: "no-op rerun of the example stack vs docker buildx bake",
  async run(o) {
    const cache = mkdtempSync(join(tmpdir(), "hln-bench-w1-"));
    const env = { XDG_CACHE_HOME: cache };
    const hln = (format: string, ...flags: string[]) =>
      run(process.execPath, [hlnBin, "--log-format", format, ...hlnArgs, ...flags], root, env);
    try {
      const sides: [Side, Side] = [
        { label: "hln", run: async () => (await hln("quiet")).ms },
        {
          label: "bake",
          run: async () =>
            (await run("docker", ["buildx", "bake", "--progress=quiet"], bakeDir)).ms,
        },
      ];
      // Cold or warm, this run records the ledger; the next must be answered from it.
      await hln("quiet");
      const check = await hln("plain");
      if (!/^hln: \d+ results? from the ledger/m.test(check.stderr))
        throw new BenchError(
          "W1: the ledger did not answer an unchanged rerun of stacks/hello; the figure would be the engine path's",
        );
      const r = await alternate(sides[0], sides[1], { runs: o.runs, log: o.log });
      const engine: number[] = [];
      for (let i = 0; i < o.runs; i++) engine.push((await hln("quiet", "--no-ledger")).ms);
      o.log(`hln --no-ledger: ${engine.map((x) => x.toFixed(0)).join(" ")} ms`);
      const metric: Metric = {
        id: "W1",
        what: "no-op rerun, everything cached",
        unit: "ms",
        hln: r.a,
        peer: { label: "docker buildx bake", stats: r.b },
        ratio: r.ratio,
        goal: "<= 0.5 x bake",
        met: r.ratio.median <= 0.5,
        note: `answered from the ledger, no BuildKit round trip; with --no-ledger (through BuildKit's cache) ${median(engine).toFixed(0)} ms`,
      };
      return [metric];
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  },
};
