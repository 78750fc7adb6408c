import { type Engine, openEngine } from "../engine/engine.js";
import type { CliContext } from "./context.js";

/** The engine the global flags and the environment name, given up on Ctrl-C. */
export function openFromCli(ctx: CliContext): Promise<Engine> {
  return openEngine({
    env: ctx.env,
    engine: ctx.engine,
    engineFrom: "--engine",
    tlsFlags: ctx.tlsFlags,
    signal: ctx.signal,
  });
}
