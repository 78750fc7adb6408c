import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { HlnError } from "../errors.js";
import { fileReason } from "../file-reason.js";
import { fingerprint, fingerprintKey } from "./secret-fingerprint.js";

/**
 * A secret a step can read as a file (`withMountedSecret`) or an environment variable
 * (`withSecretVariable`). Only its name enters the graph, so values never reach LLB,
 * cache keys, logs or image layers; the engine fetches the value from the session when
 * the step runs, and hln redacts it from everything it prints.
 *
 * @example
 * const token = dag.secretFromEnv("NPM_TOKEN");
 * await dag.container().from("node:22-slim")
 *   .withSecretVariable("NPM_TOKEN", token)
 *   .withExec(["npm", "whoami"])
 *   .sync();
 */
export class Secret {
  #value: Promise<Uint8Array> | undefined;

  /** @internal */
  constructor(
    /** The name it is known by in messages. */
    readonly name: string,
    /** @internal */
    private readonly load: () => Promise<Uint8Array>,
    /**
     * @internal Its ID on the wire and in cache keys: the name, plus a keyed fingerprint
     * of the value when the value is known up front (see secret-fingerprint.ts).
     */
    readonly id: string = name,
  ) {}

  /** @internal The value, loaded once. */
  value(): Promise<Uint8Array> {
    this.#value ??= this.load();
    return this.#value;
  }
}

const encoder = new TextEncoder();

export function validSecretName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new HlnError(
      "E_USAGE",
      `secret name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-"`,
    );
  }
  return name;
}

/**
 * A secret with a value known now. Given `env` (for where the fingerprint key lives), its
 * ID carries a keyed fingerprint of the value, so that a step reading it runs again when
 * the value changes instead of replaying what it printed with the old one.
 */
export function secretFromValue(
  name: string,
  value: string | Uint8Array,
  env?: NodeJS.ProcessEnv,
): Secret {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  const id = env ? `${name}.${fingerprint(bytes, fingerprintKey(env))}` : name;
  return new Secret(validSecretName(name), async () => bytes, id);
}

export function secretFromEnv(variable: string, env: NodeJS.ProcessEnv, name = variable): Secret {
  const value = env[variable];
  if (value === undefined) {
    throw new HlnError(
      "E_INPUT_INVALID",
      `secret ${name}: environment variable ${variable} is not set`,
    );
  }
  return secretFromValue(name, value, env);
}

export function secretFromFile(path: string, name: string): Secret {
  return new Secret(validSecretName(name), async () => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new HlnError(
        "E_INPUT_INVALID",
        `secretFromFile(${JSON.stringify(path)}): ${fileReason(err)}`,
        { cause: err },
      );
    }
  });
}

/** Runs `argv` once, when a step first needs the secret; its stdout is the value. */
export function secretFromCommand(
  argv: readonly string[],
  name: string,
  signal?: AbortSignal,
  timeoutMs = 60_000,
): Secret {
  const call = `secretFromCommand(${JSON.stringify(argv)})`;
  if (argv.length === 0) throw new HlnError("E_USAGE", `${call}: the command is empty`);
  return new Secret(
    validSecretName(name),
    () =>
      new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], signal });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.once("error", (e) => {
          clearTimeout(grace);
          clearTimeout(bound);
          if (e.name === "AbortError") {
            reject(new HlnError("E_ABORTED", "cancelled", { cause: e }));
            return;
          }
          reject(
            new HlnError(
              "E_INPUT_INVALID",
              `${call}: cannot run ${argv[0]}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such command" : fileReason(e)}`,
              { cause: e },
            ),
          );
        });
        // The value is complete once the command exited; "close" also waits for every
        // process holding its stdout, and a daemon it started (an agent) may hold it for
        // good. What the command wrote is read within moments of its exit.
        let grace: NodeJS.Timeout | undefined;
        // A command that waits for something (a prompt it cannot show, a lock) would
        // hold the run with no word; the bound names it instead.
        let timedOut = false;
        const bound = setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, timeoutMs);
        child.once("exit", () => {
          clearTimeout(bound);
          // Letting go of the pipes is what lets "close" come.
          grace = setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
          }, 500);
        });
        child.once("close", (code) => {
          clearTimeout(grace);
          if (code === 0) resolve(new Uint8Array(Buffer.concat(out)));
          else {
            // The command's stderr is not shown: it may hold the secret itself.
            reject(
              new HlnError(
                "E_INPUT_INVALID",
                timedOut
                  ? `${call}: did not finish within ${timeoutMs / 1000} s, so it was stopped`
                  : code === null
                    ? `${call}: killed by a signal`
                    : `${call}: exited with code ${code}`,
              ),
            );
          }
        });
      }),
  );
}
