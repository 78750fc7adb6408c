/**
 * A throwaway npm registry on a loopback port, for tests of npm stacks: verdaccio 6.8.0,
 * which `bash scripts/test-deps.sh` installs under /opt/hln-verdaccio. It stores packages
 * in a temporary directory, has no uplinks (it never reaches the internet), and takes
 * anonymous publishes; npm still wants a token to publish, so a temporary npmrc holds a
 * dummy one for this registry only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "./free-port.js";
import { waitReady } from "./wait-ready.js";

export const verdaccioHome = "/opt/hln-verdaccio";
const verdaccioBin = join(verdaccioHome, "node_modules/verdaccio/bin/verdaccio");

export interface TestNpmRegistry {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /**
   * Environment that points npm at this registry (npm_config_registry), with the npmrc
   * holding the publish token and a cache of its own (npm_config_userconfig,
   * npm_config_cache). Merge it into the env of whatever runs npm: locateStack's
   * `env` option, or runCli's.
   */
  readonly env: NodeJS.ProcessEnv;
  /** Publishes a package made of these files (path -> content), e.g. package.json, stack.ts. */
  publish(files: Record<string, string>): Promise<void>;
  /** Stops the registry; its URL then refuses connections. Files stay until `remove`. */
  stop(): Promise<void>;
  /** Stops it if needed and deletes its storage, npmrc and npm cache. Safe to call twice. */
  remove(): Promise<void>;
}

const SETUP_HINT = "run `bash scripts/test-deps.sh` as root to install verdaccio";

/** A loopback port that nothing listens on when this returns: an unreachable registry. */
export async function unusedPort(): Promise<number> {
  return freePort();
}

/**
 * Starts verdaccio and resolves once it answers `GET /-/ping`.
 *
 * @example
 * const npm = await startNpmRegistry();
 * try {
 *   await npm.publish({ "package.json": '{"name":"x","version":"1.0.0","type":"module"}', "stack.ts": "..." });
 *   await locateStack({ kind: "npm", spec: "x" }, { env: { ...process.env, ...npm.env } });
 * } finally { await npm.remove() }
 */
export async function startNpmRegistry(): Promise<TestNpmRegistry> {
  if (!existsSync(verdaccioBin)) throw new Error(`${verdaccioBin} is missing: ${SETUP_HINT}`);
  const dir = await mkdtemp(join(tmpdir(), "hln-npm-registry-"));
  try {
    await writeFile(join(dir, "htpasswd"), "");
    const config = [
      `storage: ${join(dir, "storage")}`,
      "auth:",
      "  htpasswd:",
      `    file: ${join(dir, "htpasswd")}`,
      "    max_users: -1",
      // No uplinks: a package that is not here is a 404, never a fetch from the internet.
      "uplinks: {}",
      "packages:",
      "  '**':",
      "    access: $all",
      "    publish: $anonymous",
      "    unpublish: $anonymous",
      "web:",
      "  enable: false",
      "log: { type: stdout, format: pretty, level: error }",
      "",
    ].join("\n");
    await writeFile(join(dir, "config.yaml"), config);
    let lastError = "";
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/`;
      const child = spawn(
        process.execPath,
        [verdaccioBin, "--config", join(dir, "config.yaml"), "--listen", `127.0.0.1:${port}`],
        { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } },
      );
      let output = "";
      const keep = (s: string) => {
        output = (output + s).slice(-4000);
      };
      child.stdout?.setEncoding("utf8").on("data", keep);
      child.stderr?.setEncoding("utf8").on("data", keep);
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.once("error", () => {});
      if (
        await waitReady(`${url}-/ping`, (status) => status >= 200 && status < 300, exited, 30_000)
      )
        return registry(url, port, dir, child, exited);
      child.kill("SIGKILL");
      await exited;
      lastError = output.trim().split("\n").slice(-3).join(" | ") || "no output";
      if (!/EADDRINUSE/.test(output)) break;
    }
    throw new Error(`verdaccio did not start: ${lastError}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function registry(
  url: string,
  port: number,
  dir: string,
  child: ChildProcess,
  exited: Promise<void>,
): TestNpmRegistry {
  const npmrc = join(dir, "npmrc");
  const env = {
    npm_config_registry: url,
    npm_config_userconfig: npmrc,
    npm_config_cache: join(dir, "npm-cache"),
    npm_config_update_notifier: "false",
  };
  let stopping: Promise<void> | undefined;
  let removing: Promise<void> | undefined;
  let made = 0;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopping;
  };
  const tokenWritten = writeFile(npmrc, `//127.0.0.1:${port}/:_authToken=hln-test\n`);
  return {
    url,
    env,
    async publish(files) {
      await tokenWritten;
      const pkg = join(dir, "packages", String(made++));
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(pkg, path)), { recursive: true });
        await writeFile(join(pkg, path), content);
      }
      await runNpm(["publish", "--registry", url, "--tag", "latest"], pkg, env);
    },
    stop,
    remove() {
      removing ??= (async () => {
        await stop();
        await rm(dir, { recursive: true, force: true });
      })();
      return removing;
    },
  };
}

function runNpm(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stdout.resume();
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`npm ${args.join(" ")} in ${cwd}: ${err.trim()}`)),
    );
  });
}
