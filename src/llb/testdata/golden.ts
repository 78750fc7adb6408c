/**
 * Computes the golden fixture for a case: what regenerate.ts writes and golden.test.ts
 * compares. Kept separate so the test and the script cannot drift.
 */

import { HlnError } from "../../errors.js";
import { definition, definitionDigests } from "../definition.js";
import type { GoldenCase } from "./golden-cases.js";

export interface GoldenOp {
  readonly digest: string;
  readonly hex: string;
  readonly caps: readonly string[];
  readonly description: Readonly<Record<string, string>>;
  readonly ignoreCache: boolean;
}

export type GoldenFixture =
  | { readonly description: string; readonly def: readonly GoldenOp[] }
  | {
      readonly description: string;
      readonly error: { readonly code: string; readonly message: string };
    };

export function computeGolden(c: GoldenCase): GoldenFixture {
  let def: ReturnType<typeof definition>;
  try {
    def = definition(c.build());
  } catch (err) {
    if (!(err instanceof HlnError)) throw err;
    return { description: c.description, error: { code: err.code, message: err.message } };
  }
  const digests = definitionDigests(def);
  return {
    description: c.description,
    def: def.def.map((bytes, i) => {
      const digest = digests[i]!;
      const md = def.metadata[digest]!;
      return {
        digest,
        hex: Buffer.from(bytes).toString("hex"),
        caps: Object.keys(md.caps),
        description: { ...md.description },
        ignoreCache: md.ignoreCache,
      };
    }),
  };
}
