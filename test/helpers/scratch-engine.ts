/**
 * A throwaway Docker 26 engine of the test's own, for tests that kill it: the binaries of
 * scripts/engine-up.sh, its own data-root, exec-root, socket and managed containerd, all
 * under one folder in /var/tmp, run inside a network namespace of its own (loopback only).
 * A second dockerd in the host's namespace would take bridge subnets from the main
 * engine's pools (or, with "bridge": "none", delete the host's docker0), so it never runs
 * there; its pools are a private range besides, and it touches no iptables.
 * The main engine and the test engines of scripts/test-deps.sh are never touched: the only
 * processes `remove` ends are the ones in this engine's namespace or cgroup.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { nonce } from "./engine.js";

const engineRoot = process.env.HLN_ENGINE_ROOT ?? "/opt/hln-engine";
const sbin = join(engineRoot, "docker/usr/sbin");
const mainSock = "/var/run/docker.sock";

export interface ScratchEngine {
  /** `unix:///var/tmp/hln-scratch-.../docker.sock`, for DOCKER_HOST */
  readonly host: string;
  readonly sock: string;
  readonly root: string;
  readonly netns: string;
  /** The running dockerd's pid. */
  pid(): number;
  /** The managed containerd's pid, or 0 when it has none. */
  containerdPid(): number;
  /**
   * SIGSTOP of dockerd: it takes requests but answers none, so the next kill9 finds one
   * in flight, at a moment of the test's choosing.
   */
  freeze(): void;
  /** kill -9 of dockerd alone, as a crash or an OOM kill would; waits until it is gone. */
  kill9(): Promise<void>;
  /** Starts dockerd again on the same roots and waits until it answers. */
  restart(): Promise<void>;
  /** The end of dockerd's log, for failure messages. */
  logTail(lines?: number): string;
  /** Removes everything: containers, processes, mounts, cgroups, the namespace, the folder. */
  remove(): Promise<void>;
}

/**
 * Starts the engine and seeds busybox:latest into it from the main engine (nothing can
 * be pulled). About 3 to 10 s on a loaded machine.
 */
