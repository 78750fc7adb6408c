/** What a command needs from the process, injectable for tests. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  /** Cancelled on Ctrl-C. */
  signal: AbortSignal;
  now: () => number;
}
