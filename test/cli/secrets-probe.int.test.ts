/**
 * One secret value taken through `hln up` three ways (a build step's environment variable,
 * a build step's mounted secret, a service's runtime secret file), under every progress
 * format; then every place hln or the engine keeps something is searched for it: the solve
 * requests hln sent (HLN_DEBUG_LLB_DIR), progress, the state and cache directories,
 * `docker inspect` of the app's objects, the engine's build history and every layer of
 * every image the app runs. The search looks for the value, its base64 (standard and
 * url-safe, and as it sits inside a longer base64 blob at each of the three alignments),
 * its hex, and any 12-character piece of it (a truncated or wrapped line), in the raw bytes
 * and, for text, with ANSI escapes and all whitespace removed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as zlib from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fileDesc, serviceDesc } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { httpStatus } from "../../src/docker/client.js";
import type { Engine } from "../../src/engine/engine.js";
import { SolveRequestSchema } from "../../src/gen/buildkit/control_pb.js";
import { ReturnRequestSchema } from "../../src/gen/buildkit/gateway_pb.js";
import { H2cSessionManager } from "../../src/transport/h2c.js";
import { nonce, removeImagesMatching, requireEngine } from "../helpers/engine.js";
import { type CliResult, repoRoot, runCli, runProgram } from "../helpers/run-cli.js";
import { tempDir } from "../helpers/temp-dir.js";

const stackSource = `import { defineStack } from "hln";
export default defineStack({
  name: "secret-probe",
  version: "1.0.0",
  inputs: {
    token: { type: "secret", env: "PROBE_TOKEN" },
    round: { type: "string", default: "" },
    crash: { type: "boolean", default: false },
  },
  actions: {
    async up({ dag, inputs, app }) {
      const t = inputs.token;
      const built = dag.container().from("busybox")
        .withSecretVariable("TOKEN", t)
        .withMountedSecret("/run/secrets/build-token", t)
        .withExec(["sh", "-c", [
          "echo round " + inputs.round,
          'echo "env=$TOKEN"',
          'echo "file=$(cat /run/secrets/build-token)"',
          'printf %s "$TOKEN" | base64',
          'printf xy%s "$TOKEN" | base64',
          'echo "stderr=$TOKEN" >&2',
          // The value in two writes with a pause between: it reaches hln in two pieces.
          'printf "split=%s" "$(echo "$TOKEN" | cut -c1-12)"; sleep 1; echo "$TOKEN" | cut -c13-',
          '[ "$(cat /run/secrets/build-token)" = "$TOKEN" ] && echo same > /same.txt',
        ].join("; ")]);
      const same = (await built.file("/same.txt").contents()).trim();
      app.service("svc", built, {
        // A crashing service prints its secret file: hln shows the log's last lines.
        command: inputs.crash
          ? ["sh", "-c", "echo crash=$(cat /run/secrets/token); exit 3"]
          : ["sh", "-c", "test -s /run/secrets/token && exec sleep 3600"],
        secrets: { "/run/secrets/token": t },
        volumes: { "/data": app.volume("data") },
      });
      return { same };
    },
  },
});
`;

// Letters and digits only, so no encoding (JSON, a shell, a terminal) changes it in transit.
const secret = `S${randomBytes(30).toString("base64url").replace(/[-_]/g, "x")}`;
const dir = tempDir("hln-secrets-probe-");
const stackDir = join(dir, "stack");
const stateHome = join(dir, "state");
const cacheHome = join(dir, "cache");
const llbDir = join(dir, "llb");
mkdirSync(stackDir);
writeFileSync(join(stackDir, "stack.ts"), stackSource);
const env = {
  PROBE_TOKEN: secret,
  XDG_STATE_HOME: stateHome,
  XDG_CACHE_HOME: cacheHome,
  HLN_DEBUG_LLB_DIR: llbDir,
  // The ledger on: its entries are one of the places searched.
  HLN_NO_LEDGER: "",
};
const n = nonce();
const apps = {
  plain: `sp${n}p`,
  json: `sp${n}j`,
  tty: `sp${n}t`,
  quiet: `sp${n}q`,
  crash: `sp${n}c`,
};
let engine: Engine;

// ---- the needles -------------------------------------------------------------------------

interface Needle {
  form: string;
  bytes: Buffer;
}

function needles(value: string): Needle[] {
  const b = Buffer.from(value);
  const out = new Map<string, string>();
  const add = (form: string, text: string) => {
    if (!out.has(text)) out.set(text, form);
  };
  add("value", value);
  add("base64", b.toString("base64"));
  add("base64url", b.toString("base64url"));
  add("hex", b.toString("hex"));
  add("HEX", b.toString("hex").toUpperCase());
  // Inside a longer base64 blob the value starts at byte 0, 1 or 2 of a 3-byte group; the
  // characters that depend on its neighbours are cut off.
  for (const pad of ["", "a", "ab"]) {
    const core = Buffer.from(pad + value)
      .toString("base64")
      .slice(4, -4);
    add(`base64 at offset ${pad.length}`, core);
    add(`base64url at offset ${pad.length}`, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  // A truncated or wrapped line keeps a piece: any 12 characters of the value, any 16 of a
  // base64 form (a chance match in a few hundred MB is below 1e-12).
  for (const [text, form] of [...out]) {
    const width = form === "value" ? 12 : form.startsWith("base64") ? 16 : 0;
    for (let i = 0; width && i + width <= text.length; i++)
      add(`${form}[${i}..${i + width}]`, text.slice(i, i + width));
  }
  return [...out].map(([text, form]) => ({ form, bytes: Buffer.from(text) }));
}

const all = needles(secret);

/** Where the needles occur in `hay`, as merged [start, end) ranges with the forms that hit. */
function occurrences(hay: Buffer): { count: number; forms: string[] } {
  const ranges: [number, number][] = [];
  const forms = new Set<string>();
  for (const nd of all) {
    for (let i = hay.indexOf(nd.bytes); i !== -1; i = hay.indexOf(nd.bytes, i + 1)) {
      ranges.push([i, i + nd.bytes.length]);
      forms.add(nd.form.replace(/\[.*$/, " (piece)"));
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let count = 0;
  let end = -1;
  for (const [s, e] of ranges) {
    if (s >= end) count++;
    end = Math.max(end, e);
  }
  return { count, forms: [...forms] };
}

/** Text as a terminal shows it, with nothing between the characters: no escapes, no spaces, no line breaks. */
function squeezed(text: Buffer): Buffer {
  return Buffer.from(
    text
      .toString("latin1")
      // CSI and OSC sequences, then any other ESC pair.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is removed
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b./g, "")
      .replace(/\s+/g, ""),
    "latin1",
  );
}

interface Place {
  place: string;
  files: number;
  bytes: number;
  found: number;
  forms: Set<string>;
}

const places = new Map<string, Place>();

function scan(place: string, what: string, data: Buffer, text = false): void {
  const p = places.get(place) ?? { place, files: 0, bytes: 0, found: 0, forms: new Set() };
  places.set(place, p);
  p.files++;
  p.bytes += data.length;
  const raw = occurrences(data);
  const flat = text ? occurrences(squeezed(data)) : { count: 0, forms: [] };
  const found = Math.max(raw.count, flat.count);
  if (found > 0) {
    p.found += found;
    for (const f of [...raw.forms, ...flat.forms]) p.forms.add(`${what}: ${f}`);
  }
}

function walk(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

// ---- the engine's build history, through a client of our own ---------------------------

/**
 * BuildKit's Control.ListenBuildHistory, which hln's generated subset leaves out. The
 * record is declared as bytes: the test searches it whole, whatever its fields.
 */
const historyFile = fileDesc(
  Buffer.from(
    toBinary(
      FileDescriptorProtoSchema,
      create(FileDescriptorProtoSchema, {
        name: "hln-test/history.proto",
        package: "moby.buildkit.v1",
        syntax: "proto3",
        messageType: [
          {
            name: "BuildHistoryRequest",
            field: [
              { name: "ActiveOnly", number: 1, type: 8, label: 1, jsonName: "ActiveOnly" },
              { name: "Ref", number: 2, type: 9, label: 1, jsonName: "Ref" },
              { name: "EarlyExit", number: 3, type: 8, label: 1, jsonName: "EarlyExit" },
            ],
          },
          {
            name: "BuildHistoryEvent",
            field: [
              { name: "type", number: 1, type: 5, label: 1, jsonName: "type" },
              { name: "record", number: 2, type: 12, label: 1, jsonName: "record" },
            ],
          },
        ],
        service: [
          {
            name: "Control",
            method: [
              {
                name: "ListenBuildHistory",
                inputType: ".moby.buildkit.v1.BuildHistoryRequest",
                outputType: ".moby.buildkit.v1.BuildHistoryEvent",
                serverStreaming: true,
              },
            ],
          },
        ],
      }),
    ),
  ).toString("base64"),
);

/**
 * The engine's build-history records (finished builds included) of the builds named by
 * `refs`, raw. Asking by ref: the engine may hold thousands of other builds' records.
 */
async function buildHistory(refs: Iterable<string | undefined>): Promise<Buffer[]> {
  const manager = new H2cSessionManager(() => engine.docker.upgrade("/grpc", {}), "history");
  try {
    const transport = createGrpcTransport({
      baseUrl: manager.authority,
      sessionManager: manager,
      readMaxBytes: 64 << 20,
    });
    const client = createClient(serviceDesc(historyFile, 0), transport) as unknown as {
      listenBuildHistory(
        req: { Ref: string; EarlyExit: boolean },
        o: { signal: AbortSignal },
      ): AsyncIterable<{ record: Uint8Array }>;
    };
    const each = await Promise.all(
      [...refs].map(async (ref) => {
        const out: Buffer[] = [];
        for await (const ev of client.listenBuildHistory(
          { Ref: ref ?? "", EarlyExit: true },
          { signal: AbortSignal.timeout(30_000) },
        )) {
          out.push(Buffer.from(ev.record));
          // Without a ref: any one record, to try the filter on.
          if (ref === undefined) break;
        }
        return out;
      }),
    );
    return each.flat();
  } finally {
    manager.close();
  }
}

/** A history record's Ref (field 1, a string). */
function recordRef(record: Buffer): string {
  if (record[0] !== 0x0a) return "";
  let len = 0;
  let shift = 0;
  let i = 1;
  for (; record[i]! & 0x80; i++, shift += 7) len |= (record[i]! & 0x7f) << shift;
  len |= record[i]! << shift;
  return record.subarray(i + 1, i + 1 + len).toString();
}

// ---- images ------------------------------------------------------------------------------

/** The entries of a tar: name and the bytes of its content. */
function* tarEntries(tar: Buffer): Generator<{ name: string; data: Buffer }> {
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) return;
    const name = header.subarray(0, 100).toString().replace(/\0.*$/s, "");
    const size = Number.parseInt(
      header.subarray(124, 136).toString().replace(/\0.*$/s, "").trim() || "0",
      8,
    );
    yield { name, data: tar.subarray(off + 512, off + 512 + size) };
    off += 512 + Math.ceil(size / 512) * 512;
  }
}

function decompressed(blob: Buffer): Buffer | undefined {
  if (blob.length < 4) return undefined;
  if (blob[0] === 0x1f && blob[1] === 0x8b) return zlib.gunzipSync(blob);
  if (blob.readUInt32LE(0) === 0xfd2fb528) {
    const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer })
      .zstdDecompressSync;
    assert.ok(zstd, "a zstd layer, and this Node cannot decompress zstd");
    return zstd(blob);
  }
  return undefined;
}

