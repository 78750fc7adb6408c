/**
 * The one error hierarchy of hln. Every failure a user can meet carries a stable `code`
 * (scripts match on it), a one-line message that names the file, field or endpoint at
 * fault, and the underlying `cause`. The CLI maps codes to exit codes.
 */

export type HlnErrorCode =
  /** No engine answered at the endpoint that was chosen. */
  | "E_ENGINE_UNREACHABLE"
  /** The engine answered but misbehaved, or dropped the connection. */
  | "E_ENGINE_PROTOCOL"
  /** The engine lacks a capability hln needs. */
  | "E_ENGINE_CAPABILITY"
  /** A build step exited non-zero. */
  | "E_EXEC_FAILED"
  /** The solve failed for any other reason (bad image ref, missing file...). */
  | "E_SOLVE_FAILED"
  /** The stack module could not be loaded or is malformed. */
  | "E_STACK_INVALID"
  /**
   * The stack's own code failed while it ran: its action threw, returned something that
   * cannot be printed, never settled, or threw from a timer or an unawaited promise.
   */
  | "E_STACK_ACTION"
  /**
   * Deploying on the Docker engine failed: a port taken, a service that never became
   * healthy, a job that exited non-zero.
   */
  | "E_DEPLOY_FAILED"
  /** An input value (--set, values file) is invalid. */
  | "E_INPUT_INVALID"
  /** The user asked for something that does not exist or makes no sense. */
  | "E_USAGE"
  /** Another hln holds the app's lock. */
  | "E_LOCKED"
  /** The operation was cancelled by an AbortSignal (Ctrl-C). */
  | "E_ABORTED"
  /** A bug in hln. */
  | "E_INTERNAL";

/**
 * A setting of hln's that fixes an error, named apart from any interface: the CLI names
 * it by the flag or environment variable the user used (`tlsCa`: `--tlscacert` or
 * `BUILDKIT_TLS_CA`), a library user reads the words of `settingWords`.
 */
export type Setting =
  /** The BuildKit address (`openEngine`'s `engine`). */
  | "engine"
  /** The Docker engine's address. */
  | "dockerHost"
  /** The CA certificate a TLS BuildKit's certificate is checked against. */
  | "tlsCa"
  /** The TLS client certificate and its key, given together. */
  | "tlsClientCert"
  /** A directory holding the TLS files (ca.pem, cert.pem, key.pem). */
  | "tlsDir"
  /** The name checked in a TLS BuildKit's certificate. */
  | "tlsServerName"
  /** How long the engine may stay silent (`silenceTimeoutMs`). */
  | "silenceTimeout"
  /** The build cache to export (`cache.exports` / `cache.to`). */
  | "cacheTo"
  /** Running every step again (`noCache`). */
  | "noCache"
  /** The stack trace of every error. */
  | "debug"
  /** The registry a swarm's nodes pull an app's images from (`up`'s `registry`). */
  | "registry"
  /** Where an app is deployed: one Docker engine or its swarm (`up`'s `target`). */
  | "target";

/** The words a library user reads for a setting: what it is, not how a CLI spells it. */
export const settingWords: Record<Setting, string> = {
  engine: "the engine address",
  dockerHost: "the Docker engine address",
  tlsCa: "the CA certificate that signed the server's",
  tlsClientCert: "a client certificate and its key",
  tlsDir: "a TLS directory",
  tlsServerName: "the server name to the name in the certificate",
  silenceTimeout: "silenceTimeoutMs",
  cacheTo: "a cache export of",
  noCache: "noCache",
  debug: "the error's stack",
  registry: "the registry every node pulls from",
  target: "the deploy target",
};

/**
 * What fixes an error, as data: each of `settings` would (the first preferred), given
 * `value` when one is known. Shown as `[lead] names [value] [does]`, e.g. "set the CA
 * certificate that signed the server's", "or use --cache-to type=inline",
 * "HLN_SILENCE_TIMEOUT sets how long to wait".
 */
export interface Remedy {
  settings: readonly Setting[];
  value?: string;
  /** The words before the names; "set" when neither this nor `does` is given. */
  lead?: string;
  /** The words after the names. */
  does?: string;
}

/** How an interface names a setting, and a value given to it (`--flag value`, `VAR=value`). */
export type SettingNamer = (setting: Setting, value?: string) => string;

/** The library's naming: `settingWords`, and a value after the words. */
export const librarySettingNamer: SettingNamer = (setting, value) =>
  value === undefined ? settingWords[setting] : `${settingWords[setting]} ${value}`;

/** A remedy in one interface's words, e.g. "set --tlscacert or BUILDKIT_TLS_CA". */
export function remedyText(remedy: Remedy, name: SettingNamer = librarySettingNamer): string {
  const names = remedy.settings.map((s) => name(s, remedy.value)).join(" or ");
  const lead = remedy.lead ?? (remedy.does === undefined ? "set" : "");
  return [lead, names, remedy.does ?? ""].filter((w) => w !== "").join(" ");
}

