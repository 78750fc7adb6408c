/**
 * A two-node test swarm: the main engine (manager, 10.201.0.1) and the remote host in
 * network namespace hln-remote (worker, 10.201.0.2, scripts/remote-host-up.sh), joined
 * over the veth pair only, plus a plain-HTTP registry on 10.201.0.1 that both daemons
 * pull from (both list 10.201.0.0/24 as insecure registries). Formed idempotently;
 * `release()` undoes only what the helpers made, so a swarm someone set up by hand
 * survives the tests, and a swarm another process still holds is left to the last holder.
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
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
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
   * Stops the registry and, when no other process holds the swarm and the helpers made
   * it, takes it apart on both engines with what swarm mode leaves behind
   * (docker_gwbridge, the ingress sandbox, the guards). Safe to call twice.
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
  // Whatever a run that failed halfway left, so that every -N below succeeds.
  await removeGuards();
  const reset = "-j REJECT --reject-with tcp-reset";
  const own = (chain: string) => ownInterfaces.map((i) => `-A ${chain} -i ${i} -j RETURN`);
  const established = (chain: string) =>
    `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`;
  const rules = [
    `-N ${forwardGuard}`,
    established(forwardGuard),
    ...own(forwardGuard),
    // A reset says at once that the guard, not a timeout, stopped a connection.
    `-A ${forwardGuard} -p tcp ${reset}`,
    `-A ${forwardGuard} -j DROP`,
    `-N ${inputGuard}`,
    `-A ${inputGuard} -i lo -j RETURN`,
    `-A ${inputGuard} -i hln-+ -j RETURN`,
    established(inputGuard),
    `-A ${inputGuard} -d 10.201.0.0/24 -p tcp ${reset}`,
    `-A ${inputGuard} -d 10.201.0.0/24 -j DROP`,
    `-A ${inputGuard} -p tcp -m multiport --dports 2377,7946 ${reset}`,
    `-A ${inputGuard} -p udp -m multiport --dports 4789,7946 -j DROP`,
    `-I INPUT 1 -j ${inputGuard}`,
  ];
  // Published ports are also served by docker-proxy on [::]:PORT, where no NAT or FORWARD
  // rule applies: IPv6 from outside reaches no unprivileged port while the swarm exists.
  const rules6 = [
    `-N ${inputGuard}`,
    ...own(inputGuard),
    established(inputGuard),
    `-A ${inputGuard} -p tcp --dport 1024:65535 ${reset}`,
    `-A ${inputGuard} -p udp --dport 1024:65535 -j DROP`,
    `-I INPUT 1 -j ${inputGuard}`,
  ];
  for (const [tool, list] of [
    ["iptables", rules],
    ["ip6tables", rules6],
  ] as const)
    for (const r of list)
      if (!(await iptables(r.split(" "), tool)))
        throw new Error(`${tool} ${r} failed (the swarm tests run as root)`);
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

/**
 * Several processes may hold the test swarm at once (a test file, and a developer's
 * process keeping one up meanwhile): each registers under holders/, and what the helpers
 * made (made.json) is taken apart by the last one to let go, never under another holder.
 * A swarm found without made.json was made by hand and is left as it is. /run is a tmpfs:
 * a reboot forgets the holders along with the swarm's processes.
 */
const leaseDir = "/run/hln-test-swarm";
const holdersDir = join(leaseDir, "holders");
const madeFile = join(leaseDir, "made.json");

/** What the test helpers made, for the last holder to undo. */
interface Made {
  manager: boolean;
  worker: boolean;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `fn` holding the lease directory's lock (a directory: mkdir is atomic). */
async function locked<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lock = join(leaseDir, "lock");
  mkdirSync(holdersDir, { recursive: true });
  const end = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // A holder that died inside the lock leaves it behind (without its pid, if it died
      // between making the lock and writing it: then the lock's age tells).
      const pid = Number(readFileSafe(join(lock, "pid")));
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if ((pid > 0 && !alive(pid)) || (pid === 0 && age > 10_000))
        rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > end) throw new Error(`hung: ${lock} is held by pid ${pid} for 120 s`);
      else await sleep(100, signal);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function readMade(): Made | undefined {
  const text = readFileSafe(madeFile);
  return text ? (JSON.parse(text) as Made) : undefined;
}

