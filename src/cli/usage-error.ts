/**
 * Commander's usage errors as one line that names the command, and a hint to its help,
 * instead of the message followed by the whole usage text.
 */
import type { Command, CommanderError } from "commander";
import { HlnError } from "../errors.js";

/** The subcommand `argv` names, walking past options and their values: `["engine", "info"]`. */
export function commandPath(program: Command, argv: readonly string[]): Command[] {
  const path: Command[] = [];
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      if (arg.includes("=")) continue;
      const opt = cmd.options.find((o) => o.long === arg || o.short === arg);
      if (opt?.required || opt?.optional) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    path.push(sub);
    cmd = sub;
  }
  return path;
}

/** `'-p, --plan <path>'` as a person types it: `--plan PATH`. */
function flag(spec: string): string {
  const m = /(--[\w-]+)(?:[ =][<[]([\w.-]+)[>\]])?/.exec(spec);
  if (!m) return spec;
  return m[2] ? `${m[1]} ${m[2].toUpperCase()}` : m[1]!;
}

export function commanderError(
  program: Command,
  argv: readonly string[],
  err: CommanderError,
): HlnError {
  const path = commandPath(program, argv).map((c) => c.name());
  // Commander puts its suggestion on a line of its own: "(Did you mean --set?)".
  const text = err.message
    .replace(/^error: /, "")
    .replace(/\s*\n\s*\(Did you mean (.+)\?\)/, " (did you mean $1?)")
    .replace(/\s*\n\s*/g, " ");
  let message: string;
  switch (err.code) {
    case "commander.missingMandatoryOptionValue": {
      const spec = /'([^']+)'/.exec(text)?.[1];
      message = spec ? `missing ${flag(spec)}` : text;
      break;
    }
    case "commander.missingArgument": {
      const name = /'([^']+)'/.exec(text)?.[1];
      message = name ? `missing ${name.toUpperCase()}` : text;
      break;
    }
    case "commander.optionMissingArgument": {
      const spec = /'([^']+)'/.exec(text)?.[1];
      message = spec ? `${flag(spec)}: the value is missing` : text;
      break;
    }
    default:
      message = text;
  }
  const where = path.join(" ");
  return new HlnError("E_USAGE", where ? `${where}: ${message}` : message, {
    cause: err,
    hint: `hln ${where ? `${where} ` : ""}--help`,
  });
}
