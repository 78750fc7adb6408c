import type { Scrubber } from "../buildkit/scrubber.js";

/** What a command needs from the process, injectable for tests. */
export interface CliContext {
  /** Learns every secret value and redacts it from everything the CLI prints. */
  redactor: Scrubber;
  env: NodeJS.ProcessEnv;
  /** The `--engine` flag, when given. */
  engine?: string;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  /** Cancelled on Ctrl-C. */
  signal: AbortSignal;
  now: () => number;
}
