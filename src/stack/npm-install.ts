/**
 * Installs an npm package into hln's stack cache with the user's own `npm` CLI, so the
 * registry, scopes, auth and proxies come from their npm config as for any install. Each
 * install runs in a temporary directory inside the cache and is renamed into place whole
 * (`<cache>/<name>@<exact version>`), so the cache never holds a half-installed package,
 * and two installs of the same version race harmlessly: the second rename loses and its
 * copy is dropped.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HlnError, isAbortError } from "../errors.js";
import { makeDirectories } from "../make-directories.js";
import { splitNpmSpec } from "./stack-ref.js";

export interface NpmInstallOptions {
  /** The cache that receives `<name>@<version>` directories. */
  cacheDirectory: string;
  /** Environment of the npm process (PATH, npm_config_*, HOME). Default: process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface InstalledPackage {
  name: string;
  /** The exact version npm chose for the range. */
  version: string;
  /** `<cache>/<escaped name>@<version>`, the unit that is installed and removed whole. */
  directory: string;
  /** The package itself: `<directory>/node_modules/<name>`. */
  packageDirectory: string;
  /** False when that version was already in the cache (an earlier or concurrent install). */
  created: boolean;
}

/** `@acme/shop` -> `@acme+shop`: one path segment per package. */
export function escapePackageName(name: string): string {
  return name.replace("/", "+");
}

/** The cache directory of one installed version. */
export function installDirectory(cacheDirectory: string, name: string, version: string): string {
  return join(cacheDirectory, `${escapePackageName(name)}@${version}`);
}

/**
 * npm's retry defaults (2 retries, 10 s then 60 s apart) turn an unreachable registry into
 * a wait of over a minute; one retry after 1 s still rides out a blip. A user who set any
 * of these keeps their own.
 */
const npmRetryDefaults = { "fetch-retries": "2", "fetch-retry-mintimeout": "10000" };
const ourRetries = [
  "--fetch-retries=1",
  "--fetch-retry-mintimeout=1000",
  "--fetch-retry-maxtimeout=4000",
];
export const retryPolicy = "npm retried once, 1 s later (--fetch-retries=1)";

const unreachable = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_SOCKET_TIMEOUT",
  "ECONNABORTED",
]);

/** Temporary installs older than this were left by a killed process. */
const staleInstallMs = 24 * 60 * 60 * 1000;

/**
 * Installs `spec` (`NAME` or `NAME@RANGE`) once and returns where it is. Package scripts do
 * not run (`--ignore-scripts`), and peer dependencies are not fetched
 * (`--legacy-peer-deps`): a stack's peer dependency on `hln` is the hln that loads it.
 *
 * @example
 * const pkg = await npmInstall("@acme/shop@^1", { cacheDirectory: "/home/me/.cache/hln/stacks" });
 * pkg.version; // "1.4.2"
 */
