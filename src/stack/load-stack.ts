/**
 * Loads a stack module: a `.ts` file, or a directory holding `stack.ts`. TypeScript runs
 * without a build step (tsx), and `import ... from "hln"` inside the stack resolves to
 * the hln that is loading it, wherever the stack lives on disk.
 */
import { existsSync, statSync } from "node:fs";
import { register } from "node:module";
import { isAbsolute, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { HlnError } from "../errors.js";
import { isStack, type Stack } from "./define-stack.js";
import { validateStack } from "./validate-stack.js";

let hooked = false;

/** Marks the stack file's URL, so that the resolve hook loads a .js stack as ESM. */
const stackQuery = "hln-stack";

async function installHooks(): Promise<void> {
  if (hooked) return;
  hooked = true;
  // Loaded here, not at start-up: only stacks need a TypeScript loader.
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  const self = new URL("../index.ts", import.meta.url);
  const target = existsSync(self) ? self : new URL("../index.js", import.meta.url);
  // Stacks are ES modules wherever they live: a .ts file outside any package with
  // "type": "module" would otherwise load as CommonJS and fail on its imports. The stack
  // file is one too (marked by the query loadStack adds), even inside node_modules, where
  // npm stacks are installed, and so are the .ts files it imports by relative path (the
  // mark passes on to them); the .js files it imports keep their package's format.
  const hook = `export async function resolve(s, c, next) {
    const r = await next(s === "hln" ? ${JSON.stringify(target.href)} : s, c);
    if (!r.url.startsWith("file:")) return r;
    if (/\\?${stackQuery}$/.test(r.url) ||
        (!r.url.includes("/node_modules/") && /\\.tsx?$/.test(r.url))) {
      return { ...r, format: "module" };
    }
    if (/\\.tsx?$/.test(r.url) && s.startsWith(".") && c.parentURL?.endsWith("?${stackQuery}")) {
      return { ...r, url: r.url + "?${stackQuery}", format: "module" };
    }
    return r;
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

/** The file a `--plan` path names: the path itself, or `stack.ts` inside a directory. */
export function stackFile(path: string): string {
  const abs = resolve(path);
  let st: import("node:fs").Stats;
  try {
    st = statSync(abs);
  } catch {
    throw new HlnError("E_STACK_INVALID", `${path}: no such file or directory`);
  }
  if (!st.isDirectory()) return abs;
  const file = resolve(abs, "stack.ts");
  if (!existsSync(file))
    throw new HlnError("E_STACK_INVALID", `${path}: directory has no stack.ts`);
  return file;
}

/** `file` as a person would type it in `cwd`: relative to it when inside it. */
export function shownPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? file : rel;
}

/** What loadStack says of a module whose default export is something else. */
export const notAStack = "the default export is not a stack";

export async function loadStack(path: string): Promise<{ file: string; stack: Stack }> {
  const file = stackFile(path);
  const shown = shownPath(file);
  if (/\.c[jt]s$/.test(file))
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: a stack is an ES module (import { defineStack } from "hln"); name it .ts, .mts, .js or .mjs`,
    );
  // A values file or a README given where the stack goes would otherwise run as code.
  if (!/\.m?[jt]sx?$/.test(file))
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: not a stack module: name a .ts or .js file, or a directory holding stack.ts${/\.ya?ml$/.test(file) ? " (values files go with -f)" : ""}`,
    );
  await installHooks();
  let mod: { default?: unknown };
  try {
    const url = pathToFileURL(file);
    url.search = stackQuery;
    mod = (await import(url.href)) as { default?: unknown };
  } catch (err) {
    throw new HlnError("E_STACK_INVALID", loadFailure(file, err), { cause: err });
  }
  const stack = mod.default;
  if (!isStack(stack)) {
    throw new HlnError(
      "E_STACK_INVALID",
      `${shown}: ${notAStack} (export default defineStack({...}))`,
    );
  }
  validateStack(shown, stack);
  return { file, stack };
}

/**
 * Why the stack did not load, in one line. A syntax error keeps esbuild's place and
 * reason (`stack.ts:3:30: Expected ";" but found "x"`; esbuild counts columns from 0,
 * editors and tsc from 1). A file the stack imports that has the error is named instead.
 */
export function loadFailure(file: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const errors = [...message.matchAll(/^(.+?):(\d+):(\d+): ERROR: (.*)$/gm)];
  const first = errors[0];
  if (first) {
    const [, where, line, column, reason] = first;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    return `${shownPath(where!)}:${line}:${Number(column) + 1}: ${reason}${more}`;
  }
  return `${shownPath(file)}: cannot load stack: ${message.split("\n")[0]}`;
}
