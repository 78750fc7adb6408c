/**
 * The ledger: what each run asked the engine and what it answered, so that a rerun asking
 * the same thing of the same inputs is answered here, without a BuildKit round trip.
 *
 * A request is looked up by a key that covers everything its answer depends on: hln's
 * version, the engine, the request and its arguments, the Definition's bytes, the image
 * ID the Docker engine has now for every image the graph starts from, and a fingerprint
 * of every host directory it would sync (host-fingerprint.ts). What the key cannot cover
 * (a secret's value, a registry or URL, a Dockerfile's FROM resolved inside the engine) is
 * never recorded: such a request always runs on the engine.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { debuglog } from "node:util";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type DockerClient, httpStatus } from "../docker/client.js";
import { type Definition, DefinitionSchema, MountType, OpSchema } from "../gen/buildkit/ops_pb.js";
import { formatPlatform, normalizeImageRef, type Platform } from "../llb/index.js";
import { contentDigest, fingerprintDirectory } from "./host-fingerprint.js";
import { type LedgerEntry, type LedgerStore, ledgerFormat, type RacyFile } from "./ledger-store.js";

const debug = debuglog("hln:ledger");

/** Answers larger than this are not kept: the ledger is for small results, not artifacts. */
export const maxAnswerBytes = 4 << 20;

/** A request answered from the ledger. */
export interface LedgerHit {
  kind: string;
  /** Epoch ms when the answer was recorded. */
  recordedAt: number;
}

export interface LedgerOptions {
  store: LedgerStore;
  /** The Docker engine whose built-in BuildKit runs the requests: image IDs come from it. */
  docker: DockerClient;
  /** The BuildKit's endpoint, so two engines never share answers. */
  endpoint: string;
  signal?: AbortSignal;
  onHit?: (hit: LedgerHit) => void;
  /** Default Date.now. */
  now?: () => number;
  /** Default: the version in hln's package.json. */
  version?: string;
}

/** A request's place in the ledger. */
export interface LedgerKey {
  key: string;
  kind: string;
  /** Synced files compared by content too, with their digests before the request ran. */
  racy: RacyFile[];
}

let packageVersion: string | undefined;
function hlnVersion(): string {
  packageVersion ??= (
    JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    }
  ).version;
  return packageVersion;
}

export class Ledger {
  readonly #store: LedgerStore;
  readonly #docker: DockerClient;
  readonly #endpoint: string;
  readonly #signal: AbortSignal | undefined;
  readonly #onHit: ((hit: LedgerHit) => void) | undefined;
  readonly #now: () => number;
  readonly #version: string;
  /** Image IDs by reference, asked once per run. */
  readonly #imageIds = new Map<string, Promise<string | undefined>>();
  #wrote = false;

  constructor(options: LedgerOptions) {
    this.#store = options.store;
    this.#docker = options.docker;
    this.#endpoint = options.endpoint;
    this.#signal = options.signal;
    this.#onHit = options.onHit;
    this.#now = options.now ?? Date.now;
    this.#version = options.version ?? hlnVersion();
  }

  /**
   * The ID the Docker engine has for `ref` now; undefined when it has none. Asked once per
   * run, unless `fresh` (after this run may have moved the name).
   */
  imageId(ref: string, options: { fresh?: boolean } = {}): Promise<string | undefined> {
    let id = options.fresh ? undefined : this.#imageIds.get(ref);
    if (!id) {
      id = this.#docker
        .json<{ Id?: string }>("GET", `/images/${encodeURIComponent(ref)}/json`, {
          signal: this.#signal,
        })
        .then(
          (r) => r.Id || undefined,
          (err) => {
            if (httpStatus(err) !== 404) debug("inspect %s failed: %s", ref, String(err));
            return undefined;
          },
        );
      if (!options.fresh) this.#imageIds.set(ref, id);
    }
    return id;
  }

  /** The key of an image's config, or undefined when the engine has no such image. */
  async configKey(ref: string, platform: Platform): Promise<LedgerKey | undefined> {
    const normal = normalizedRef(ref);
    const id = normal && (await this.imageId(normal));
    if (!id) {
      debug("image config of %s: not in the Docker engine, not kept", ref);
      return undefined;
    }
    const key = this.#hash("image-config", [normal, formatPlatform(platform), id]);
    return { key, kind: `image config ${ref}`, racy: [] };
  }