/** A hint and a remedy as one line, the remedy in the words `name` gives. */
export function hintText(
  advice: string | undefined,
  remedy: Remedy | undefined,
  name: SettingNamer = librarySettingNamer,
): string | undefined {
  const parts = [advice, remedy && remedyText(remedy, name)].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  return parts.length > 0 ? parts.join("; ") : undefined;
}

export interface HlnErrorOptions {
  cause?: unknown;
  /** Extra lines that help the user act on the error (shown under the one-line message). */
  hint?: string;
  /**
   * The setting that fixes the error, named by each interface in its own words (the
   * library's in `hint`). Never write a CLI flag or variable in a message or hint.
   */
  remedy?: Remedy;
}

/**
 * Every error hln raises: a stable `code`, a one-line message, an optional `hint`, the `cause`.
 *
 * @example
 * try {
 *   await openEngine();
 * } catch (err) {
 *   if (err instanceof HlnError && err.code === "E_ENGINE_UNREACHABLE") console.error(err.message);
 *   else throw err;
 * }
 */
export class HlnError extends Error {
  override readonly name: string = "HlnError";
  readonly code: HlnErrorCode;
  /** What helps the user act on the error, the remedy included in the library's words. */
  readonly hint: string | undefined;
  /** The setting that fixes the error, for an interface to name in its own words. */
  readonly remedy: Remedy | undefined;
  /** The hint without the remedy. */
  readonly advice: string | undefined;

  constructor(code: HlnErrorCode, message: string, options: HlnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    const cause = options.cause;
    // A wrapper that passes its cause's hint on keeps its cause's remedy, so the CLI can
    // still name the setting in its own words.
    const inherited =
      options.remedy === undefined &&
      cause instanceof HlnError &&
      cause.remedy !== undefined &&
      options.hint !== undefined &&
      options.hint === cause.hint;
    this.remedy = inherited ? cause.remedy : options.remedy;
    this.advice = inherited ? cause.advice : options.hint;
    this.hint = hintText(this.advice, this.remedy);
  }

  /** Wraps anything thrown into an HlnError, keeping an HlnError as it is. */
  static from(err: unknown, code: HlnErrorCode = "E_INTERNAL"): HlnError {
    if (err instanceof HlnError) return err;
    if (isAbortError(err)) return new HlnError("E_ABORTED", "cancelled", { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new HlnError(code, message, { cause: err });
  }
}

/** Longest command shown in messages and progress; `args` keeps the whole of it. */
const shownCommandLength = 200;

/**
 * A command line as messages show it: the argv joined by spaces, cut after 200 characters
 * with the size of the rest, so an argv of megabytes still makes one readable line.
 */
export function displayCommand(args: readonly string[]): string {
  const joined = args.join(" ");
  if (joined.length <= shownCommandLength) return joined;
  return `${joined.slice(0, shownCommandLength)}… (${joined.length - shownCommandLength} more characters)`;
}

/**
 * A step of the build exited with a code it was not allowed to exit with.
 *
 * @example
 * try {
 *   await dag.container().from("busybox").withExec(["sh", "-c", "exit 2"]).sync();
 * } catch (err) {
 *   if (err instanceof ExecError) console.error(err.exitCode, err.output); // 2, the last lines
 * }
 */
export class ExecError extends HlnError {
  override readonly name = "ExecError";
  /** The command line, as given to withExec. */
  readonly args: readonly string[];
  /** The process exit code, or undefined when BuildKit did not report one. */
  readonly exitCode: number | undefined;
  /** The last lines the step printed (stdout and stderr interleaved), secrets scrubbed. */
  readonly output: string;
  /** The LLB vertex digest of the failed step. */
  readonly vertex: string | undefined;
  /** Why the process never ran, in the engine's words (e.g. an unknown user), if it did not. */
  readonly reason: string | undefined;

  constructor(fields: {
    args: readonly string[];
    exitCode: number | undefined;
    output: string;
    vertex?: string;
    cause?: unknown;
    reason?: string;
    /** The stack's call that made the process fail to start, e.g. `withUser("nobody2")`. */
    origin?: string;
  }) {
    const shown = `process ${JSON.stringify(displayCommand(fields.args))}`;
    const message =
      fields.reason === undefined
        ? `${shown}${fields.exitCode === undefined ? "" : ` exited with code ${fields.exitCode}`}`
        : fields.origin
          ? `${fields.origin}: ${fields.reason}`
          : `${shown} did not run: ${fields.reason}`;
    super("E_EXEC_FAILED", message, { cause: fields.cause });
    this.reason = fields.reason;
    this.args = fields.args;
    this.exitCode = fields.exitCode;
    this.output = fields.output;
    this.vertex = fields.vertex;
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === "AbortError" || (err as { code?: unknown }).code === "ABORT_ERR")
  );
}

/** A setting as the user wrote it, for errors: `--flag value` for a flag, `VAR=value` for a variable. */
export function shownSetting(from: string, value: string): string {
  return from.startsWith("--") ? `${from} ${value}` : `${from}=${value}`;
}

/** Throws the signal's reason as an E_ABORTED HlnError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HlnError("E_ABORTED", "cancelled", { cause: signal.reason });
}
