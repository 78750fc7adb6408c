/**
 * fanout: the W2 benchmark's graph (bench/cases/w2-fanout.ts). Eight independent steps
 * of `seconds` each on busybox, then a join that copies their results together and
 * prints them. bench/fanout/Dockerfile is the same graph for `docker buildx bake`.
 *
 * Cold without pruning: `nonce` goes into every step's command, so a fresh nonce runs
 * all nine steps again while the base image stays resolved and unpacked, as it would be
 * on a machine that builds every day.
 *
 *   hln do up --dir bench/fanout --set nonce=$(date +%s%N)
 */
import { defineStack } from "hln";

export default defineStack({
  name: "fanout",
  version: "0.1.0",
  description: "Eight independent steps at once, then a join",
  inputs: {
    nonce: { type: "string", default: "0", description: "changes every step's command" },
    seconds: { type: "number", default: 2, description: "how long each step sleeps" },
    width: { type: "number", default: 8, description: "how many independent steps" },
  },
  actions: {
    async up({ dag, inputs }) {
      const base = dag.container().from("busybox:latest");
      const results = Array.from({ length: inputs.width }, (_, i) =>
        base
          .withExec([
            "sh",
            "-c",
            `echo "step ${i} nonce ${inputs.nonce}"; sleep ${inputs.seconds}; echo "step ${i} done ${inputs.nonce}" >/out.txt`,
          ])
          .file("/out.txt"),
      );
      let join = base;
      for (const [i, file] of results.entries()) join = join.withFile(`/in/${i}.txt`, file);
      const text = await join
        .withExec(["sh", "-c", `echo "join nonce ${inputs.nonce}"; cat /in/*.txt`])
        .stdout();
      return { lines: text.trimEnd().split("\n").length };
    },
  },
});
