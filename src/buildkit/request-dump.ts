/**
 * A debug aid: with `HLN_DEBUG_LLB_DIR` set, every solve request hln sends to BuildKit
 * (Control.Solve and LLBBridge.Solve: the Definition, frontend inputs, exporter attributes;
 * LLBBridge.Return: the result's metadata with the image config) is also written there as
 * protobuf binary, one file per request.
 * It shows exactly what left the process, which is what a secrets audit and a cache-miss
 * hunt need; `buildctl debug dump-llb` reads a Definition file as is.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { fileReason } from "../file-reason.js";
import { makeDirectoriesSync } from "../make-directories.js";

let sequence = 0;

/**
 * Writes `message` to `<dir>/<pid>-<n>-<kind>.pb` when the environment names a directory.
 * Synchronous so that the file is whole before the request it shows is sent.
 */
export function dumpRequest<Desc extends DescMessage>(
  kind: string,
  schema: Desc,
  message: MessageShape<Desc>,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const dir = env.HLN_DEBUG_LLB_DIR;
  if (!dir) return;
  const file = join(dir, `${process.pid}-${String(++sequence).padStart(4, "0")}-${kind}.pb`);
  try {
    makeDirectoriesSync(dir, 0o700);
    writeFileSync(file, toBinary(schema, message), { mode: 0o600 });
  } catch (err) {
    // Asked for and not possible: saying so beats a silently missing dump.
    throw new HlnError("E_USAGE", `cannot write the solve request to ${file}: ${fileReason(err)}`, {
      cause: err,
    });
  }
}
