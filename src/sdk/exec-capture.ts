/**
 * How a step's stdout and stderr survive the cache. Each exec writes them to files in a
 * mount of its own (`/.hln/out`), which BuildKit caches with the step; `stdout()` reads
 * the file from that result, so a cached step answers exactly as a fresh one. The
 * process still writes to its real stdout and stderr, through tee, so progress shows
 * its output live.
 *
 * The wrapper needs `sh`, `tee` and `mkfifo` in the image (busybox and Debian have them);
 * `withExec(args, { capture: false })` runs the command bare in images without them.
 */

import { fileOp, type MountSpec, type Output } from "../llb/index.js";

export const captureDir = "/.hln/out";

/** Where the captured files sit inside the capture mount's result. */
export const capturedFile = (stream: "stdout" | "stderr"): string => `/out/${stream}`;

let base: Output | undefined;

/**
 * The capture mount: an empty directory every user can write to, so steps that run as
 * a non-root user can capture too. FileOp mkdir honours the engine's umask, so the mode
 * comes from a copy, which applies it as given.
 */
export function captureMount(): MountSpec {
  base ??= fileOp({
    base: null,
    actions: [
      {
        kind: "copy",
        src: fileOp({
          actions: [{ kind: "mkdir", path: "/out", mode: 0o777 }],
          customName: "hln: make capture dir",
        }),
        srcPath: "/out",
        destPath: "/out",
        mode: 0o777,
        createDestPath: true,
      },
    ],
    customName: "hln: open capture dir to all users",
  });
  return { dest: captureDir, kind: "bind", source: base, selector: "/out" };
}

// $@ is the user's command. The fifos carry each stream through tee into its file; the
// step exits with the command's own code, so BuildKit reports failures as usual.
const script = [
  `o=${captureDir}`,
  'mkfifo "$o/.1" "$o/.2" || exit 125',
  'tee "$o/stdout" <"$o/.1" &',
  'tee "$o/stderr" <"$o/.2" >&2 &',
  '"$@" >"$o/.1" 2>"$o/.2"',
  "c=$?",
  "wait",
  'rm -f "$o/.1" "$o/.2"',
  "exit $c",
].join("\n");

/** The argv that runs `args` with its output captured. */
export function captureArgs(args: readonly string[]): string[] {
  return ["/bin/sh", "-c", script, "hln-exec", ...args];
}
