/**
 * W5: start-up. `hln version` and `hln --help` (bin/hln.js, as a user runs it) against
 * `node -e 0`, the floor any Node CLI stands on, alternating run by run. Neither touches
 * the engine. bin/hln.js runs the bundle in dist/bundle unless a file it was made from is
 * newer (then the sources through tsx, far slower): a stale build is made again first,
 * and the note says which one ran.
 */
import {
  alternate,
  type BenchCase,
  ensureBuilt,
  hlnBin,
  hlnBuild,
  type Metric,
  root,
  run,
} from "../lib.js";

export const benchCase: BenchCase = {
  id: "W5",
  title: "start-up: hln version and hln --help against node -e 0",
  async run(o) {
    const node = {
      label: "node -e 0",
      run: async () => (await run(process.execPath, ["-e", "0"], root)).ms,
    };
    const metrics: Metric[] = [];
    await ensureBuilt(o.log);
    const ran = hlnBuild();
    for (const args of [["version"], ["--help"]]) {
      const hln = {
        label: `hln ${args.join(" ")}`,
        run: async () => (await run(process.execPath, [hlnBin, ...args], root)).ms,
      };
      const r = await alternate(hln, node, {
        runs: o.smoke ? 1 : Math.max(o.runs, 5),
        warmup: 1,
        log: o.log,
      });
      metrics.push({
        id: "W5",
        what: `hln ${args.join(" ")}`,
        unit: "ms",
        hln: r.a,
        peer: { label: node.label, stats: r.b },
        ratio: r.ratio,
        goal: "<= 2.5 x node -e 0",
        met: r.ratio.median <= 2.5,
        note: `bin/hln.js ran the ${ran}`,
      });
    }
    return metrics;
  },
};
