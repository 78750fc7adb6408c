/**
 * What `-s` (or `--dir`) names: a stack of the catalogue, an npm package, or a directory
 * on disk. Parsing is pure; finding the stack is catalogue.ts.
 */
import { HlnError } from "../errors.js";

export type StackRef =
  /** `-s hello`, `-s hello@0.1.0`: a bundled stack, else one cached from npm. */
  | { kind: "catalogue"; name: string; version?: string }
  /** `-s npm:@acme/shop@^1.2` gives the spec `@acme/shop@^1.2`, as `npm install` takes it. */
  | { kind: "npm"; spec: string }
  /** `-s ./x`, `-s /abs`, `-s ~/x`, `-s .`, `--dir X`: a directory, or a stack file. */
  | { kind: "directory"; path: string };

const stackName = /^[a-z0-9][a-z0-9-]*$/;
// npm's own rules for package names (validate-npm-package-name), lowercase only as new
// packages must be: an optional @scope/ and a name of URL-safe characters.
const npmName = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/**
 * Reads the value of `-s` (or of the flag named by `from`).
 *
 * @example
 * parseStackRef("hello@0.1.0"); // { kind: "catalogue", name: "hello", version: "0.1.0" }
 * parseStackRef("npm:@acme/shop@^1"); // { kind: "npm", spec: "@acme/shop@^1" }
 * parseStackRef("./my-stack"); // { kind: "directory", path: "./my-stack" }
 */
export function parseStackRef(text: string, from = "-s"): StackRef {
  const usage = (why: string) => new HlnError("E_USAGE", `${from} ${text}: ${why}`);
  if (text === "")
    throw new HlnError("E_USAGE", `${from}: expected a stack name, npm:PACKAGE or a path`);
  // --dir names a directory whatever it looks like, `npm:x` and `name=x` included.
  if (from === "--dir") return { kind: "directory", path: text };
  if (text.startsWith("npm:")) {
    const spec = text.slice(4);
    const { name } = splitNpmSpec(spec);
    if (!npmName.test(name)) throw usage("expected npm:PACKAGE[@RANGE], e.g. npm:@acme/shop@^1.2");
    return { kind: "npm", spec };
  }
  // `-s key=value` was how inputs were set before -s named the stack; a path rarely
  // starts with an input's name and "=".
  if (/^[A-Za-z_][\w.-]*=/.test(text))
    throw usage(
      `${from} names the stack; set inputs with --set KEY=VALUE (-s was --set's short flag before)`,
    );
  if (/^[./~]/.test(text) || text.includes("/")) return { kind: "directory", path: text };
  const at = text.indexOf("@");
  const name = at < 0 ? text : text.slice(0, at);
  const version = at < 0 ? undefined : text.slice(at + 1);
  if (!stackName.test(name) || version === "" || (version !== undefined && /[@\s]/.test(version)))
    throw usage(
      "expected a stack name (lowercase letters, digits, dashes) with an optional @VERSION, npm:PACKAGE, or a path such as ./dir",
    );
  return version === undefined ? { kind: "catalogue", name } : { kind: "catalogue", name, version };
}

/** `@acme/shop@^1` -> `{ name: "@acme/shop", range: "^1" }`; the range may be absent. */
export function splitNpmSpec(spec: string): { name: string; range?: string } {
  const at = spec.indexOf("@", spec.startsWith("@") ? 1 : 0);
  if (at < 0) return { name: spec };
  return { name: spec.slice(0, at), range: spec.slice(at + 1) };
}
