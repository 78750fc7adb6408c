/**
 * What an app's labels on the engine cannot hold: the stack it came from, its inputs, its
 * outputs and its deploy history, one JSON file per app, behind an interface so that other
 * stores can follow. The engine's labels stay the truth for what runs.
 */
import { open, readdir, readFile, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { HlnError, throwIfAborted } from "../errors.js";
import { fileReason } from "../file-reason.js";
import { makeDirectories } from "../make-directories.js";
import { replaceFile } from "../replace-file.js";
import { type AppLock, acquireLock, type LockOptions } from "./app-lock.js";

export interface DeployRecord {
  /** ISO time */
  at: string;
  /** "rollback": `hln rollback` put swarm services back to their previous spec. */
  action: "up" | "down" | "rollback";
  result: "ok" | "failed" | "cancelled";
  /** one line, already scrubbed by the caller */
  error?: string;
  stackVersion: string;
  /** one line per change applied, e.g. "recreate api (image changed)" */
  changes: string[];
  by: { user: string; host: string; pid: number };
}

export interface AppState {
  app: string;
  /**
   * Docker's /info ID of the deploy engine, and its endpoint as shown; `target` "swarm"
   * when the app runs as services of the swarm that engine manages, and `registry` the one
   * its nodes pull from (as given, e.g. `http://10.0.0.5:5000`).
   */
  engine: {
    id: string;
    endpoint: string;
    target?: "docker" | "swarm";
    registry?: string;
    /** false: the swarm's services are deployed without its routing mesh (swarm-spec.ts). */
    mesh?: boolean;
  };
  /** how to find the stack again: what -s/--dir named, e.g. "web-api-db", "npm:@acme/shop@1.2.0", or an absolute directory */
  stack: { ref: string; name: string; version: string };
  /** non-secret input values, JSON */
  inputs: Record<string, unknown>;
  /** secret inputs: name -> where the value came from ("env:SHOP_DB_PASSWORD"), never a value */
  secretSources: Record<string, string>;
  outputs: unknown;
  /** the services as last applied */
  services: Record<string, { kind: "service" | "job"; image: string; configHash: string }>;
  /** newest last, at most 50 kept */
  history: DeployRecord[];
}

export interface StateStore {
  /** where it keeps things, for messages */
  readonly location: string;
  /** The app's state, or undefined when it has none. A file that is not a state says so (E_USAGE) and stays as it is. */
  read(app: string, signal?: AbortSignal): Promise<AppState | undefined>;
  /** temp file in the same directory, fsync, rename, fsync dir; dir 0700, file 0600 */
  write(state: AppState, signal?: AbortSignal): Promise<void>;
  /** missing is fine */
  remove(app: string, signal?: AbortSignal): Promise<void>;
  /** app names with a state file, sorted */
  list(signal?: AbortSignal): Promise<string[]>;
  /** takes the app's lock; see app-lock.ts */
  lock(app: string, options: LockOptions): Promise<AppLock>;
}

/** Deploys kept in a state file; older ones are dropped so the file stays small. */
export const historyLimit = 50;

/**
 * App names become file names here and container names on the engine, so they follow
 * Docker's rule for container names ([a-zA-Z0-9][a-zA-Z0-9_.-]*), which also keeps them
 * from naming a path outside the store.
 */
const appNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkAppName(app: string): void {
  if (!appNamePattern.test(app)) {
    throw new HlnError(
      "E_USAGE",
      `app name ${JSON.stringify(app)} is not valid: use letters, digits, '_', '.' and '-', starting with a letter or digit`,
    );
  }
}

/** `$XDG_STATE_HOME/hln/apps/ENGINE-ID/`, else `~/.local/state/hln/apps/ENGINE-ID/`. */
export function appStateDirectory(env: NodeJS.ProcessEnv, engineId: string): string {
  // The XDG spec ignores a relative XDG_STATE_HOME.
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".local", "state");
  // Docker's IDs are UUIDs or "XXXX:XXXX:..." (older engines); anything else is kept from
  // naming another directory.
  const safeId = engineId.replace(/[^a-zA-Z0-9_.:-]/g, "_").replace(/^\.+$/, "_") || "_";
  return join(base, "hln", "apps", safeId);
}

