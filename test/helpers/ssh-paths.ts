/**
 * Test tool: ssh paths to the second host (scripts/remote-host-up.sh) that are slow or
 * silent on purpose, and a log of every ssh process a run starts. Each path is a temp
 * folder holding an `ssh` wrapper to put first on PATH: it appends its arguments to a log
 * and runs the real ssh with a config whose ProxyCommand shapes the path.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Written out for ssh to run as its ProxyCommand: plain JavaScript, so it starts fast. */
const proxySource = `import net from "node:net";
const [host, port, delay, mode] = process.argv.slice(2);
setTimeout(() => {
  const s = net.connect(Number(port), host);
  process.stdin.pipe(s);
  if (mode === "banner-only") {
    // The server's banner line gets through, then nothing: the key exchange never ends.
    let passed = false;
    s.on("data", (d) => {
      if (passed) return;
      const nl = d.indexOf(10);
      process.stdout.write(nl < 0 ? d : d.subarray(0, nl + 1));
      passed = nl >= 0;
    });
  } else {
    s.pipe(process.stdout);
  }
  s.on("error", () => process.exit(1));
  s.on("close", () => process.exit(0));
  process.stdin.on("end", () => s.end());
}, Number(delay));
`;

export type SshPathKind =
  /** Straight to the host. */
  | "direct"
  /** Waits 1.5 s before connecting, as a slow network or jump host does. */
  | "slow"
  /** Never connects: the server's banner never comes. */
  | "silent"
  /** Connects and passes the server's banner, then nothing more. */
  | "banner-only";

export interface SshPath {
  /** The temp folder: every process of the path has it in its command line. */
  dir: string;
  /** PATH with the wrapper first. */
  PATH: string;
  /** The arguments of every ssh the wrapper ran, one entry each. */
  invocations(): string[];
  /** Empties the log, between runs. */
  reset(): void;
  close(): void;
}

export function sshPath(kind: SshPathKind): SshPath {
  const dir = mkdtempSync(join(tmpdir(), `hln-sshpath-${kind}-`));
  const log = join(dir, "ssh.log");
  const config = join(dir, "config");
  const proxy = join(dir, "proxy.mjs");
  writeFileSync(proxy, proxySource);
  const run = (delay: number, mode = "relay") =>
    `  ProxyCommand ${process.execPath} ${proxy} %h %p ${delay} ${mode}\n`;
  const proxyLine = {
    direct: "",
    slow: run(1500),
    silent: run(3_600_000),
    "banner-only": run(0, "banner-only"),
  }[kind];
  // ssh keeps the first value it reads for each option, so the ProxyCommand may follow.
  writeFileSync(config, `Include /opt/hln-engine/remote/ssh/config\nHost 10.201.0.2\n${proxyLine}`);
  writeFileSync(
    join(dir, "ssh"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\nexec /usr/bin/ssh -F ${config} "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(log, "");
  return {
    dir,
    PATH: `${dir}:${process.env.PATH}`,
    invocations: () =>
      existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [],
    reset: () => writeFileSync(log, ""),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The ssh processes of one run, by what each was for. */
export function classify(invocations: string[]): {
  /** The one that connects and authenticates (ControlMaster=yes). */
  masters: string[];
  /** Sessions on the shared connection, each running dial-stdio. */
  streams: string[];
  /** `ssh -O exit`, which ends the shared connection. */
  controls: string[];
  other: string[];
  /** The ControlPath sockets the run used. */
  controlPaths: string[];
} {
  const masters = invocations.filter((l) => l.includes("ControlMaster=yes"));
  const streams = invocations.filter((l) => l.includes("ControlMaster=no"));
  const controls = invocations.filter((l) => / -O exit /.test(` ${l} `));
  const other = invocations.filter(
    (l) => !masters.includes(l) && !streams.includes(l) && !controls.includes(l),
  );
  const controlPaths = [
    ...new Set(invocations.flatMap((l) => /ControlPath=(\S+)/.exec(l)?.[1] ?? [])),
  ];
  return { masters, streams, controls, other, controlPaths };
}
