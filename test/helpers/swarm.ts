/**
 * A two-node test swarm: the main engine (manager, 10.201.0.1) and the remote host in
 * network namespace hln-remote (worker, 10.201.0.2, scripts/remote-host-up.sh), joined
 * over the veth pair only, plus a plain-HTTP registry on 10.201.0.1 that both daemons
 * pull from (both list 10.201.0.0/24 as insecure registries). Formed idempotently;
 * `release()` undoes only what its own call made, so a swarm someone set up by hand
 * survives the tests.
 *
 * Swarm mode listens on more than the addresses it is given (VXLAN on UDP 4789 and
 * gossip on 7946 bind every address, and Linux answers for 10.201.0.1 on any interface),
 * and a swarm publishes ports on every address (its port config has no host IP, in
 * ingress and host mode alike): iptables guards keep all of it off the machine's external
 * interfaces while the swarm exists.
 *
 * Kernels without IPVS (CONFIG_IP_VS unset, as on this project's VMs) run the swarm but
 * not its VIPs or ingress routing mesh: there a service needs EndpointSpec.Mode "dnsrr"
 * and host-mode published ports. `ipvsAvailable()` says which.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { createDockerClient, type DockerClient, httpStatus } from "../../src/docker/client.js";
import { dialerForDockerHost } from "../../src/engine/dial-docker-host.js";
import { startRegistry, type TestRegistry } from "./registry.js";
import { remoteSock, requireTestEngines } from "./remote-host.js";

const run = promisify(execFile);

export const managerEndpoint = "unix:///var/run/docker.sock";
export const workerEndpoint = `unix://${remoteSock}`;
export const managerAddr = "10.201.0.1";
export const workerAddr = "10.201.0.2";
/**
 * Overlay subnets, away from 10.201.0.0/24 (the veth pair), 10.198/10.199 (the compat and
 * classic engines' bridges) and the default pool's 10.0.0.0/8, which holds all of them.
 */
const addrPool = "10.202.0.0/16";

/** The iptables chains of the guards; their names say who made them. */
const forwardGuard = "HLN-SWARM-FWD";
const inputGuard = "HLN-SWARM-IN";
/** Interfaces that are this machine's own: loopback, the test hosts' links, Docker's bridges. */
const ownInterfaces = ["lo", "hln-+", "docker0", "docker_gwbridge", "br-+"];

export interface SwarmNode {
  id: string;
  hostname: string;
  /** The address the node advertises: 10.201.0.1 for the manager, .2 for the worker. */
  addr: string;
  role: "manager" | "worker";
}

export interface TestSwarm {
  /** Docker Engine API of the manager (the main engine). */
  manager: DockerClient;
  /** Docker Engine API of the worker (the remote host). */
  worker: DockerClient;
  managerEndpoint: string;
  workerEndpoint: string;
  /** `10.201.0.1:PORT`, plain HTTP: the host part of image references pushed to it. */
  registry: string;
  nodes: SwarmNode[];
  /**
   * Stops the registry and, if this call formed the swarm, takes it apart on both engines
   * with what swarm mode leaves behind (docker_gwbridge, the ingress sandbox, the guards).
   * Safe to call twice.
   */
  release(): Promise<void>;
}

interface SwarmInfo {
  Swarm: { LocalNodeState: string; ControlAvailable: boolean; NodeID: string; Error?: string };
}