  /**
   * The key of a request for `def`, or the reason it has none (the request then runs on
   * the engine, and nothing of it is recorded).
   */
  async requestKey(
    kind: string,
    args: readonly string[],
    def: Definition,
    hostDirectories: ReadonlyMap<string, string>,
  ): Promise<LedgerKey | { reason: string }> {
    const parts = analyse(def);
    if ("reason" in parts) return parts;
    const hash = createHash("sha256");
    // Length-prefixed, so no two different lists of parts hash alike.
    const add = (s: string | Uint8Array) => {
      hash.update(`${s.length}:`);
      hash.update(s);
      hash.update("\n");
    };
    for (const s of [`format ${ledgerFormat}`, this.#version, this.#endpoint, kind, ...args])
      add(s);
    add(toBinary(DefinitionSchema, def));
    for (const ref of parts.images) {
      const id = await this.imageId(ref);
      if (!id) return { reason: `image ${ref} is not in the Docker engine` };
      add(`image ${ref} ${id}`);
    }
    const nowNs = BigInt(this.#now()) * 1_000_000n;
    const racyPaths = new Set<string>();
    for (const local of parts.locals) {
      const root = hostDirectories.get(local.name);
      if (root === undefined)
        return { reason: `local source ${local.name} is not a host directory` };
      try {
        const fp = await fingerprintDirectory(root, { ...local, nowNs, signal: this.#signal });
        add(`local ${local.name} ${fp.digest}`);
        for (const p of fp.racy) racyPaths.add(p);
      } catch (err) {
        // The sync would fail too; the engine's run reports it the way it always does.
        return { reason: `host directory ${root}: ${(err as Error).message}` };
      }
    }
    const racy = await this.#digests([...racyPaths].sort());
    if (!racy) return { reason: "a synced file changed while it was read" };
    return { key: hash.digest("hex"), kind: `${kind} ${args.join(" ")}`.trim(), racy };
  }

  /** The recorded answer for `k`, if its racy files still hold what they held. */
  async lookup(k: LedgerKey): Promise<LedgerEntry | undefined> {
    const entry = await this.#store.get(k.key, this.#signal);
    if (!entry) return undefined;
    if (!(await this.#sameContent(entry.racy))) {
      debug("%s: a synced file changed within its timestamp tick: a miss", k.kind);
      return undefined;
    }
    return entry;
  }

  /** Tells the run a request was answered from the ledger. */
  hit(entry: LedgerEntry): void {
    debug(
      "%s: answered from the ledger (recorded %s)",
      entry.kind,
      new Date(entry.recordedAt).toISOString(),
    );
    if (!entry.kind.startsWith("image config "))
      this.#onHit?.({ kind: entry.kind, recordedAt: entry.recordedAt });
  }

  /**
   * Records what the engine answered for `k`. A failure to write only costs the next run
   * its shortcut, so it is logged, not raised.
   */
  async record(
    k: LedgerKey,
    answer: Omit<LedgerEntry, "format" | "key" | "kind" | "recordedAt" | "racy">,
  ): Promise<void> {
    if (answer.answer !== undefined && answer.answer.length > (maxAnswerBytes * 4) / 3 + 4) {
      debug("%s: answer over %d bytes, not kept", k.kind, maxAnswerBytes);
      return;
    }
    const entry: LedgerEntry = {
      format: ledgerFormat,
      key: k.key,
      kind: k.kind,
      recordedAt: this.#now(),
      racy: k.racy,
      ...answer,
    };
    try {
      await this.#store.put(entry, this.#signal);
      this.#wrote = true;
    } catch (err) {
      debug("%s: not recorded: %s", k.kind, (err as Error).message);
    }
  }

  /** A fingerprint of what an export left at `path`, with its fresh files' digests. */
  async destination(
    path: string,
  ): Promise<{ path: string; digest: string; racy: RacyFile[] } | undefined> {
    try {
      const fp = await fingerprintDirectory(path, {
        nowNs: BigInt(this.#now()) * 1_000_000n,
        signal: this.#signal,
      });
      const racy = await this.#digests(fp.racy);
      return racy && { path, digest: fp.digest, racy };
    } catch (err) {
      debug("destination %s: %s", path, (err as Error).message);
      return undefined;
    }
  }

  /** Whether an export's destination still holds what the recorded export left there. */
  async destinationUnchanged(recorded: LedgerEntry["destination"]): Promise<boolean> {
    if (!recorded) return false;
    try {
      const fp = await fingerprintDirectory(recorded.path, { signal: this.#signal });
      return fp.digest === recorded.digest && (await this.#sameContent(recorded.racy));
    } catch {
      return false;
    }
  }

  /**
   * The key of a Dockerfile build of `inputs` by the engine's built-in frontend, or the
   * reason it has none. Its answer is the Definition the frontend made: the images its FROM
   * lines name are resolved inside the engine and pinned there by digest, so a hit counts
   * only while each name still gives that digest (frontendImagesUnchanged).
   */
  async frontendKey(
    name: string,
    opts: Readonly<Record<string, string>>,
    inputs: Readonly<Record<string, Definition>>,
    hostDirectories: ReadonlyMap<string, string>,
  ): Promise<LedgerKey | { reason: string }> {
    if (name !== "dockerfile.v0") return { reason: `frontend ${name} is not the Dockerfile's` };
    // Another frontend image (a syntax line, a source option) would come from a registry.
    if ("source" in opts || "cmdline" in opts) return { reason: "the frontend is an image" };
    const parts: string[] = [name];
    for (const [k, v] of Object.entries(opts).sort(([a], [b]) => (a < b ? -1 : 1)))
      parts.push(`opt ${k}=${v}`);
    const racy: RacyFile[] = [];
    for (const input of Object.keys(inputs).sort()) {
      const def = inputs[input]!;
      const key = await this.requestKey("frontend input", [input], def, hostDirectories);
      if ("reason" in key) return key;
      if (input === "dockerfile" && this.#namesSyntax(def, opts.filename, hostDirectories))
        return { reason: "the Dockerfile names a frontend image (# syntax=)" };
      parts.push(`input ${input} ${key.key}`);
      racy.push(...key.racy);
    }
    return { key: this.#hash("frontend", parts), kind: `dockerfile ${opts.filename ?? ""}`, racy };
  }

  /**
   * What to record of a frontend's answer: its config and, per image it pinned, the digest
   * its name gives now. Undefined when the answer must not be kept (a secret, a pull, a
   * name that no longer gives the pinned digest).
   */
  async frontendAnswer(
    result: Definition,
    config: Uint8Array,
  ): Promise<Omit<LedgerEntry, "format" | "key" | "kind" | "recordedAt" | "racy"> | undefined> {
    const parts = analyse(result);
    if ("reason" in parts) {
      debug("dockerfile build not kept: %s", parts.reason);
      return undefined;
    }
    const response: Record<string, string> = { config: Buffer.from(config).toString("base64") };
    for (const ref of parts.images) {
      const pin = pinnedImage(ref);
      if (!pin || (await this.imageId(pin.name, { fresh: true })) !== pin.digest) {
        debug("dockerfile build not kept: %s is not what its name gives", ref);
        return undefined;
      }
      response[`image ${pin.name}`] = pin.digest;
    }
    return { answer: Buffer.from(toBinary(DefinitionSchema, result)).toString("base64"), response };
  }

  /** Whether every image a recorded frontend answer pinned is still what its name gives. */
  async frontendImagesUnchanged(entry: LedgerEntry): Promise<boolean> {
    for (const [k, digest] of Object.entries(entry.response ?? {})) {
      if (!k.startsWith("image ")) continue;
      if ((await this.imageId(k.slice("image ".length))) !== digest) return false;
    }
    return true;
  }

  /** Whether the Dockerfile that `def` syncs starts with a `# syntax=` parser directive. */
  #namesSyntax(
    def: Definition,
    filename: string | undefined,
    hostDirectories: ReadonlyMap<string, string>,
  ): boolean {
    const parts = analyse(def);
    const root = "reason" in parts ? undefined : hostDirectories.get(parts.locals[0]?.name ?? "");
    // Not a host file (a generated Dockerfile): its bytes are in the Definition itself.
    if (root === undefined) return false;
    try {
      const text = readFileSync(join(root, filename ?? "Dockerfile"), "utf8");
      // Directives come first; any comment line naming one is enough to stay out.
      return text.split("\n", 20).some((line) => /^\s*#\s*syntax\s*=/i.test(line));
    } catch {
      return true;
    }
  }

  /** Ends the run's use of the ledger: keeps it bounded when this run added to it. */
  async close(): Promise<void> {
    if (this.#wrote) await this.#store.prune().catch(() => {});
  }

  #hash(kind: string, parts: string[]): string {
    const hash = createHash("sha256");
    for (const s of [`format ${ledgerFormat}`, this.#version, this.#endpoint, kind, ...parts])
      hash.update(`${s.length}:${s}\n`);
    return hash.digest("hex");
  }

  async #digests(paths: string[]): Promise<RacyFile[] | undefined> {
    const out: RacyFile[] = [];
    for (const path of paths) {
      const digest = await contentDigest(path, this.#signal);
      if (!digest) return undefined;
      out.push({ path, digest });
    }
    return out;
  }

  async #sameContent(racy: readonly RacyFile[]): Promise<boolean> {
    for (const r of racy)
      if ((await contentDigest(r.path, this.#signal)) !== r.digest) return false;
    return true;
  }
}

/**
 * `name[:tag]@sha256:...` as the name to ask the Docker engine for now (the tag, or the
 * digest itself when there is none) and the digest pinned; undefined without a digest.
 */
export function pinnedImage(ref: string): { name: string; digest: string } | undefined {
  const at = ref.lastIndexOf("@");
  if (at < 0) return undefined;
  const digest = ref.slice(at + 1);
  const name = ref.slice(0, at);
  const tagged = name.lastIndexOf(":") > name.lastIndexOf("/");
  return { name: tagged ? name : ref, digest };
}

function normalizedRef(ref: string): string | undefined {
  try {
    return normalizeImageRef(ref);
  } catch {
    return undefined;
  }
}

interface LocalSync {
  name: string;
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
}

/**
 * What a Definition's answer depends on beyond its bytes: the images it starts from and
 * the host directories it syncs. Or why the ledger must not answer it.
 */
export function analyse(
  def: Definition,
): { images: string[]; locals: LocalSync[] } | { reason: string } {
  const images = new Set<string>();
  const locals = new Map<string, LocalSync>();
  for (const md of Object.values(def.metadata))
    if (md.ignoreCache) return { reason: "a step is marked to run again (no-cache)" };
  for (const bytes of def.def) {
    const op = fromBinary(OpSchema, bytes);
    switch (op.op.case) {
      case "source": {
        const { identifier, attrs } = op.op.value;
        const scheme = identifier.slice(0, identifier.indexOf("://"));
        if (scheme === "docker-image") {
          // A pull asks the registry, which the ledger cannot check cheaply.
          if (attrs["image.resolvemode"] === "pull")
            return { reason: `image ${identifier} is pulled on every run` };
          images.add(identifier.slice("docker-image://".length));
        } else if (scheme === "local") {
          const local: LocalSync = {
            name: identifier.slice("local://".length),
            includePatterns: jsonList(attrs["local.includepattern"]),
            excludePatterns: jsonList(attrs["local.excludepatterns"]),
            followPaths: jsonList(attrs["local.followpaths"]),
          };
          locals.set(JSON.stringify(local), local);
        } else {
          return { reason: `source ${scheme}:// is fetched by the engine` };
        }
        break;
      }
      case "exec": {
        const exec = op.op.value;
        if (exec.secretenv.length > 0) return { reason: "a step reads a secret" };
        for (const m of exec.mounts) {
          if (m.mountType === MountType.SECRET) return { reason: "a step reads a secret" };
          if (m.mountType === MountType.SSH) return { reason: "a step uses an SSH agent" };
        }
        break;
      }
      default:
        break;
    }
  }
  return { images: [...images].sort(), locals: [...locals.values()] };
}

function jsonList(attr: string | undefined): string[] | undefined {
  if (attr === undefined) return undefined;
  const list = JSON.parse(attr) as unknown;
  return Array.isArray(list) ? list.map(String) : undefined;
}
