/**
 * Checks a loaded stack's shape at run time. TypeScript checks it in the editor, but a
 * stack may be JavaScript, or cast its way past the types; each mistake is one line that
 * names the file and the field, e.g. `stack.ts: inputs.port.default is not a number`.
 */
import { HlnError } from "../errors.js";
import type { Stack } from "./define-stack.js";

export const inputTypes = [
  "string",
  "number",
  "boolean",
  "enum",
  "path",
  "secret",
  "list",
] as const;

/**
 * What an input name may be: it is a YAML key in values files and the key of `--set
 * key=value`, so no dots, spaces, `=` or `:`.
 */
export const inputNamePattern = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A POSIX shell variable name, the only kind `env` can fill portably. */
const variablePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

const commonFields = ["type", "description", "required", "env"];

const fieldsByType: Record<(typeof inputTypes)[number], readonly string[]> = {
  string: [...commonFields, "default", "choices"],
  number: [...commonFields, "default"],
  boolean: [...commonFields, "default"],
  enum: [...commonFields, "values", "default"],
  path: [...commonFields, "default", "mustExist"],
  secret: commonFields,
  list: [...commonFields, "default"],
};

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Throws E_STACK_INVALID naming `file` and the first field at fault. `loadStack` runs it;
 * a program that builds a stack in memory can run it too.
 *
 * @example
 * validateStack("stack.ts", stack); // "stack.ts: inputs.port.default is not a number"
 */
export function validateStack(file: string, stack: Stack): void {
  const fail = (message: string): never => {
    throw new HlnError("E_STACK_INVALID", `${file}: ${message}`);
  };
  if (typeof stack.name !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(stack.name)) {
    fail("name must be lowercase letters, digits and dashes");
  }
  if (typeof stack.version !== "string" || stack.version === "") fail("version is missing");
  if (stack.description !== undefined && typeof stack.description !== "string") {
    fail("description is not a string");
  }
  if (stack.tags !== undefined && !isStringArray(stack.tags)) fail("tags is not a list of strings");
  if (typeof stack.actions !== "object" || stack.actions === null) fail("actions is missing");
  for (const [name, action] of Object.entries(stack.actions)) {
    if (typeof action !== "function") fail(`actions.${name} is not a function`);
  }
  if (stack.inputs === undefined) return;
  if (!isRecord(stack.inputs)) fail("inputs is not a mapping of names to declarations");
  for (const [name, declaration] of Object.entries(stack.inputs as Record<string, unknown>)) {
    validateInput(name, declaration, fail);
  }
}

function validateInput(name: string, declaration: unknown, fail: (message: string) => never): void {
  if (!inputNamePattern.test(name)) {
    fail(
      `input name ${JSON.stringify(name)}: use letters, digits, "_" and "-", starting with a letter or "_"`,
    );
  }
  const at = `inputs.${name}`;
  if (!isRecord(declaration)) fail(`${at} is not a declaration ({ type: ... })`);
  const d = declaration as Record<string, unknown>;
  const type = d.type;
  if (typeof type !== "string" || !(inputTypes as readonly string[]).includes(type)) {
    fail(`${at}.type must be ${inputTypes.slice(0, -1).join(", ")} or ${inputTypes.at(-1)}`);
  }
  if (type === "secret" && d.default !== undefined) {
    // Said before the unknown-field check: a default is what people reach for first.
    fail(
      `${at}.default: a secret has no default (declare env, or pass it with --set ${name}=env:VAR)`,
    );
  }
  const known = fieldsByType[type as (typeof inputTypes)[number]];
  for (const field of Object.keys(d)) {
    if (d[field] !== undefined && !known.includes(field)) {
      fail(`${at}.${field} is not a field of a ${type} input (fields: ${known.join(", ")})`);
    }
  }
  if (d.description !== undefined && typeof d.description !== "string") {
    fail(`${at}.description is not a string`);
  }
  for (const flag of ["required", "mustExist"]) {
    if (d[flag] !== undefined && typeof d[flag] !== "boolean")
      fail(`${at}.${flag} is not true or false`);
  }
  if (d.env !== undefined && (typeof d.env !== "string" || !variablePattern.test(d.env))) {
    fail(`${at}.env is not a variable name (letters, digits and "_", not starting with a digit)`);
  }
  const listField = type === "enum" ? "values" : "choices";
  const allowed = d[listField];
  if (type === "enum" || (type === "string" && allowed !== undefined)) {
    if (!isStringArray(allowed) || allowed.length === 0) {
      fail(`${at}.${listField} is not a non-empty list of strings`);
    }
  }
  const value = d.default;
  if (value === undefined) return;
  switch (type) {
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value))
        fail(`${at}.default is not a number`);
      break;
    case "boolean":
      if (typeof value !== "boolean") fail(`${at}.default is not true or false`);
      break;
    case "list":
      if (!isStringArray(value)) fail(`${at}.default is not a list of strings`);
      break;
    default:
      if (typeof value !== "string") fail(`${at}.default is not a string`);
      if (isStringArray(allowed) && !allowed.includes(value as string)) {
        fail(`${at}.default ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
      }
  }
}
