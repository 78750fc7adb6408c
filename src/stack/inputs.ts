import { HlnError } from "../errors.js";
import type { InputDeclarations } from "./define-stack.js";

/**
 * Parses `--set key=value` flags against the stack's declarations and fills defaults.
 * Every problem names the flag and the input, and lists what the stack accepts.
 */
export function resolveInputs(
  declarations: InputDeclarations,
  sets: readonly string[],
  stackName: string,
): Record<string, string | number | boolean> {
  const names = Object.keys(declarations);
  const known = names.length > 0 ? names.join(", ") : "none";
  const raw = new Map<string, string>();
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      throw new HlnError("E_INPUT_INVALID", `--set ${s}: expected key=value`);
    }
    const key = s.slice(0, eq);
    if (!Object.hasOwn(declarations, key)) {
      throw new HlnError(
        "E_INPUT_INVALID",
        `--set ${key}: stack "${stackName}" has no input named ${key} (inputs: ${known})`,
      );
    }
    raw.set(key, s.slice(eq + 1));
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [name, decl] of Object.entries(declarations)) {
    const given = raw.get(name);
    if (given === undefined) {
      if (decl.default === undefined) {
        throw new HlnError(
          "E_INPUT_INVALID",
          `input ${name} of stack "${stackName}" is required: pass --set ${name}=<${decl.type}>`,
        );
      }
      out[name] = decl.default;
      continue;
    }
    switch (decl.type) {
      case "string":
        if (decl.choices && !decl.choices.includes(given)) {
          throw new HlnError(
            "E_INPUT_INVALID",
            `--set ${name}=${given}: must be one of ${decl.choices.join(", ")}`,
          );
        }
        out[name] = given;
        break;
      case "number": {
        const n = Number(given);
        if (given.trim() === "" || !Number.isFinite(n)) {
          throw new HlnError("E_INPUT_INVALID", `--set ${name}=${given}: expected a number`);
        }
        out[name] = n;
        break;
      }
      case "boolean":
        if (given !== "true" && given !== "false") {
          throw new HlnError("E_INPUT_INVALID", `--set ${name}=${given}: expected true or false`);
        }
        out[name] = given === "true";
        break;
    }
  }
  return out;
}