export async function startScratchEngine(): Promise<ScratchEngine> {
  if (!existsSync(join(sbin, "dockerd")))
    throw new Error(`no dockerd in ${sbin}: run \`bash scripts/engine-up.sh\` as root first`);
  const id = nonce();
  const root = mkdtempSync(`/var/tmp/hln-scratch-${id}-`);
  const netns = `hln-scratch-${id}`;
  const nsPath = `/var/run/netns/${netns}`;
  const sock = join(root, "docker.sock");
  const cgroupParent = `hln-scratch-${id}`;
  const log = join(root, "dockerd.log");
  const pidfile = join(root, "dockerd.pid");
  writeFileSync(
    join(root, "daemon.json"),
    JSON.stringify({
      features: { "containerd-snapshotter": true },
      "data-root": join(root, "data"),
      "exec-root": join(root, "exec"),
      pidfile,
      hosts: [`unix://${sock}`],
      "init-path": "/usr/bin/tini-static",
      "cgroup-parent": cgroupParent,
      iptables: false,
      ip6tables: false,
      "ip-forward": false,
      "ip-masq": false,
      bip: "10.213.255.1/24",
      "default-address-pools": [{ base: "10.213.0.0/17", size: 24 }],
      "log-level": "warn",
    }),
  );
  execFileSync("ip", ["netns", "add", netns]);
  let child: ChildProcess | undefined;

  const start = async () => {
    const out = openSync(log, "a");
    // nsenter --net alone: `ip netns exec` would remount /sys and hide the cgroup mounts.
    child = spawn(
      "nsenter",
      [`--net=${nsPath}`, join(sbin, "dockerd"), "--config-file", join(root, "daemon.json")],
      {
        detached: true,
        stdio: ["ignore", out, out],
        env: {
          ...process.env,
          PATH: `${sbin}:${join(engineRoot, "docker/usr/bin")}:${process.env.PATH}`,
        },
      },
    );
    closeSync(out);
    child.unref();
    const end = Date.now() + 60_000;
    while (!(await answers(sock))) {
      if (Date.now() > end || child.exitCode !== null)
        throw new Error(`scratch dockerd did not answer on ${sock}:\n${tail(log, 30)}`);
      await sleep(200);
    }
  };

  const engine: ScratchEngine = {
    host: `unix://${sock}`,
    sock,
    root,
    netns,
    pid: () => Number(readFileSync(pidfile, "utf8").trim()),
    containerdPid: () => {
      try {
        return Number(readFileSync(join(root, "exec/containerd/containerd.pid"), "utf8").trim());
      } catch {
        return 0;
      }
    },
    freeze: () => process.kill(engine.pid(), "SIGSTOP"),
    async kill9() {
      const pid = engine.pid();
      process.kill(pid, "SIGKILL");
      while (alive(pid)) await sleep(50);
    },
    restart: start,
    logTail: (lines = 30) => tail(log, lines),
    async remove() {
      // Containers first, through the engine while it answers, so dockerd stops them.
      if (await answers(sock)) {
        try {
          const list = (await request(sock, "GET", "/containers/json?all=1")) as { Id: string }[];
          for (const c of list) await request(sock, "DELETE", `/containers/${c.Id}?force=1&v=1`);
        } catch {}
        try {
          const pid = engine.pid();
          process.kill(pid, "SIGTERM");
          const end = Date.now() + 20_000;
          while (alive(pid) && Date.now() < end) await sleep(100);
        } catch {}
      }
      // Whatever is left: the processes in this engine's namespace (dockerd, containerd,
      // shims) and in its cgroups (containers, which have namespaces of their own).
      const nsIno = existsSync(nsPath) ? statSync(nsPath).ino : -1;
      const ours = new Set<number>([...pidsInNamespace(nsIno), ...pidsInCgroups(cgroupParent)]);
      for (const pid of ours) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      for (const pid of ours) for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
      for (const m of mountsUnder(root).reverse()) {
        try {
          execFileSync("umount", ["-l", m], { stdio: "ignore" });
        } catch {}
      }
      removeCgroups(cgroupParent);
      try {
        execFileSync("ip", ["netns", "del", netns], { stdio: "ignore" });
      } catch {}
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await start();
    await copyImage(mainSock, sock, "busybox:latest");
  } catch (err) {
    await engine.remove();
    throw err;
  }
  return engine;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is gone for every purpose here; its parent reaps it when it can.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function pidsInNamespace(ino: number): number[] {
  if (ino < 0) return [];
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${p}/ns/net`) === `net:[${ino}]`) out.push(Number(p));
    } catch {}
  }
  return out;
}

/** Every cgroup folder of `name` in each hierarchy (cgroup v1) or the unified tree, deepest first. */
function cgroupDirs(name: string): string[] {
  const dirs: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(d, e.name));
    dirs.push(d);
  };
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h));
  } catch {}
  for (const h of ["/sys/fs/cgroup", ...hierarchies]) {
    const d = join(h, name);
    try {
      if (statSync(d).isDirectory()) walk(d);
    } catch {}
  }
  return dirs;
}

function pidsInCgroups(name: string): number[] {
  const out: number[] = [];
  for (const d of cgroupDirs(name)) {
    try {
      for (const l of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n"))
        if (l.trim()) out.push(Number(l));
    } catch {}
  }
  return out;
}

function removeCgroups(name: string): void {
  for (const d of cgroupDirs(name)) {
    try {
      rmSync(d, { recursive: false });
    } catch {
      try {
        execFileSync("rmdir", [d], { stdio: "ignore" });
      } catch {}
    }
  }
}

function mountsUnder(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === root || m.startsWith(`${root}/`));
}

function answers(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: sock, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

function request(sock: string, method: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path, timeout: 30_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        if ((res.statusCode ?? 500) >= 300)
          reject(new Error(`${method} ${path}: ${res.statusCode} ${body}`));
        else resolve(body ? JSON.parse(body) : undefined);
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on("error", reject);
    req.end();
  });
}

/** `docker save` on one engine into `docker load` on another, streamed through the API. */
function copyImage(from: string, to: string, ref: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = http.get(
      { socketPath: from, path: `/images/${encodeURIComponent(ref)}/get` },
      (src) => {
        if (src.statusCode !== 200) {
          src.resume();
          reject(new Error(`GET /images/${ref}/get on ${from}: ${src.statusCode}`));
          return;
        }
        const load = http.request(
          {
            socketPath: to,
            method: "POST",
            path: "/images/load?quiet=1",
            headers: { "Content-Type": "application/x-tar" },
          },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () =>
              res.statusCode === 200 && !body.includes('"error')
                ? resolve()
                : reject(new Error(`POST /images/load on ${to}: ${res.statusCode} ${body}`)),
            );
          },
        );
        load.on("error", reject);
        src.pipe(load);
      },
    );
    get.on("error", reject);
  });
}
