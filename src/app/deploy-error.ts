import { HlnError } from "../errors.js";

/**
 * A failure while deploying a service, as E_DEPLOY_FAILED naming the service, whether one
 * engine or a swarm runs it.
 */
export function deployError(service: string, err: unknown): HlnError {
  const e = HlnError.from(err, "E_DEPLOY_FAILED");
  // An engine that went away (killed, restarted) is not the service's failure: the user
  // reads that the engine was lost, with its exit code, whichever request it cut short.
  if (e.code === "E_ABORTED" || e.code === "E_ENGINE_UNREACHABLE") return e;
  return new HlnError("E_DEPLOY_FAILED", `service ${service}: ${e.message}`, {
    cause: err,
    hint: e.hint,
  });
}
