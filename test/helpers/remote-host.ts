/**
 * The test engines that `bash scripts/test-deps.sh` starts besides the main one: a second
 * host in a network namespace (scripts/remote-host-up.sh) and Docker 20.10
 * (scripts/engine-compat-up.sh), and ways to reach the second host's BuildKit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { repoRoot } from "./run-cli.js";

export const remoteSock = "/var/run/hln-remote.sock";
export const compatSock = "/var/run/hln-compat.sock";
export const netns = "/var/run/netns/hln-remote";
export const remoteAddr = "10.201.0.2";
/** A wrapper that runs ssh with the second host's key, config and known_hosts. */
export const sshBin = "/opt/hln-engine/remote/ssh/bin";
export const sshPath = `${sshBin}:${process.env.PATH}`;

/** Throws, naming the setup script, when the test engines are not up. */
export function requireTestEngines(): void {
  for (const p of [remoteSock, compatSock, netns, sshBin])
    if (!existsSync(p))
      throw new Error(`${p} is missing: run \`bash scripts/test-deps.sh\` as root first`);
}

/** Starts test/helpers/grpc-relay.ts as its own process inside the second host's namespace. */
export async function relayInNamespace(args: string[]): Promise<ChildProcess> {
  const child = spawn(
    "nsenter",
    [
      `--net=${netns}`,
      process.execPath,
      "--import",
      "tsx",
      "test/helpers/grpc-relay.ts",
      "--exit-with-stdin",
      ...args,
    ],
    // The relay's stdin is this pipe: it ends when this process dies, however it dies.
    { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let err = "";
    child.stderr?.on("data", (d) => (err += d));
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`relay exited ${code}: ${err}`)));
  });
  return child;
}

export async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
