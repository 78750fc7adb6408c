/**
 * `File.export` against a stand-in exporter: the solver's export is replaced by the real fsutil
 * receiver fed a hostile stream, so what File.export does with what arrives is tested without
 * an engine. The export copies the file with followSymlink, so a correct engine always sends
 * one regular file; anything else must not reach the user's path.
 */
import assert from "node:assert/strict";
import { lstat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createMemoryPacketStreams } from "../buildkit/fsutil/memory-stream.js";
import { receiveDirectory } from "../buildkit/fsutil/receive.js";
import { tempDir } from "../buildkit/fsutil/testdata/fixtures.js";
import {
  DIR,
  type Entry,
  FILE,
  LINK,
  scriptedSender,
} from "../buildkit/fsutil/testdata/scripted-sender.js";
import { makeSentinel, snapshotTree } from "../buildkit/fsutil/testdata/sentinel.js";
import { HlnError } from "../errors.js";
import { imageSource } from "../llb/index.js";
import { File } from "./file.js";
import type { Solver } from "./solver.js";

/** A solver whose every export is `entries`, received for real into the export's directory. */
function standInSolver(entries: Entry[]): Solver {
  const exportTo = async (
    _output: unknown,
    _exporter: unknown,
    options: { target?: { kind: string; path: string } },
  ) => {
    const [sender, receiver] = createMemoryPacketStreams();
    const sending = scriptedSender(sender, entries, { content: () => "from the engine\n" });
    try {
      await receiveDirectory(receiver, options.target!.path);
    } finally {
      receiver.close();
      await sending;
    }
    return {};
  };
  return { track: <T>(w: Promise<T>) => w, exportTo } as unknown as Solver;
}

describe("File.export against a stand-in exporter", () => {
  let base = "";
  let cleanup: () => Promise<void> = async () => undefined;
  before(async () => {
    const t = await tempDir("hln-file-export-");
    base = t.dir;
    cleanup = t.cleanup;
  });
  after(() => cleanup());

  const output = imageSource("docker.io/library/busybox:latest", {
    platform: { os: "linux", architecture: "amd64" },
  });
  let n = 0;

  async function exportWith(entries: (outside: string) => Entry[]) {
    const root = join(base, String(n++));
    const s = await makeSentinel(root);
    const target = join(s.dest, "os-release");
    await writeFile(target, "the user's previous file\n");
    const snap = () => snapshotTree(root, { noMtime: s.dest });
    const beforeSnap = await snap();
    const file = new File(standInSolver(entries(s.outside)), output, "/etc/os-release");
    const result = await file.export(target).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { result, target, s, beforeSnap, after: await snap() };
  }

  test("a regular file is put in place", async () => {
    const { result, target } = await exportWith(() => [{ path: "os-release", mode: FILE }]);
    assert.equal(result, undefined);
    assert.equal(await readFile(target, "utf8"), "from the engine\n");
  });

  const refused: [name: string, entries: (outside: string) => Entry[], code: string][] = [
    [
      "a symlink to a file outside",
      (outside) => [{ path: "os-release", mode: LINK, linkname: join(outside, "a.txt") }],
      "E_ENGINE_PROTOCOL",
    ],
    [
      "a symlink to /etc/shadow",
      () => [{ path: "os-release", mode: LINK, linkname: "/etc/shadow" }],
      "E_ENGINE_PROTOCOL",
    ],
    [
      "a directory",
      () => [
        { path: "os-release", mode: DIR },
        { path: "os-release/x", mode: FILE },
      ],
      // What a correct engine sends when the path names a directory: the user's mistake.
      "E_USAGE",
    ],
  ];
  for (const [name, entries, code] of refused) {
    test(`${name} in place of the file is refused; the user's file stays`, async (t) => {
      const { result, target, beforeSnap, after } = await exportWith(entries);
      assert.ok(result instanceof HlnError, `accepted: ${String(result)}`);
      assert.equal(result.code, code, result.message);
      t.diagnostic(result.message);
      assert.doesNotMatch(result.message, /\n/);
      assert.match(result.message, /os-release"/);
      assert.ok((await lstat(target)).isFile());
      assert.equal(await readFile(target, "utf8"), "the user's previous file\n");
      // Nothing around it changed either, and no staging directory is left.
      assert.deepEqual(after, beforeSnap);
    });
  }
});