export async function npmInstall(
  spec: string,
  options: NpmInstallOptions,
): Promise<InstalledPackage> {
  const env = options.env ?? process.env;
  const { name, range } = splitNpmSpec(spec);
  const shown = `npm:${spec}`;
  let temp: string;
  try {
    await makeDirectories(options.cacheDirectory);
    await removeStaleInstalls(options.cacheDirectory);
    temp = await mkdtemp(join(options.cacheDirectory, ".install-"));
  } catch (err) {
    throw new HlnError(
      "E_USAGE",
      `${shown}: cannot write hln's stack cache ${options.cacheDirectory}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (XDG_CACHE_HOME chooses where it is)`,
      { cause: err },
    );
  }
  try {
    const config = await npmConfig(name, env, temp, shown, options.signal);
    const keepsDefaults = Object.entries(npmRetryDefaults).every(([k, v]) => config[k] === v);
    await writeFile(
      join(temp, "package.json"),
      // No name: npm refuses to install a package into one of the same name.
      `${JSON.stringify({ private: true })}\n`,
    );
    const args = [
      "install",
      "--json",
      "--ignore-scripts",
      "--legacy-peer-deps",
      "--no-audit",
      "--no-fund",
      "--no-update-notifier",
      "--prefix",
      temp,
      ...(keepsDefaults ? ourRetries : []),
      spec,
    ];
    const r = await runNpm(args, env, temp, shown, options.signal);
    if (r.code !== 0) {
      const registry =
        config[`${name.split("/")[0]}:registry`] ?? config.registry ?? "the registry";
      const versions =
        npmError(r).code === "ETARGET"
          ? await publishedVersions(name, env, temp, shown, options.signal)
          : "";
      throw installFailure(shown, name, range, registry, r, keepsDefaults, versions);
    }
    const packageDirectory = join(temp, "node_modules", name);
    let version: string;
    try {
      const manifest = JSON.parse(await readFile(join(packageDirectory, "package.json"), "utf8"));
      version = String(manifest.version);
    } catch (err) {
      throw new HlnError("E_STACK_INVALID", `${shown}: npm installed no package ${name}`, {
        cause: err,
      });
    }
    const directory = installDirectory(options.cacheDirectory, name, version);
    let created = true;
    try {
      await rename(temp, directory);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      // Installed before, or by a run at the same time: that copy is complete.
      created = false;
      await rm(temp, { recursive: true, force: true });
    }
    return {
      name,
      version,
      directory,
      packageDirectory: join(directory, "node_modules", name),
      created,
    };
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes an installed version whole: renamed aside first, so no reader sees it half gone. */
export async function removeInstall(directory: string): Promise<void> {
  const aside = `${directory}.removing-${process.pid}`;
  try {
    await rename(directory, aside);
  } catch {
    return;
  }
  await rm(aside, { recursive: true, force: true });
}

async function removeStaleInstalls(cacheDirectory: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(cacheDirectory);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(".install-")) continue;
    const path = join(cacheDirectory, n);
    try {
      if (Date.now() - (await stat(path)).mtimeMs > staleInstallMs)
        await rm(path, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

/** The settings that shape the install, read without touching the network. */
async function npmConfig(
  name: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  shown: string,
  signal: AbortSignal | undefined,
): Promise<Record<string, string>> {
  const keys = ["registry", ...Object.keys(npmRetryDefaults)];
  if (name.startsWith("@")) keys.push(`${name.split("/")[0]}:registry`);
  const r = await runNpm(["config", "get", ...keys], env, cwd, shown, signal);
  const config: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && line.slice(eq + 1) !== "undefined")
      config[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return config;
}

interface NpmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runNpm(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  shown: string,
  signal: AbortSignal | undefined,
): Promise<NpmResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new HlnError("E_ABORTED", "cancelled", { cause: signal.reason }));
      return;
    }
    const child = spawn("npm", args, { cwd, env, signal, stdio: ["ignore", "pipe", "pipe"] });
    let aborted = false;
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr = (stderr + s).slice(-20_000);
    });
    child.once("error", (err: NodeJS.ErrnoException) => {
      // Cancelled: reported once npm has exited, so that it writes nothing into the
      // temporary install after the caller removed it.
      if (isAbortError(err) || signal?.aborted) aborted = true;
      else if (err.code === "ENOENT")
        reject(
          new HlnError(
            "E_USAGE",
            `${shown}: npm is not on PATH; hln installs npm stacks with the npm CLI`,
            { cause: err },
          ),
        );
      else
        reject(new HlnError("E_USAGE", `${shown}: cannot run npm: ${err.message}`, { cause: err }));
    });
    child.once("close", (code) => {
      if (aborted || signal?.aborted)
        reject(new HlnError("E_ABORTED", "cancelled", { cause: signal?.reason }));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** `; versions: 1.0.0, 1.1.0`, or nothing when the registry does not say. */
async function publishedVersions(
  name: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  shown: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const r = await runNpm(["view", name, "versions", "--json"], env, cwd, shown, signal);
  try {
    const versions = JSON.parse(r.stdout) as unknown;
    const list = Array.isArray(versions) ? versions : [versions];
    if (r.code === 0 && list.length > 0) return `; versions: ${list.slice(-10).join(", ")}`;
  } catch {
    // Said nothing we can read: the message stands without the list.
  }
  return "";
}

/** npm's own error, as `--json` prints it on stdout. */
function npmError(r: NpmResult): { code?: string; summary?: string } {
  try {
    const parsed = JSON.parse(r.stdout) as { error?: { code?: string; summary?: string } };
    if (parsed.error) return parsed.error;
  } catch {
    // Not JSON: an npm that does not know --json, or a crash. Read stderr below.
  }
  const code = /npm error code (\S+)/.exec(r.stderr)?.[1];
  const summary = r.stderr
    .split("\n")
    .find((l) => l.startsWith("npm error ") && !l.startsWith("npm error code"));
  return { code, summary: summary?.slice("npm error ".length) };
}

function installFailure(
  shown: string,
  name: string,
  range: string | undefined,
  registry: string,
  r: NpmResult,
  ourRetryPolicy: boolean,
  versions: string,
): HlnError {
  const e = npmError(r);
  const code = e.code ?? "";
  const summary = (e.summary ?? `npm exited with code ${r.code}`).split("\n")[0]!;
  if (code === "E404")
    return new HlnError("E_USAGE", `${shown}: no package ${name} on ${registry}`);
  if (code === "ETARGET")
    return new HlnError(
      "E_USAGE",
      `${shown}: no version of ${name} matches ${range === undefined ? "latest" : `"${range}"`} on ${registry}${versions}`,
    );
  const reached = /request to (\S+) failed/.exec(summary)?.[1];
  const why = /reason: (.*)$/.exec(summary)?.[1] ?? code;
  if (unreachable.has(code) || /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN)/.test(why))
    return new HlnError(
      "E_USAGE",
      `${shown}: cannot reach the npm registry ${reached ? new URL(reached).origin : registry}/ (${why})${ourRetryPolicy ? `; ${retryPolicy}` : ""}`,
    );
  return new HlnError(
    "E_USAGE",
    `${shown}: npm install failed: ${code ? `${code}: ` : ""}${summary}`,
  );
}
