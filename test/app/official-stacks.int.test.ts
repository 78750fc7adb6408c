/**
 * The official stacks, deployed with `hln up` as a user would on a fresh machine: the
 * images build from debian:bookworm-slim with Debian's packages, the app converges on the
 * local engine, and a request reaches what it should. Wall times are printed for the
 * closing notes, never asserted.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import type { Engine } from "../../src/engine/engine.js";
import { appContainers } from "../helpers/app-on-engine.js";
import { nonce, requireEngine } from "../helpers/engine.js";
import { freePort } from "../helpers/free-port.js";
import { type CliResult, runCli } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const stateHome = tempDir("hln-official-state-");
const password = `pw-${randomBytes(9).toString("hex")}`;
const env = { XDG_STATE_HOME: stateHome, WEB_API_DB_PASSWORD: password, HLN_LOG_FORMAT: "plain" };
const timings: string[] = [];
let engine: Engine;
const apps: string[] = [];

interface Inspected {
  Id: string;
  Name: string;
  State: { StartedAt: string };
}

function containersOf(app: string): Promise<Inspected[]> {
  return appContainers<Inspected>(engine.docker, app);
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}:\n${r.stderr.slice(-4000)}`);
  return r;
}

/**
 * Whether any file of the images (as one `docker save` of them all, so shared layers come
 * once), gzip-unpacked, holds one of `needles`.
 */
async function imagesHold(refs: readonly string[], needles: readonly string[]): Promise<boolean> {
  const query = refs.map((r) => `names=${encodeURIComponent(r)}`).join("&");
  const res = await engine.docker.stream("GET", `/images/get?${query}`);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const tar = Buffer.concat(chunks);
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = Number.parseInt(header.subarray(124, 136).toString("latin1").trim() || "0", 8);
    const body = tar.subarray(at + 512, at + 512 + size);
    const bytes = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
    if (needles.some((n) => bytes.includes(n))) return true;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return false;
}

before(async () => {
  engine = await requireEngine();
});

