/**
 * Times the fsutil sender and receiver against each other in one process (no engine):
 * 10,000 small files in 100 directories, under /dev/shm when there is one. This is where
 * the speed src/buildkit/fsutil/send.test.ts no longer asserts is watched: a test checks
 * counts and bytes, a benchmark reports time.
 *
 *   npx tsx bench/fsutil-round-trip.ts [--runs N]
 *
 * Prints a table of medians and a JSON line, and writes bench/out/fsutil-round-trip.json.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createMemoryPacketStreams } from "../src/buildkit/fsutil/memory-stream.js";
import { receiveDirectory } from "../src/buildkit/fsutil/receive.js";
import { sendDirectory } from "../src/buildkit/fsutil/send.js";
import { tempDir } from "../src/buildkit/fsutil/testdata/fixtures.js";
import { BenchError, median, parseRuns, report, root } from "./lib.js";

const dirs = 100;
const filesPerDir = 100;

async function main(): Promise<void> {
  const runs = parseRuns();
  const tmp = await tempDir("hln-bench-fsutil-", true);
  try {
    const src = join(tmp.dir, "src");
    for (let d = 0; d < dirs; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      await Promise.all(
        Array.from({ length: filesPerDir }, (_, f) =>
          writeFile(join(src, `d${d}`, `f${f}`), `d${d}/f${f}`),
        ),
      );
    }
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dest = join(tmp.dir, `out-${i}`);
      const [sender, receiver] = createMemoryPacketStreams();
      const start = performance.now();
      const [sent, received] = await Promise.all([
        sendDirectory(sender, src).finally(() => sender.close()),
        receiveDirectory(receiver, dest).finally(() => receiver.close()),
      ]);
      ms.push(performance.now() - start);
      if (sent.files !== dirs * filesPerDir || received.files !== sent.files)
        throw new BenchError(`sent ${sent.files} files, received ${received.files}`);
      process.stderr.write(`run ${i + 1}/${runs}: ${Math.round(ms[i]!)} ms\n`);
      await rm(dest, { recursive: true, force: true });
    }
    const files = dirs * filesPerDir;
    report(
      [
        ["case", "files", "median ms", "files/s"],
        [
          "round trip",
          String(files),
          String(Math.round(median(ms))),
          String(Math.round(files / (median(ms) / 1000))),
        ],
      ],
      { files, runs, medianMs: median(ms), samplesMs: ms },
      join(root, "bench", "out", "fsutil-round-trip.json"),
    );
  } finally {
    await tmp.cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof BenchError ? err.message : err}\n`);
  process.exit(1);
});
