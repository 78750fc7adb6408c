/**
 * hello: a small stack that shows what hln does with a graph.
 *
 * Four workers start from the same base image and run at the same time. Each seeds its
 * data once into a shared cache volume, does a few seconds of real work on it, and
 * writes a summary file. A final step collects the four files and prints a report. Run
 * it twice: the second run is answered from BuildKit's cache.
 *
 *   hln do up -s hello
 *   hln do up -s hello --set greeting=bonjour --set rounds=40
 */
import { defineStack } from "hln";

const workers = ["alpha", "beta", "gamma", "delta"] as const;

// What each worker runs. The seed is made once and kept in the cache volume, so later
// runs with new settings skip that part.
const work = `#!/bin/sh
set -eu
name=$1
. /etc/hello/job.conf
seed=/seeds/$name.bin
[ -s "$seed" ] || yes "$name" | head -c 4000000 >"$seed"
cp "$seed" data.bin
i=0
while [ "$i" -lt "$rounds" ]; do sha256sum data.bin | cut -c1-64 >>data.bin; i=$((i + 1)); done
sleep 2
echo "$name $(sha256sum data.bin | cut -c1-16) $(wc -c <data.bin) bytes" | tee result.txt
`;

export default defineStack({
  name: "hello",
  version: "0.1.0",
  description: "Fans out to four concurrent workers and joins their results",
  inputs: {
    greeting: { type: "string", default: "hello", description: "printed at the top of the report" },
    rounds: {
      type: "number",
      default: 25,
      description: "hashing rounds per worker (more is slower)",
    },
  },
  actions: {
    async up({ dag, inputs }) {
      const base = dag.container().from("debian:bookworm-slim").withWorkdir("/work");
      const config = dag
        .directory()
        .withNewFile("job.conf", `rounds=${inputs.rounds}\n`)
        .withNewFile("work", work, { permissions: 0o755 });
      const tools = base
        .withDirectory("/etc/hello", config)
        .withMountedCache("/seeds", dag.cacheVolume("hello-seeds"));

      const results = workers.map((name) =>
        tools.withExec(["/etc/hello/work", name]).file("/work/result.txt"),
      );

      let report = base;
      for (const [i, file] of results.entries()) {
        report = report.withFile(`/in/${i}-${workers[i]}.txt`, file);
      }
      const joined = report.withExec([
        "sh",
        "-c",
        `echo "${inputs.greeting} from ${workers.length} workers"; cat /in/*.txt`,
      ]);
      const text = await joined.stdout();
      return {
        greeting: inputs.greeting,
        workers: workers.length,
        report: text.trimEnd().split("\n"),
      };
    },
  },
});
