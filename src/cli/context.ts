import type { Scrubber } from "../buildkit/scrubber.js";
import type { Faults } from "./faults.js";

/** What a command needs from the process, injectable for tests. */
export interface CliContext {
  /** Learns every secret value and redacts it from everything the CLI prints. */
  redactor: Scrubber;
  env: NodeJS.ProcessEnv;
  /** Where relative paths the user typed are read from; process.cwd() when absent. */
  cwd?: string;
  /** The `--engine` flag, when given. */
  engine?: string;
  /** The TLS settings given as flags, by the variable they stand for, to name the flag in errors. */
  tlsFlags?: Record<string, string>;
  /** Where -i prompts read answers; process.stdin when absent. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(on: boolean): unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  /** Cancelled on Ctrl-C, on a closed stdout or stderr, and on a fault (see faults.ts). */
  signal: AbortSignal;
  /** Says Ctrl-C is how this command ends normally, so no "interrupted" line is printed. */
  expectInterrupt?: () => void;
  /** Errors that escaped every await while the command ran. */
  faults: Faults;
  now: () => number;
}