after(async () => {
  for (const app of apps) await runCli(["down", app, "-y", "--volumes"], { env });
  engine.close();
  process.stdout.write(`# official stacks\n${timings.map((l) => `#   ${l}`).join("\n")}\n`);
});

describe("web-api-db", () => {
  const app = `w${nonce()}`;
  apps.push(app);
  let port: number;
  let first: Inspected[];
  const printed: string[] = [];

  it("comes up: a request through nginx reaches a row in PostgreSQL", async () => {
    port = await freePort();
    const r = ok(
      await runCli(["up", app, "-s", "web-api-db", "--set", `port=${port}`], {
        env,
        timeoutMs: 1_500_000,
      }),
      "up",
    );
    printed.push(r.stdout, r.stderr);
    timings.push(`web-api-db: first up ${Math.round(r.ms / 1000)} s`);
    assert.match(r.stdout, new RegExp(`url: http://127\\.0\\.0\\.1:${port}`));
    const items = (await (await fetch(`http://127.0.0.1:${port}/api/items`)).json()) as {
      greeting: string;
      items: { name: string }[];
    };
    assert.equal(items.greeting, "hello");
    assert.ok(items.items.length > 0, JSON.stringify(items));
    first = await containersOf(app);
    assert.deepEqual(
      first.map((c) => c.Name),
      ["api", "db", "migrate", "web"].map((s) => `/hln-${app}-${s}`),
    );
  });

  it("changes nothing on a second up: every step cached, no container touched", async () => {
    const r = ok(
      await runCli(["up", app, "-s", "web-api-db", "--set", `port=${port}`], { env }),
      "no-op up",
    );
    printed.push(r.stdout, r.stderr);
    timings.push(`web-api-db: no-op up ${Math.round(r.ms)} ms`);
    assert.match(r.stdout, /is up to date/);
    // Every step that builds (a Dockerfile's RUN and COPY, named "[stage n/m] ...") came
    // from the cache; reading the contexts and exporting are not build steps.
    const names = new Map<string, string>();
    const cached = new Set<string>();
    for (const line of r.stderr.split("\n")) {
      const m = /^#(\d+) (.*)$/.exec(line);
      if (!m) continue;
      const [, n, rest] = m as unknown as [string, string, string];
      if (rest === "CACHED") cached.add(n);
      else if (!names.has(n)) names.set(n, rest);
    }
    const steps = [...names].filter(
      ([, name]) =>
        name.startsWith("[") && !name.startsWith("[internal]") && !/\] FROM /.test(name),
    );
    assert.ok(steps.length >= 8, `${steps.length} build steps seen`);
    assert.deepEqual(
      steps.filter(([n]) => !cached.has(n)).map(([, name]) => name),
      [],
    );
    const now = await containersOf(app);
    assert.deepEqual(
      now.map((c) => [c.Id, c.State.StartedAt]),
      first.map((c) => [c.Id, c.State.StartedAt]),
    );
  });

  it("with the ledger (a user's default), an unchanged up asks BuildKit nothing", async () => {
    // The first run records the Dockerfile builds, the second the exports built on them;
    // from then on the whole up is answered by the ledger and the Docker engine's API.
    const cache = tempDir("hln-official-ledger-");
    const withLedger = { env: { ...env, HLN_NO_LEDGER: "", XDG_CACHE_HOME: cache } };
    const args = ["up", app, "-s", "web-api-db", "--set", `port=${port}`];
    ok(await runCli(args, withLedger), "up recording the ledger");
    ok(await runCli(args, withLedger), "up recording the ledger");
    const r = ok(await runCli(args, withLedger), "up from the ledger");
    timings.push(`web-api-db: no-op up from the ledger ${Math.round(r.ms)} ms`);
    assert.match(r.stdout, /is up to date/);
    assert.match(r.stderr, /^hln: \d+ results from the ledger, unchanged since /m);
    // No build step, context transfer or export was reported: nothing ran on BuildKit.
    assert.doesNotMatch(r.stderr, /^#\d+ /m);
    const now = await containersOf(app);
    assert.deepEqual(
      now.map((c) => [c.Id, c.State.StartedAt]),
      first.map((c) => [c.Id, c.State.StartedAt]),
    );
  });

  it("recreates only the api when the greeting changes, saying why", async () => {
    const r = ok(
      await runCli(
        ["up", app, "-s", "web-api-db", "--set", `port=${port}`, "--set", "greeting=bonjour"],
        { env },
      ),
      "up with a new greeting",
    );
    printed.push(r.stdout, r.stderr);
    assert.match(r.stderr, /api: recreating \(env GREETING changed\)/);
    assert.doesNotMatch(r.stderr, /(db|web): recreating|migrate: running/);
    const now = await containersOf(app);
    const id = (list: Inspected[], s: string) =>
      list.find((c) => c.Name === `/hln-${app}-${s}`)?.Id;
    for (const s of ["db", "migrate", "web"]) assert.equal(id(now, s), id(first, s), s);
    assert.notEqual(id(now, "api"), id(first, "api"));
    const items = (await (await fetch(`http://127.0.0.1:${port}/api/items`)).json()) as {
      greeting: string;
    };
    assert.equal(items.greeting, "bonjour");
  });

  it("keeps the password out of inspect, labels, state, images and everything printed", async () => {
    const files = readdirSync(stateHome, { recursive: true }).map(String);
    const inspected = JSON.stringify(
      await Promise.all(
        (await containersOf(app)).map((c) => engine.docker.json("GET", `/containers/${c.Id}/json`)),
      ),
    );
    const stateDir = files
      .filter((f) => f.endsWith(`${app}.json`))
      .map((f) => readFileSync(join(stateHome, f), "utf8"))
      .join("\n");
    assert.match(stateDir, /"env:WEB_API_DB_PASSWORD"/, files.join(" "));
    const images = await engine.docker.json<{ RepoTags: string[] | null }[]>(
      "GET",
      `/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [`hln/${app}/*`] }))}`,
    );
    const tags = images.flatMap((i) => i.RepoTags ?? []);
    assert.ok(tags.length >= 3, tags.join(" "));
    const forms = [password, Buffer.from(password).toString("base64")];
    for (const [what, text] of [
      ["docker inspect", inspected],
      ["the state file", stateDir],
      ["hln's output", printed.join("\n")],
    ] as const)
      for (const form of forms) assert.ok(!text.includes(form), `${what} holds the password`);
    assert.equal(await imagesHold(tags, forms), false, "an image layer holds the password");
  });

  it("goes down leaving no container, network or state, and keeps the database volume", async () => {
    // The stack has no down action: its inputs (the password) are not needed to take it down.
    const r = ok(
      await runCli(["down", app, "-y"], { env: { ...env, WEB_API_DB_PASSWORD: "" } }),
      "down",
    );
    assert.doesNotMatch(r.stderr, /warning/);
    assert.match(r.stdout, new RegExp(`kept volume hln-${app}-db-data`));
    assert.deepEqual(await containersOf(app), []);
    assert.ok(
      !readdirSync(stateHome, { recursive: true })
        .map(String)
        .some((f) => f.endsWith(`${app}.json`)),
    );
    const vols = await engine.docker.json<{ Volumes: { Name: string }[] | null }>(
      "GET",
      `/volumes?filters=${encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }))}`,
    );
    assert.deepEqual(
      (vols.Volumes ?? []).map((v) => v.Name),
      [`hln-${app}-db-data`],
    );
  });
});

describe("node-api", () => {
  const app = `n${nonce()}`;
  apps.push(app);
  const dir = join(tempDir("hln-node-api-"), "svc");

  it("scaffolds a service into an empty directory, tests it, and deploys it healthy", async () => {
    const port = await freePort();
    const r = ok(
      await runCli(["up", app, "-s", "node-api", "--set", `dir=${dir}`, "--set", `port=${port}`], {
        env,
        timeoutMs: 1_200_000,
      }),
      "up",
    );
    timings.push(`node-api: first up ${Math.round(r.ms / 1000)} s`);
    assert.ok(existsSync(join(dir, "package.json")));
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200);
    const again = ok(
      await runCli(["up", app, "-s", "node-api", "--set", `dir=${dir}`, "--set", `port=${port}`], {
        env,
      }),
      "no-op up",
    );
    timings.push(`node-api: no-op up ${Math.round(again.ms)} ms`);
    assert.match(again.stdout, /is up to date/);
  });
});