/** The other processes holding the swarm now; files of dead ones are removed. */
function otherHolders(own: string): string[] {
  const live: string[] = [];
  for (const f of readdirSync(holdersDir)) {
    if (f === own) continue;
    if (alive(Number(f.split("-")[0]))) live.push(f);
    else rmSync(join(holdersDir, f), { force: true });
  }
  return live;
}

/** Takes apart what the helpers made: the worker first, then the manager, then the rest. */
async function teardown(manager: DockerClient, worker: DockerClient, made: Made): Promise<void> {
  if (made.worker) await leave(worker);
  if (made.manager) await leave(manager);
  else if (made.worker) {
    // The manager stays in its swarm: drop the worker's node entry, now down.
    const nodes = await manager.json<NodeInfo[]>("GET", "/nodes").catch(() => []);
    for (const n of nodes.filter((n) => n.Status.Addr === workerAddr))
      await manager.json("DELETE", `/nodes/${n.ID}?force=true`).catch(() => undefined);
  }
  if (made.worker) await removeGatewayBridge(worker);
  if (made.manager) {
    await removeGatewayBridge(manager);
    // The guards last as long as the swarm the helpers made.
    await removeGuards();
  }
}

function initSwarm(manager: DockerClient, signal?: AbortSignal): Promise<unknown> {
  return manager.json("POST", "/swarm/init", {
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
  const holder = `${process.pid}-${randomBytes(4).toString("hex")}`;
  let registry: TestRegistry | undefined;
  const letGo = async () => {
    await registry?.stop();
    await locked(async () => {
      rmSync(join(holdersDir, holder), { force: true });
      const made = readMade();
      if (!made || otherHolders(holder).length > 0) return;
      await teardown(manager, worker, made);
      rmSync(madeFile, { force: true });
    });
  };
  try {
    const nodes = await locked(async () => {
      writeFileSync(join(holdersDir, holder), `${process.argv.slice(1).join(" ")}\n`);
      const m = await swarmState(manager, signal);
      // made.json of a swarm that is gone (left by hand, or a reboot of the engines) is stale.
      let made: Made =
        m.LocalNodeState === "inactive"
          ? { manager: false, worker: false }
          : (readMade() ?? { manager: false, worker: false });
      const record = () => {
        if (made.manager || made.worker) writeFileSync(madeFile, JSON.stringify(made));
        else rmSync(madeFile, { force: true });
      };
      record();
      // The guards come first: the swarm publishes nothing before they are in place.
      const guarded = await addGuards();
      if (m.LocalNodeState === "inactive") {
        await initSwarm(manager, signal).catch(async (err) => {
          if (guarded) await removeGuards();
          throw err;
        });
        made = { ...made, manager: true };
        record();
      } else if (m.LocalNodeState !== "active" || !m.ControlAvailable) {
        if (guarded) await removeGuards();
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
        made = { ...made, worker: true };
        record();
      } else {
        const list = await manager.json<NodeInfo[]>("GET", "/nodes", { signal });
        if (w.LocalNodeState !== "active" || !list.some((n) => n.ID === w.NodeID))
          throw new Error(
            `${workerEndpoint} is in swarm state ${w.LocalNodeState}, not a node of ${managerEndpoint}'s swarm: leave it by hand (POST /swarm/leave?force=true)`,
          );
      }
      return nodesReady(manager, signal);
    }, signal);
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
            await letGo();
          } finally {
            manager.close();
            worker.close();
          }
        })();
        return released;
      },
    };
  } catch (err) {
    await letGo().catch(() => undefined);
    manager.close();
    worker.close();
    throw err;
  }
}
