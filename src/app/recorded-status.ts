/**
 * What `hln status` tells of an app beside what the engine runs, the same on one engine
 * and on a swarm: from the state file, the services it knows and the engine does not
 * (shown as missing), the stack, the outputs and the last record; without a state file
 * (another machine deployed it), the stack from the dev.hln.stack label.
 */
import type { AppState } from "./state-store.js";
import type { AppStatus, ServiceStatus } from "./status.js";

export function recordedStatus(
  running: readonly ServiceStatus[],
  state: AppState | undefined,
  stackLabel: string | undefined,
): Pick<AppStatus, "stack" | "services" | "outputs" | "lastDeploy"> {
  const services = [...running];
  for (const [name, s] of Object.entries(state?.services ?? {}))
    if (!services.some((x) => x.service === name))
      services.push({
        service: name,
        kind: s.kind === "job" ? "job" : "service",
        state: "missing",
        ok: false,
        image: s.image,
        ports: [],
      });
  services.sort((a, b) => a.service.localeCompare(b.service));
  const last = state?.history.at(-1);
  return {
    ...(state ? { stack: { ...state.stack } } : stackOf(stackLabel)),
    services,
    ...(state && state.outputs !== undefined ? { outputs: state.outputs } : {}),
    ...(last
      ? {
          lastDeploy: {
            at: last.at,
            result: last.result,
            ...(last.error === undefined ? {} : { error: last.error }),
            ...(last.action === "up" ? {} : { action: last.action }),
          },
        }
      : {}),
  };
}

/** `NAME@VERSION`, the dev.hln.stack label, as the stack it names. */
function stackOf(label: string | undefined): Pick<AppStatus, "stack"> {
  const at = label?.lastIndexOf("@") ?? -1;
  if (!label || at <= 0) return {};
  return { stack: { name: label.slice(0, at), version: label.slice(at + 1), ref: label } };
}
