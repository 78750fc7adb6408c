/**
 * How a step's stdout, stderr and exit code survive the cache. Each exec writes them to
 * files in a mount of its own (`/.hln/out`), which BuildKit caches with the step;
 * `stdout()` and `exitCode()` read those files from that result, so a cached step answers
 * exactly as a fresh one. Progress shows the output live as well.
 *
 * The writing is done by hln-exec (src/shim/hln-exec.c), a static binary of ours mounted
 * read-only at `/.hln/shim` and run in front of the user's command, as Dagger injects its
 * own: nothing is needed from the image, so scratch and distroless images run too. It
 * sends stdout and stderr to the engine's log as one stream, in the order they arrive
 * (the engine relays two streams through separate readers and would reorder them). On
 * architectures hln has no binary for, a `/bin/sh` script with `tee` and `mkfifo` does
 * the job instead, needs them in the image, and keeps the streams apart.
 */

import { createHash } from "node:crypto";
import { displayCommand, HlnError } from "../errors.js";
import { shimBinaries } from "../gen/exec-shim.js";
import { fileOp, type MountSpec, type Output } from "../llb/index.js";

export const captureDir = "/.hln/out";

/** Where the captured files sit inside the capture mount's result. */
export const capturedFile = (what: "stdout" | "stderr" | "exit"): string => `/out/${what}`;

const shimDir = "/.hln/shim";
/** The shim's path in every step that has it. */
export const shimPath = `${shimDir}/hln-exec`;
const argvDir = "/.hln/argv";

/**
 * Above this many bytes, the argv travels in a file the shim reads instead of in the op's
 * argv. BuildKit quotes the argv in its error for a failed step, and an engine error of
 * some 64 KiB or more breaks the HTTP/2 connection for good (nghttp2 refuses header
 * fields over 64 KiB; the engine then waits on a connection we can no longer read).
 */
export const argvFileThreshold = 4096;

let base: Output | undefined;
const shims = new Map<string, Output>();

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

/** True when hln has a shim binary for `architecture` (OCI name: amd64, arm64). */
export function hasShim(architecture: string): architecture is keyof typeof shimBinaries {
  return Object.hasOwn(shimBinaries, architecture);
}

function shimMount(architecture: keyof typeof shimBinaries): MountSpec {
  let source = shims.get(architecture);
  if (!source) {
    source = fileOp({
      base: null,
      actions: [
        { kind: "mkdir", path: "/shim", mode: 0o755 },
        {
          kind: "mkfile",
          path: "/shim/hln-exec",
          data: Buffer.from(shimBinaries[architecture], "base64"),
          mode: 0o755,
        },
      ],
      customName: `hln: exec shim (${architecture})`,
    });
    shims.set(architecture, source);
  }
  return { dest: shimDir, kind: "bind", source, selector: "/shim", readonly: true };
}

/** How an exec runs: the argv BuildKit is given and the mounts that argv needs. */
export interface WireExec {
  wireArgs: string[];
  mounts: MountSpec[];
  /**
   * The exit codes to put in the op for BuildKit to accept (a cap of BuildKit 0.17+);
   * undefined when the shim accepts them itself, which works on every engine.
   */
  validExitCodes: number[] | undefined;
}

/**
 * What runs `args` on a step of `architecture`: with `capture`, the shim in front of the
 * command, or the sh wrapper where hln has no shim binary; without, the command bare.
 * An argv over `argvFileThreshold` bytes goes to the shim in a file either way (without
 * a capture mount the shim only forwards the output), so no engine error quotes it.
 */
export function wireExec(
  args: readonly string[],
  architecture: string,
  options: { capture: boolean; validExitCodes?: readonly number[] },
): WireExec {
  const { capture, validExitCodes } = options;
  const bytes = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  const large = bytes > argvFileThreshold;
  const inOp = validExitCodes ? [...validExitCodes] : undefined;
  if (!hasShim(architecture)) {
    return capture
      ? { wireArgs: captureArgs(args), mounts: [captureMount()], validExitCodes: inOp }
      : { wireArgs: [...args], mounts: [], validExitCodes: inOp };
  }
  if (!capture && !large) return { wireArgs: [...args], mounts: [], validExitCodes: inOp };
  // Checked here for every step, not only those whose codes the shim applies.
  const codeList = validExitCodes && exitCodeList(validExitCodes);
  const mounts = [shimMount(architecture)];
  if (capture) mounts.push(captureMount());
  // The shim can only turn accepted codes into success: a list without 0, where exit 0
  // must fail, is left to the engine.
  const byShim = validExitCodes?.includes(0) === true;
  const flags = byShim ? [`-x${codeList}`] : [];
  const engineCodes = byShim ? undefined : inOp;
  if (!large) {
    // A command named like an option would be read as one.
    const end = args[0]?.startsWith("-") ? ["--"] : [];
    return { wireArgs: [shimPath, ...flags, ...end, ...args], mounts, validExitCodes: engineCodes };
  }
  const data = Buffer.concat(args.map((a) => Buffer.from(`${a}\0`)));
  // Named by its contents, so the argv BuildKit quotes in errors tells steps apart.
  const name = createHash("sha256").update(data).digest("hex").slice(0, 16);
  const argv = fileOp({
    base: null,
    actions: [
      { kind: "mkdir", path: "/argv", mode: 0o755 },
      { kind: "mkfile", path: `/argv/${name}`, data, mode: 0o444 },
    ],
    customName: `hln: argv of ${displayCommand(args.slice(0, 1))} (${bytes} bytes)`,
  });
  mounts.push({ dest: argvDir, kind: "bind", source: argv, selector: "/argv", readonly: true });
  return {
    wireArgs: [shimPath, ...flags, `-@${argvDir}/${name}`],
    mounts,
    validExitCodes: engineCodes,
  };
}

function exitCodeList(codes: readonly number[]): string {
  for (const c of codes) {
    if (!Number.isInteger(c) || c < 0 || c > 255)
      throw new HlnError(
        "E_USAGE",
        `withExec: validExitCodes: ${JSON.stringify(c)} is not an exit code (an integer from 0 to 255)`,
      );
  }
  return [...new Set(codes)].sort((a, b) => a - b).join(",");
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
  'echo "$c" >"$o/exit"',
  "exit $c",
].join("\n");

/** The argv that runs `args` with its output captured by `/bin/sh` and `tee`. */
export function captureArgs(args: readonly string[]): string[] {
  return ["/bin/sh", "-c", script, "hln-exec", ...args];
}