async function bytesOf(path: string): Promise<Buffer> {
  const res = await engine.docker.stream("GET", path);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

// ---- the runs ----------------------------------------------------------------------------

function up(app: string, format: string, args: string[]): Promise<CliResult> {
  return runCli(["--log-format", format, "up", app, "--dir", stackDir, ...args], {
    env,
    timeoutMs: 300_000,
  });
}

/** `hln up` under a pseudo-terminal 37 columns wide, in colour: the live step list. */
function upInTerminal(app: string, args: string[]): Promise<CliResult> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const cmd = [process.execPath, join(repoRoot, "bin/hln.js"), "--log-format", "tty", "up", app]
    .concat(["--dir", stackDir, ...args])
    .map(quote)
    .join(" ");
  const { NO_COLOR: _n, CI: _c, ...rest } = process.env;
  return runProgram("script", ["-qefc", `stty cols 37 rows 15; exec ${cmd}`, "/dev/null"], {
    env: { ...rest, ...env, TERM: "xterm-256color" },
    timeoutMs: 300_000,
  });
}

before(async () => {
  engine = await requireEngine();
});

after(async () => {
  // Straight through the Docker API: four `hln down` processes cost more than the test.
  const del = async (path: string) => {
    // A volume can stay "in use" for a moment after its container went.
    for (let i = 0; ; i++) {
      try {
        return await engine.docker.json("DELETE", path);
      } catch (err) {
        if (httpStatus(err) === 404) return;
        if (i === 5) return console.error(`cleanup: ${path}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  await Promise.all(
    Object.values(apps).map(async (app) => {
      const filters = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
      const containers = await engine.docker.json<{ Id: string }[]>(
        "GET",
        `/containers/json?all=1&filters=${filters}`,
      );
      await Promise.all(containers.map((c) => del(`/containers/${c.Id}?force=1&v=1`)));
      const networks = await engine.docker.json<{ Id: string }[]>(
        "GET",
        `/networks?filters=${filters}`,
      );
      await Promise.all(networks.map((x) => del(`/networks/${x.Id}`)));
      const volumes = await engine.docker.json<{ Volumes: { Name: string }[] | null }>(
        "GET",
        `/volumes?filters=${filters}`,
      );
      await Promise.all((volumes.Volumes ?? []).map((v) => del(`/volumes/${v.Name}`)));
      await removeImagesMatching(engine, `hln/${app}/*`);
    }),
  );
  engine.close();
});

describe("a secret through hln up", () => {
  it("the probe finds every form it looks for (engine-free check of the needles)", () => {
    const hit = (text: string | Buffer, flat = false) => {
      const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
      return occurrences(flat ? squeezed(b) : b).count;
    };
    const b = Buffer.from(secret);
    assert.equal(hit(`x${secret}y`), 1);
    assert.equal(hit(b.toString("hex")), 1);
    assert.equal(hit(b.toString("base64url")), 1);
    for (const pad of ["u", "us", "use"])
      assert.equal(hit(Buffer.from(`${pad}:${secret}!`).toString("base64")), 1, pad);
    // Cut off at the edge of a narrow terminal, and wrapped across lines with escapes.
    assert.equal(hit(`=> # env=${secret.slice(0, 14)}`), 1);
    const wrapped = `${secret.slice(0, 10)}\x1b[39m\r\n\x1b[2K\x1b[34m  ${secret.slice(10)}`;
    assert.equal(hit(wrapped), 1, "wrapped: the pieces alone are longer than 12");
    assert.equal(hit(`${secret.slice(0, 6)}\r\n\x1b[2K${secret.slice(6)}`, true), 1);
    assert.equal(hit(`${secret.slice(0, 11)} ${secret.slice(11, 22)}`), 0);
    assert.equal(hit("nothing here"), 0);
  });

  it("reaches the build step and the service, and no trace of it is left anywhere", async (t) => {
    const started = Date.now();
    // Each format gets its own app and round, so that the step really runs under it.
    // At once: one after another they took twice as long.
    const [plain, json, tty, quiet, crash] = await Promise.all([
      up(apps.plain, "plain", ["--set", `round=p${n}`]),
      up(apps.json, "json", ["--set", `round=j${n}`]),
      upInTerminal(apps.tty, ["--set", `round=t${n}`]),
      up(apps.quiet, "quiet", ["--set", `round=q${n}`]),
      up(apps.crash, "plain", ["--set", `round=p${n}`, "--set", "crash=true"]),
    ]);
    const runs = { plain, json, tty, crash, quiet };
    for (const [name, r] of Object.entries(runs)) {
      if (name === "crash") continue;
      assert.equal(r.code, 0, `${name}: ${r.stderr}${name === "tty" ? r.stdout : ""}`);
    }
    t.diagnostic(`runs took ${Date.now() - started} ms`);

    // The secret did reach the build step (both ways) and the service, and was redacted.
    assert.match(plain.stdout, /same: same/);
    assert.match(plain.stderr, /env=\*\*\*/);
    assert.match(json.stdout + json.stderr, /env=\*\*\*/);
    assert.match(tty.stdout, /env=\*\*\*/);
    assert.notEqual(crash.code, 0);
    assert.notEqual(crash.code, 70);
    // hln showed the crashed service's last lines, which held the value: redacted.
    assert.match(crash.stderr, /crash=\*\*\*/);
    const svc = await engine.docker.json<{ State: { Running: boolean } }>(
      "GET",
      `/containers/hln-${apps.plain}-svc/json`,
    );
    assert.equal(svc.State.Running, true, "the service found its secret file and runs");

    // (b) progress, every format, stdout and stderr.
    for (const [name, r] of Object.entries(runs)) {
      scan("progress (stdout+stderr)", `${name} stdout`, Buffer.from(r.stdout), true);
      scan("progress (stdout+stderr)", `${name} stderr`, Buffer.from(r.stderr), true);
    }

    // (a) the solve requests hln sent; they must hold the graph that names the secret.
    const refs = new Set<string>();
    let mounts = 0;
    let configs = 0;
    for (const f of walk(llbDir)) {
      const data = readFileSync(f);
      scan("solve requests sent (HLN_DEBUG_LLB_DIR)", f, data);
      if (data.includes("/run/secrets/build-token")) mounts++;
      if (f.endsWith("-solve.pb")) refs.add(fromBinary(SolveRequestSchema, data).ref);
      if (f.endsWith("-return.pb"))
        configs += Number(
          "containerimage.config" in fromBinary(ReturnRequestSchema, data).result!.metadata,
        );
    }
    assert.ok(configs > 0, "the dump holds the image config the build returned");
    assert.ok(mounts > 0, "the dump holds the step that mounts the secret");

    // (c) the state directory (app state, locks, the fingerprint key); the ledger and the
    // stack-bundle cache.
    for (const f of walk(stateHome)) scan("state directory", f, readFileSync(f), true);
    for (const f of walk(cacheHome))
      scan("ledger and stack-bundle cache", f, readFileSync(f), true);
    assert.ok(walk(join(cacheHome, "hln", "ledger")).length > 0, "the ledger kept entries");

    // (d) docker inspect of everything the apps own.
    const images = new Set<string>();
    for (const app of Object.values(apps)) {
      const filters = encodeURIComponent(JSON.stringify({ label: [`dev.hln.app=${app}`] }));
      const containers = await engine.docker.json<{ Id: string; ImageID: string }[]>(
        "GET",
        `/containers/json?all=1&filters=${filters}`,
      );
      for (const c of containers) {
        images.add(c.ImageID);
        const body = await bytesOf(`/containers/${c.Id}/json`);
        scan("docker inspect", `container ${c.Id}`, body, true);
      }
      const tagged = await engine.docker.json<{ Id: string }[]>(
        "GET",
        `/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [`hln/${app}/*`] }))}`,
      );
      for (const i of tagged) images.add(i.Id);
      const networks = await engine.docker.json<{ Id: string }[]>(
        "GET",
        `/networks?filters=${filters}`,
      );
      for (const net of networks)
        scan("docker inspect", `network ${net.Id}`, await bytesOf(`/networks/${net.Id}`), true);
      const volumes = await engine.docker.json<{ Volumes: { Name: string }[] | null }>(
        "GET",
        `/volumes?filters=${filters}`,
      );
      for (const v of volumes.Volumes ?? [])
        scan("docker inspect", `volume ${v.Name}`, await bytesOf(`/volumes/${v.Name}`), true);
    }
    assert.ok(images.size > 0);
    for (const id of images) {
      scan("docker inspect", `image ${id}`, await bytesOf(`/images/${id}/json`), true);
      scan("docker inspect", `image history ${id}`, await bytesOf(`/images/${id}/history`), true);
    }

    // (e) the engine's build history, for every build this test's runs started (each
    // went through Control.Solve, so the dump names them all). hln's solves are internal
    // builds (src/buildkit/solve.ts), which the engine keeps no record of.
    const historyStarted = Date.now();
    const [someone] = await buildHistory([undefined]);
    if (someone) {
      // The filter works: asked by its ref, a record comes back alone.
      const again = await buildHistory([recordRef(someone)]);
      assert.deepEqual(again.map(recordRef), [recordRef(someone)]);
    } else t.diagnostic("the engine's build history is empty: the ref filter is not tried");
    const records = await buildHistory(refs);
    for (const r of records) assert.ok(refs.has(recordRef(r)));
    for (const r of records) scan("engine build history", `record ${recordRef(r)}`, r);
    t.diagnostic(
      `build history: ${records.length} records for this test's ${refs.size} builds, read in ${Date.now() - historyStarted} ms`,
    );

    // (f) every layer of every image the apps run, decompressed: contents and tar headers.
    let layers = 0;
    let layerFiles = 0;
    for (const id of images) {
      const archive = await bytesOf(`/images/${id}/get`);
      scan("image layers", `image ${id} archive`, archive);
      for (const e of tarEntries(archive)) {
        const inner = decompressed(e.data);
        if (!inner) continue;
        layers++;
        scan("image layers", `image ${id} ${e.name}`, inner);
        for (const _ of tarEntries(inner)) layerFiles++;
      }
    }
    assert.ok(layers > 0);
    t.diagnostic(`image layers: ${images.size} images, ${layers} layers, ${layerFiles} files`);

    const table = [...places.values()].map(
      (p) => `${p.place} | ${p.files} files, ${p.bytes} bytes | ${p.found} found`,
    );
    for (const row of table) t.diagnostic(row);
    t.diagnostic(`all took ${Date.now() - started} ms`);
    const leaks = [...places.values()].filter((p) => p.found > 0);
    assert.deepEqual(
      leaks.map((p) => `${p.place}: ${[...p.forms].join("; ")}`),
      [],
      "the secret was found",
    );
  });
});