interface NodeInfo {
  ID: string;
  Description: { Hostname: string };
  Spec: { Role: "manager" | "worker"; Availability: string };
  Status: { State: string; Addr: string };
  ManagerStatus?: { Addr: string };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

/** Polls `check` until it returns a value; `ms` is kill-safety, not a speed check. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  signal?: AbortSignal,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(
        `hung: still waiting until ${what} after ${ms / 1000} s${last ? ` (${(last as Error).message})` : ""}`,
      );
    await sleep(250, signal);
  }
}

async function swarmState(docker: DockerClient, signal?: AbortSignal) {
  return (await docker.json<SwarmInfo>("GET", "/info", { signal })).Swarm;
}

async function iptables(args: string[], tool = "iptables"): Promise<boolean> {
  try {
    await run(tool, ["-w", ...args]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs the guards unless they are there: returns whether it made them.
 * FORWARD (through DOCKER-USER, which Docker jumps to first): new connections to the
 * ingress routing mesh (everything routed into docker_gwbridge) only from this machine's
 * own interfaces. INPUT: the swarm's ports, and anything addressed to the veth subnet
 * (the manager's 2377, the registry), only from loopback and the test hosts' links.
 */
async function addGuards(): Promise<boolean> {
  if (await iptables(["-n", "-L", forwardGuard])) return false;
  const own = ownInterfaces.flatMap((i) => [["-A", forwardGuard, "-i", i, "-j", "RETURN"]]);
  const rules: string[][] = [
    ["-N", forwardGuard],
    ["-A", forwardGuard, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
    ...own,
    ["-A", forwardGuard, "-j", "DROP"],
    ["-N", inputGuard],
    ["-A", inputGuard, "-i", "lo", "-j", "RETURN"],
    ["-A", inputGuard, "-i", "hln-+", "-j", "RETURN"],
    ["-A", inputGuard, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
    ["-A", inputGuard, "-d", "10.201.0.0/24", "-j", "DROP"],
    ["-A", inputGuard, "-p", "tcp", "-m", "multiport", "--dports", "2377,7946", "-j", "DROP"],
    ["-A", inputGuard, "-p", "udp", "-m", "multiport", "--dports", "4789,7946", "-j", "DROP"],
    ["-I", "INPUT", "1", "-j", inputGuard],
  ];
  for (const r of rules)
    if (!(await iptables(r))) throw new Error(`iptables ${r.join(" ")} failed (tests run as root)`);
  // Published ports are also served by docker-proxy on [::]:PORT, where no NAT or FORWARD
  // rule applies: IPv6 from outside reaches no unprivileged port while the swarm exists.
  const rules6: string[][] = [
    ["-N", inputGuard],
    ...ownInterfaces.map((i) => ["-A", inputGuard, "-i", i, "-j", "RETURN"]),
    ["-A", inputGuard, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
    ["-A", inputGuard, "-p", "tcp", "--dport", "1024:65535", "-j", "DROP"],
    ["-A", inputGuard, "-p", "udp", "--dport", "1024:65535", "-j", "DROP"],
    ["-I", "INPUT", "1", "-j", inputGuard],
  ];
  for (const r of rules6)
    if (!(await iptables(r, "ip6tables")))
      throw new Error(`ip6tables ${r.join(" ")} failed (tests run as root)`);
  await ensureForwardJump();
  return true;
}

/**
 * DOCKER-USER is Docker's: a dockerd that starts (or leaves a swarm) rebuilds its jump
 * from FORWARD but keeps its rules, so the jump to the guard is put first if missing.
 */
async function ensureForwardJump(): Promise<void> {
  const jump = ["DOCKER-USER", "-o", "docker_gwbridge", "-j", forwardGuard];
  if (await iptables(["-C", ...jump])) return;
  if (!(await iptables(["-I", jump[0]!, "1", ...jump.slice(1)])))
    throw new Error(`iptables -I ${jump.join(" ")} failed`);
}

async function removeGuards(): Promise<void> {
  while (await iptables(["-D", "DOCKER-USER", "-o", "docker_gwbridge", "-j", forwardGuard]));
  while (await iptables(["-D", "INPUT", "-j", inputGuard]));
  for (const chain of [forwardGuard, inputGuard]) {
    await iptables(["-F", chain]);
    await iptables(["-X", chain]);
  }
  while (await iptables(["-D", "INPUT", "-j", inputGuard], "ip6tables"));
  await iptables(["-F", inputGuard], "ip6tables");
  await iptables(["-X", inputGuard], "ip6tables");
}

async function nodesReady(manager: DockerClient, signal?: AbortSignal): Promise<NodeInfo[]> {
  return until(
    "the swarm has 2 nodes, both ready and active",
    async () => {
      const nodes = await manager.json<NodeInfo[]>("GET", "/nodes", { signal });
      const ready = nodes.filter(
        (n) => n.Status.State === "ready" && n.Spec.Availability === "active",
      );
      return ready.length === 2 && nodes.length === 2 ? nodes : undefined;
    },
    signal,
  );
}

/** Leaves the swarm (force), tolerating an engine that is not in one. */
async function leave(docker: DockerClient): Promise<void> {
  try {
    await docker.json("POST", "/swarm/leave?force=true");
  } catch (err) {
    if (httpStatus(err) !== 503) throw err;
  }
}

/**
 * Removes docker_gwbridge once swarm mode is gone: the ingress sandbox's endpoint on it
 * goes a moment after the leave, and until then Docker refuses ("has active endpoints").
 */
async function removeGatewayBridge(docker: DockerClient): Promise<void> {
  await until(
    `docker_gwbridge is gone from ${docker.endpoint}`,
    async () => {
      try {
        await docker.json("DELETE", "/networks/docker_gwbridge");
        return true;
      } catch (err) {
        if (httpStatus(err) === 404) return true;
        throw err;
      }
    },
    undefined,
    30_000,
  );
}

/** Whether this kernel has IPVS, which swarm's VIPs and ingress routing mesh need. */
export function ipvsAvailable(): boolean {
  return existsSync("/proc/net/ip_vs");
}

/** Makes (or finds) the two-node test swarm and a registry both nodes pull from. */
export async function useSwarm(signal?: AbortSignal): Promise<TestSwarm> {
  requireTestEngines();
  const manager = createDockerClient(dialerForDockerHost(managerEndpoint), {
    answerTimeoutMs: 60_000,
  });
  const worker = createDockerClient(dialerForDockerHost(workerEndpoint), {
    answerTimeoutMs: 60_000,
  });
  let formed = false;
  let joined = false;
  let guarded = false;
  let swarmExists = false;
  let registry: TestRegistry | undefined;
  const undo = async () => {
    await registry?.stop();
    if (joined) await leave(worker);
    if (formed) await leave(manager);
    if (joined && !formed) {
      // The manager stays in its swarm: drop the worker's node entry, now down.
      const nodes = await manager.json<NodeInfo[]>("GET", "/nodes").catch(() => []);
      for (const n of nodes.filter((n) => n.Status.Addr === workerAddr))
        await manager.json("DELETE", `/nodes/${n.ID}?force=true`).catch(() => undefined);
    }
    if (joined) await removeGatewayBridge(worker);
    if (formed) await removeGatewayBridge(manager);
    // The guards last as long as the swarm: whoever takes it apart removes them.
    if (formed || (guarded && !swarmExists)) await removeGuards();
  };
  try {
    // The guards come first: the mesh publishes nothing before they are in place.
    guarded = await addGuards();
    const m = await swarmState(manager, signal);
    swarmExists = m.LocalNodeState !== "inactive";
    if (m.LocalNodeState === "inactive") {
      await manager.json("POST", "/swarm/init", {
        signal,
        body: {
          ListenAddr: `${managerAddr}:2377`,
          AdvertiseAddr: managerAddr,
          DataPathAddr: managerAddr,
          DefaultAddrPool: [addrPool],
          SubnetSize: 24,
          Spec: { Orchestration: { TaskHistoryRetentionLimit: 2 } },
        },
      });
      formed = true;
    } else if (m.LocalNodeState !== "active" || !m.ControlAvailable) {
      throw new Error(
        `${managerEndpoint} is in swarm state ${m.LocalNodeState}${m.ControlAvailable ? "" : " (not a manager)"}: leave it by hand (POST /swarm/leave?force=true) and run again`,
      );
    }
    await ensureForwardJump();
    const w = await swarmState(worker, signal);
    if (w.LocalNodeState === "inactive") {
      const swarm = await manager.json<{ JoinTokens: { Worker: string } }>("GET", "/swarm", {
        signal,
      });
      await worker.json("POST", "/swarm/join", {
        signal,
        body: {
          ListenAddr: `${workerAddr}:2377`,
          AdvertiseAddr: workerAddr,
          DataPathAddr: workerAddr,
          RemoteAddrs: [`${managerAddr}:2377`],
          JoinToken: swarm.JoinTokens.Worker,
        },
      });
      joined = true;
    } else {
      const mine = await swarmState(manager, signal);
      const nodes = await manager.json<NodeInfo[]>("GET", "/nodes", { signal });
      if (w.LocalNodeState !== "active" || !nodes.some((n) => n.ID === w.NodeID))
        throw new Error(
          `${workerEndpoint} is in swarm state ${w.LocalNodeState}, not a node of ${managerEndpoint}'s swarm (node ${mine.NodeID}): leave it by hand (POST /swarm/leave?force=true)`,
        );
    }
    const nodes = await nodesReady(manager, signal);
    registry = await startRegistry({ listen: managerAddr });
    let released: Promise<void> | undefined;
    return {
      manager,
      worker,
      managerEndpoint,
      workerEndpoint,
      registry: registry.host,
      nodes: nodes
        .map((n) => ({
          id: n.ID,
          hostname: n.Description.Hostname,
          addr: n.ManagerStatus?.Addr.replace(/:\d+$/, "") ?? n.Status.Addr,
          role: n.Spec.Role,
        }))
        .sort((a, b) => (a.role === b.role ? 0 : a.role === "manager" ? -1 : 1)),
      release() {
        released ??= (async () => {
          try {
            await undo();
          } finally {
            manager.close();
            worker.close();
          }
        })();
        return released;
      },
    };
  } catch (err) {
    await undo().catch(() => undefined);
    manager.close();
    worker.close();
    throw err;
  }
}
