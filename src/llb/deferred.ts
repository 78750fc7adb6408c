/**
 * An output whose vertex is known only once the engine has answered: the result of a
 * frontend (a Dockerfile build) that runs inside the same build as what is built on it.
 * Graphs are built on it synchronously; it takes the result's exact op bytes and digest
 * when it is resolved, which must happen before any graph that reaches it is marshaled.
 */
import { HlnError } from "../errors.js";
import {
  isMarshaled,
  marshalVertex,
  type Output,
  pinMarshaled,
  postOrder,
  type Vertex,
  type VertexMetadata,
} from "./vertex.js";

export interface DeferredOutput {
  readonly output: Output;
  readonly resolved: boolean;
  /** Makes `output` stand for `target`, for good. */
  resolve(target: Output): void;
}

const deferred = new WeakMap<Vertex, DeferredOutput>();
const noMetadata: VertexMetadata = Object.freeze({ description: Object.freeze({}), caps: [] });

/**
 * A placeholder output, named by `what` in the error raised if it is marshaled before it
 * is resolved. Until then it is a leaf: walks over the graph stop at it.
 */
export function deferredOutput(what: string): DeferredOutput {
  let target: Output | undefined;
  const vertex = Object.freeze(
    Object.defineProperties({} as Vertex, {
      inputs: { get: () => target?.vertex.inputs ?? [], enumerable: true },
      op: {
        get: () => {
          if (!target) throw new HlnError("E_INTERNAL", `${what} was needed before it was built`);
          return target.vertex.op;
        },
        enumerable: true,
      },
      platform: { get: () => target?.vertex.platform, enumerable: true },
      metadata: { get: () => target?.vertex.metadata ?? noMetadata, enumerable: true },
    }),
  );
  const output = Object.freeze(
    Object.defineProperties({} as Output, {
      vertex: { value: vertex, enumerable: true },
      index: { get: () => target?.index ?? 0, enumerable: true },
    }),
  );
  const handle: DeferredOutput = {
    output,
    get resolved() {
      return target !== undefined;
    },
    resolve(t) {
      if (target) throw new HlnError("E_INTERNAL", `${what} was resolved twice`);
      target = t;
      // The same bytes as the target: the engine must see the vertex it built.
      pinMarshaled(vertex, marshalVertex(t.vertex));
    },
  };
  deferred.set(vertex, handle);
  return handle;
}

/** The placeholders below `outputs` still waiting for their result, innermost first. */
export function pendingDeferred(outputs: readonly Output[]): DeferredOutput[] {
  const out: DeferredOutput[] = [];
  const seen = new Set<DeferredOutput>();
  for (const o of outputs) {
    for (const v of postOrder(o.vertex, (u) => !isMarshaled(u))) {
      const d = deferred.get(v);
      if (d && !d.resolved && !seen.has(d)) {
        seen.add(d);
        out.push(d);
      }
    }
  }
  return out;
}
