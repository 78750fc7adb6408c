/**
 * Frontend requests (a Dockerfile build, `Directory.dockerBuild`) whose results are built
 * lazily: a frontend runs inside the first gateway build that needs its result, so what
 * is built on it is solved in that same build (each step reported once) and an image
 * exported straight from it costs one solve. The ledger answers one whose inputs, options
 * and pinned images are unchanged since a run recorded it.
 */
import { debuglog } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import type { GatewayBuild } from "../buildkit/gateway.js";
import { HlnError } from "../errors.js";
import { type Definition, DefinitionSchema } from "../gen/buildkit/ops_pb.js";
import {
  type DeferredOutput,
  deferredOutput,
  fromDefinition,
  type Output,
  pendingDeferred,
  type Vertex,
} from "../llb/index.js";
import type { ImageBase } from "./image-base.js";
import type { Ledger, LedgerKey } from "./ledger.js";

const debug = debuglog("hln:sdk");

/** A frontend request whose result is built in the first build that needs it. */
interface PendingFrontend {
  readonly name: string;
  readonly opts: Record<string, string>;
  readonly inputs: Record<string, Output>;
  /** Told the image config the frontend made. */
  readonly image: ImageBase;
  readonly result: DeferredOutput;
}

export interface FrontendsOptions {
  ledger?: Ledger | undefined;
  /** Run every instruction again (the run's noCache). */
  noCache: boolean;
  /** Told when the result's image config shows a relative path resolved elsewhere. */
  onWarning?: ((message: string) => void) | undefined;
  /** Host directories by their local name in LLB, for the ledger's keys. */
  hostDirectories: ReadonlyMap<string, string>;
  /** The run's Definition of an output (noCache applied). */
  definition: (output: Output) => Definition;
  /** Resolves the image configs the graphs below `outputs` need (see ImageConfigs). */
  resolveImages: (outputs: Output[]) => Promise<void>;
}

export class Frontends {
  readonly #pending = new WeakMap<DeferredOutput, PendingFrontend>();
  readonly #o: FrontendsOptions;

  constructor(options: FrontendsOptions) {
    this.#o = options;
  }

  /** A frontend's result, a placeholder until a build runs the frontend. */
  create(
    name: string,
    options: { opts?: Record<string, string>; inputs?: Record<string, Output>; image: ImageBase },
  ): Output {
    const result = deferredOutput(`the result of ${options.image.ref}`);
    this.#pending.set(result, {
      name,
      opts: options.opts ?? {},
      inputs: options.inputs ?? {},
      image: options.image,
      result,
    });
    return result.output;
  }

  /**
   * Runs in `gw` the frontends the graphs below `outputs` wait on, inner ones first, and
   * returns the IDs of their results in this build.
   */
  async run(gw: GatewayBuild, outputs: Output[]): Promise<Map<Vertex, string>> {
    const ids = new Map<Vertex, string>();
    const ledger = this.#o.ledger;
    for (const deferred of pendingDeferred(outputs)) {
      const f = this.#pending.get(deferred);
      if (!f) throw new HlnError("E_INTERNAL", "a deferred result has no frontend");
      const inputs = Object.values(f.inputs);
      for (const [v, id] of await this.run(gw, inputs)) ids.set(v, id);
      await this.#o.resolveImages(inputs);
      const defs = this.#inputDefinitions(f);
      // `no-cache` is the Dockerfile frontend's own way to run every instruction again.
      const opts = this.#o.noCache ? { ...f.opts, "no-cache": "" } : f.opts;
      // Taken before the engine reads the files, so a change meanwhile is not recorded as seen.
      const memo = await this.#key(f, defs);
      const res = await gw.solveFrontend(f.name, { opts, inputs: defs });
      if (!res.definition) {
        throw new HlnError(
          "E_ENGINE_CAPABILITY",
          `${f.image.ref}: the engine returned no definition for the result (BuildKit too old?)`,
        );
      }
      const config = res.metadata["containerimage.config"] ?? new TextEncoder().encode("{}");
      if (memo && ledger) {
        const answer = await ledger.frontendAnswer(res.definition, config);
        if (answer) await ledger.record(memo, answer);
      }
      // Another build may have run it meanwhile; the result is the same.
      if (!deferred.resolved) this.#settle(deferred, f, config, res.definition);
      ids.set(deferred.output.vertex, res.id);
    }
    return ids;
  }

  /**
   * Resolves from the ledger every frontend `outputs` wait on, inner ones first, when the
   * ledger knows each one's result for the same inputs and its images are unchanged; false
   * (some may be resolved) when one must run on the engine.
   */
  async fromLedger(outputs: Output[]): Promise<boolean> {
    const ledger = this.#o.ledger;
    if (!ledger) return false;
    for (const deferred of pendingDeferred(outputs)) {
      const f = this.#pending.get(deferred);
      if (!f) return false;
      const inputs = Object.values(f.inputs);
      if (!(await this.fromLedger(inputs))) return false;
      await this.#o.resolveImages(inputs);
      const memo = await this.#key(f, this.#inputDefinitions(f));
      const hit = memo && (await ledger.lookup(memo));
      const config = hit?.response?.config;
      if (!hit?.answer || config === undefined || !(await ledger.frontendImagesUnchanged(hit)))
        return false;
      // Another request of this run may have resolved it meanwhile; the result is the same.
      if (deferred.resolved) continue;
      ledger.hit(hit);
      this.#settle(
        deferred,
        f,
        Buffer.from(config, "base64"),
        fromBinary(DefinitionSchema, Buffer.from(hit.answer, "base64")),
      );
    }
    return true;
  }

  /** The Definitions of a frontend's inputs, by input name; their images must be resolved. */
  #inputDefinitions(f: PendingFrontend): Record<string, Definition> {
    const defs: Record<string, Definition> = {};
    for (const [k, o] of Object.entries(f.inputs)) defs[k] = this.#o.definition(o);
    return defs;
  }

  /** Makes a frontend's result known: its image config, then the graph built on it. */
  #settle(deferred: DeferredOutput, f: PendingFrontend, config: Uint8Array, result: Definition) {
    const warning = f.image.resolve(config);
    if (warning) this.#o.onWarning?.(warning);
    deferred.resolve(fromDefinition(result));
  }

  /** The ledger key of a frontend's build of `defs`, or undefined (the reason in the debug log). */
  async #key(f: PendingFrontend, defs: Record<string, Definition>): Promise<LedgerKey | undefined> {
    const ledger = this.#o.ledger;
    if (!ledger) return undefined;
    const key = await ledger.frontendKey(f.name, f.opts, defs, this.#o.hostDirectories);
    if (!("reason" in key)) return key;
    debug("ledger: %s runs on the engine: %s", f.image.ref, key.reason);
    return undefined;
  }
}
