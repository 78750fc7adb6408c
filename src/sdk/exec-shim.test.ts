import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { shimBinaries, shimCompilers, shimSourceSha256 } from "../gen/exec-shim.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "hln-shim-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function compiler(cc: string): string | undefined {
  const r = spawnSync(cc, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n")[0] : undefined;
}

describe("src/gen/exec-shim.ts", () => {
  it("was generated from the current src/shim/hln-exec.c (else: npm run gen:shim)", () => {
    const source = readFileSync(join(root, "src/shim/hln-exec.c"));
    assert.equal(createHash("sha256").update(source).digest("hex"), shimSourceSha256);
  });

  it("holds a static ELF executable of a few KB for each architecture", () => {
    const machine = { amd64: 62, arm64: 183 } as const; // ELF e_machine: x86-64, AArch64
    for (const [name, b64] of Object.entries(shimBinaries)) {
      const bin = Buffer.from(b64, "base64");
      assert.equal(bin.subarray(0, 4).toString("latin1"), "\x7fELF", name);
      assert.equal(bin.readUInt16LE(18), machine[name as keyof typeof machine], name);
      assert.ok(bin.length < 16 * 1024, `${name} is ${bin.length} bytes`);
    }
  });

  it("is rebuilt to the same bytes by the same compilers", (t) => {
    if (
      compiler("gcc") !== shimCompilers.amd64 ||
      compiler("aarch64-linux-gnu-gcc") !== shimCompilers.arm64
    ) {
      // Other compiler versions make other bytes; CI installs the recorded ones.
      t.skip(`needs ${shimCompilers.amd64} and ${shimCompilers.arm64}`);
      return;
    }
    const out = join(dir, "exec-shim.ts");
    execFileSync("bash", [join(root, "scripts/gen-shim.sh"), out], { stdio: "ignore" });
    assert.equal(
      readFileSync(out, "utf8"),
      readFileSync(join(root, "src/gen/exec-shim.ts"), "utf8"),
    );
  });
});

// The shim for this machine, run on the host: what it does with a command, not the engine.
describe("hln-exec on this machine", { skip: arch() !== "x64" && arch() !== "arm64" }, () => {
  const shim = join(dir, "hln-exec");
  writeFileSync(shim, Buffer.from(shimBinaries[arch() === "x64" ? "amd64" : "arm64"], "base64"));
  chmodSync(shim, 0o755);
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    spawnSync(shim, args, { encoding: "utf8", env });

  it("runs a command found in PATH with its arguments intact, and exits with its code", () => {
    const r = run(["sh", "-c", 'printf "%s|" "$@"; exit 4', "x", "a b", "$HOME", ""]);
    assert.equal(r.stdout, "a b|$HOME||");
    assert.equal(r.status, 4);
  });

  it("searches PATH as execvp does: in order, skipping what is missing or not executable", () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    for (const d of [a, b]) execFileSync("mkdir", ["-p", d]);
    writeFileSync(join(a, "tool"), "#!/bin/sh\necho from-a\n", { mode: 0o644 });
    writeFileSync(join(b, "tool"), "#!/bin/sh\necho from-b\n", { mode: 0o755 });
    const r = run(["tool"], { PATH: `/nonexistent:${a}:${b}` });
    assert.equal(r.stdout, "from-b\n");
    assert.equal(r.status, 0);
  });

  it("runs a script without #! through /bin/sh, as execvp does", () => {
    const script = join(dir, "plain-script");
    writeFileSync(script, 'echo "plain $1"\n', { mode: 0o755 });
    assert.equal(run([script, "ok"]).stdout, "plain ok\n");
  });

  // The command's stderr reaches the engine's log through the shim's stdout (see the
  // source for why); the reason a command cannot start is the command's stderr.
  it("says in one line why a command cannot start: 127 when missing, 126 otherwise", () => {
    const missing = run(["no-such-command-hln"], { PATH: "/usr/bin:/bin" });
    assert.equal(missing.status, 127);
    assert.equal(
      missing.stdout,
      'hln: exec "no-such-command-hln": no such file or directory in PATH\n',
    );
    const path = run(["/no/such/file"]);
    assert.equal(path.status, 127);
    assert.equal(path.stdout, 'hln: exec "/no/such/file": no such file or directory\n');
    const notExec = join(dir, "not-executable");
    writeFileSync(notExec, "data", { mode: 0o644 });
    const denied = run([notExec]);
    assert.equal(denied.status, 126);
    assert.equal(denied.stdout, `hln: exec "${notExec}": permission denied\n`);
  });

  it("reads a long argv from a file and names E2BIG when the kernel refuses it", () => {
    const file = join(dir, "argv");
    writeFileSync(file, Buffer.from(`echo\0${"x".repeat(200_000)}\0`));
    const r = run([`-@${file}`]);
    assert.equal(r.status, 126);
    assert.equal(r.stdout, 'hln: exec "echo": argument list too long\n');
    writeFileSync(file, Buffer.from("printf\0%s-%s\0a b\0c\0"));
    assert.equal(run([`-@${file}`]).stdout, "a b-c");
  });

  it("exits 0 for accepted codes, and with the code for others", () => {
    assert.equal(run(["-x0,3", "sh", "-c", "exit 3"]).status, 0);
    assert.equal(run(["-x0,3", "sh", "-c", "exit 4"]).status, 4);
    assert.equal(run(["-x0,3", "--", "sh", "-c", "exit 0"]).status, 0);
    assert.equal(run(["-x300", "true"]).status, 125);
  });

  it("reports death by signal as 128+N and passes SIGTERM on to the command", () => {
    assert.equal(run(["sh", "-c", "kill -9 $$"]).status, 137);
    const script = join(dir, "on-term");
    writeFileSync(
      script,
      "#!/bin/sh\nsleep 30 & s=$!\ntrap 'kill $s; echo term; exit 9' TERM\necho ready\nwait\n",
      { mode: 0o755 },
    );
    const out = join(dir, "on-term.out");
    // Signalled once the command says it is ready: its trap is set by then.
    const driver = `"$0" "$1" >"$2" & p=$!; until grep -q ready "$2"; do sleep 0.05; done; kill -TERM $p; wait $p`;
    const r = spawnSync("sh", ["-c", driver, shim, script, out], { encoding: "utf8" });
    assert.equal(readFileSync(out, "utf8"), "ready\nterm\n");
    assert.equal(r.status, 9);
  });

  it("passes stdout and stderr on as one stream, in the order they were written", () => {
    const script =
      "for i in 1 2 3 4 5 6 7 8; do echo out$i; sleep 0.02; echo err$i >&2; sleep 0.02; done; seq 1 3000; echo last >&2";
    const r = run(["sh", "-c", script]);
    const want = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((i) => [`out${i}`, `err${i}`]);
    const seq = Array.from({ length: 3000 }, (_, i) => `${i + 1}`);
    assert.equal(r.stdout, `${[...want, ...seq, "last"].join("\n")}\n`);
    assert.equal(r.stderr, "");
  });

  it("does not wait for a background process that keeps the output open", () => {
    const r = run(["sh", "-c", "sleep 2 & echo started"]);
    assert.equal(r.stdout, "started\n");
    assert.equal(r.status, 0);
  });
});