/** The default store: one `APP.json` and `APP.lock` per app, per deploy engine. */
export function fileStateStore(options: { env: NodeJS.ProcessEnv; engineId: string }): StateStore {
  const dir = appStateDirectory(options.env, options.engineId);
  const fileOf = (app: string) => join(dir, `${app}.json`);

  async function ensureDirectory(): Promise<void> {
    try {
      await makeDirectories(dir, 0o700);
    } catch (err) {
      throw new HlnError(
        "E_USAGE",
        `cannot make hln's state directory ${dir}: ${fileReason(err)} (XDG_STATE_HOME chooses where it is)`,
        {
          cause: err,
        },
      );
    }
  }

  return {
    location: dir,

    async read(app, signal) {
      checkAppName(app);
      throwIfAborted(signal);
      const file = fileOf(app);
      let text: string;
      try {
        text = await readFile(file, { encoding: "utf8", signal });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throwIfAborted(signal);
        throw new HlnError("E_USAGE", `cannot read the state file ${file}: ${fileReason(err)}`, {
          cause: err,
        });
      }
      return parseAppState(text, file, app);
    },

    async write(state, signal) {
      checkAppName(state.app);
      throwIfAborted(signal);
      await ensureDirectory();
      const kept: AppState = { ...state, history: state.history.slice(-historyLimit) };
      const file = fileOf(state.app);
      try {
        await replaceFile(file, `${JSON.stringify(kept, null, 2)}\n`, { signal, mode: 0o600 });
        await syncDirectory(dir);
      } catch (err) {
        throwIfAborted(signal);
        throw new HlnError("E_USAGE", `cannot write the state file ${file}: ${fileReason(err)}`, {
          cause: err,
        });
      }
    },

    async remove(app, signal) {
      checkAppName(app);
      throwIfAborted(signal);
      const file = fileOf(app);
      try {
        await rm(file, { force: true });
      } catch (err) {
        throw new HlnError("E_USAGE", `cannot remove the state file ${file}: ${fileReason(err)}`, {
          cause: err,
        });
      }
    },

    async list(signal) {
      throwIfAborted(signal);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw new HlnError(
          "E_USAGE",
          `cannot list hln's state directory ${dir}: ${fileReason(err)}`,
          { cause: err },
        );
      }
      return names
        .filter((n) => n.endsWith(".json"))
        .map((n) => n.slice(0, -".json".length))
        .filter((a) => appNamePattern.test(a))
        .sort();
    },

    async lock(app, lockOptions) {
      checkAppName(app);
      throwIfAborted(lockOptions.signal);
      await ensureDirectory();
      return acquireLock(join(dir, `${app}.lock`), lockOptions);
    },
  };
}

/** The rename is durable only once the directory that holds the new name is on disk. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a state file, or says in one line what is wrong with it. */
export function parseAppState(text: string, file: string, app: string): AppState {
  const bad = (what: string) => new HlnError("E_USAGE", `state file ${file} ${what}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw bad(`is not valid JSON: ${jsonReason(err)}`);
  }
  const at = (path: string, ok: boolean, expected: string) => {
    if (!ok) throw bad(`is not an app's state: "${path}" must be ${expected}`);
  };
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  const isString = (x: unknown): x is string => typeof x === "string";

  at("(top)", isObject(v), "an object");
  const s = v as Record<string, unknown>;
  at("app", isString(s.app), "a string");
  if (s.app !== app) throw bad(`names app ${JSON.stringify(s.app)}, not ${JSON.stringify(app)}`);
  at("engine", isObject(s.engine), "an object");
  const engine = s.engine as Record<string, unknown>;
  at("engine.id", isString(engine.id), "a string");
  at("engine.endpoint", isString(engine.endpoint), "a string");
  at("stack", isObject(s.stack), "an object");
  const stack = s.stack as Record<string, unknown>;
  for (const k of ["ref", "name", "version"]) at(`stack.${k}`, isString(stack[k]), "a string");
  at("inputs", isObject(s.inputs), "an object");
  at("secretSources", isObject(s.secretSources), "an object");
  for (const [k, src] of Object.entries(s.secretSources as object))
    at(`secretSources.${k}`, isString(src), "a string");
  at("services", isObject(s.services), "an object");
  for (const [name, svc] of Object.entries(s.services as object)) {
    at(`services.${name}`, isObject(svc), "an object");
    const o = svc as Record<string, unknown>;
    at(`services.${name}.kind`, o.kind === "service" || o.kind === "job", `"service" or "job"`);
    at(`services.${name}.image`, isString(o.image), "a string");
    at(`services.${name}.configHash`, isString(o.configHash), "a string");
  }
  at("history", Array.isArray(s.history), "a list");
  (s.history as unknown[]).forEach((r, i) => {
    const p = `history[${i}]`;
    at(p, isObject(r), "an object");
    const o = r as Record<string, unknown>;
    at(`${p}.at`, isString(o.at), "a string");
    at(
      `${p}.action`,
      o.action === "up" || o.action === "down" || o.action === "rollback",
      `"up", "down" or "rollback"`,
    );
    at(
      `${p}.result`,
      o.result === "ok" || o.result === "failed" || o.result === "cancelled",
      `"ok", "failed" or "cancelled"`,
    );
    at(`${p}.error`, o.error === undefined || isString(o.error), "a string");
    at(`${p}.stackVersion`, isString(o.stackVersion), "a string");
    at(`${p}.changes`, Array.isArray(o.changes) && o.changes.every(isString), "a list of strings");
    at(`${p}.by`, isObject(o.by), "an object");
    const by = o.by as Record<string, unknown>;
    at(`${p}.by.user`, isString(by.user), "a string");
    at(`${p}.by.host`, isString(by.host), "a string");
    at(`${p}.by.pid`, Number.isSafeInteger(by.pid), "an integer");
  });
  return s as unknown as AppState;
}

/**
 * JSON.parse's reason without the copy of the text V8 appends to it ("..., "{\n  "a"..." is
 * not valid JSON"), which would spread the message over many lines.
 */
function jsonReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cut = message.match(/^(.*?), (?:\.\.\.)?".*" is not valid JSON$/s);
  return (cut?.[1] ?? message).replace(/\s+/g, " ").trim();
}
