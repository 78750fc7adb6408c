import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { tarFiles } from "./tar-file.js";

const text = (s: string) => new TextEncoder().encode(s);

/** The entries of a ustar archive as a reader sees them, checksums checked. */
function read(tar: Uint8Array) {
  const buf = Buffer.from(tar);
  const out: {
    path: string;
    type: string;
    mode: number;
    uid: number;
    gid: number;
    data: string;
  }[] = [];
  let at = 0;
  for (;;) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const field = (from: number, size: number) =>
      h
        .subarray(from, from + size)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const num = (from: number, size: number) => Number.parseInt(field(from, size), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    assert.equal(num(148, 8), sum, "checksum");
    assert.equal(field(257, 6), "ustar");
    assert.equal(num(136, 12), 0, "mtime");
    const prefix = field(345, 155);
    const size = num(124, 12);
    out.push({
      path: prefix ? `${prefix}/${field(0, 100)}` : field(0, 100),
      type: field(156, 1),
      mode: num(100, 8),
      uid: num(108, 8),
      gid: num(116, 8),
      data: buf.subarray(at + 512, at + 512 + size).toString("utf8"),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  assert.ok(buf.subarray(at, at + 1024).every((b) => b === 0) && buf.length === at + 1024);
  return out;
}

describe("tarFiles", () => {
  it("writes the files and a directory for every parent, sorted", () => {
    const tar = tarFiles([
      { path: "run/secrets/db-password", data: text("s3cret\n"), mode: 0o400, uid: 70, gid: 70 },
      { path: "etc/app.conf", data: new Uint8Array(0), mode: 0o644 },
      { path: "run/secrets/api-key", data: text("k".repeat(600)), mode: 0o440 },
    ]);
    assert.equal(tar.byteLength % 512, 0);
    assert.deepEqual(read(tar), [
      { path: "etc/", type: "5", mode: 0o755, uid: 0, gid: 0, data: "" },
      { path: "etc/app.conf", type: "0", mode: 0o644, uid: 0, gid: 0, data: "" },
      { path: "run/", type: "5", mode: 0o755, uid: 0, gid: 0, data: "" },
      { path: "run/secrets/", type: "5", mode: 0o755, uid: 0, gid: 0, data: "" },
      {
        path: "run/secrets/api-key",
        type: "0",
        mode: 0o440,
        uid: 0,
        gid: 0,
        data: "k".repeat(600),
      },
      {
        path: "run/secrets/db-password",
        type: "0",
        mode: 0o400,
        uid: 70,
        gid: 70,
        data: "s3cret\n",
      },
    ]);
  });

  it("gives the same bytes for the same entries in any order", () => {
    const a = { path: "x/a", data: text("a"), mode: 0o600 };
    const b = { path: "y", data: text("b"), mode: 0o600 };
    assert.deepEqual(tarFiles([a, b]), tarFiles([b, a]));
  });

  it("puts the directories of a long path in the prefix field", () => {
    const [d, e, g] = ["d".repeat(60), "e".repeat(60), "g".repeat(30)];
    const path = `${d}/${e}/${g}/${"f".repeat(99)}`;
    const entries = read(tarFiles([{ path, data: text("x"), mode: 0o600 }]));
    assert.deepEqual(
      entries.map((x) => x.path),
      [`${d}/`, `${d}/${e}/`, `${d}/${e}/${g}/`, path],
    );
    assert.equal(entries.at(-1)?.data, "x");
  });

  const cases: [string, Parameters<typeof tarFiles>[0], string][] = [
    [
      "an absolute path",
      [{ path: "/run/x", data: text(""), mode: 0o600 }],
      `tar entry "/run/x": the path must be relative`,
    ],
    [
      "a '..' part",
      [{ path: "run/../x", data: text(""), mode: 0o600 }],
      `tar entry "run/../x": the path must be plain: no empty, '.' or '..' parts`,
    ],
    [
      "an empty part",
      [{ path: "run//x", data: text(""), mode: 0o600 }],
      `tar entry "run//x": the path must be plain: no empty, '.' or '..' parts`,
    ],
    [
      "an empty path",
      [{ path: "", data: text(""), mode: 0o600 }],
      `tar entry "": the path is empty`,
    ],
    [
      "a path given twice",
      [
        { path: "a", data: text("1"), mode: 0o600 },
        { path: "a", data: text("2"), mode: 0o600 },
      ],
      `tar entry "a": the path is given twice`,
    ],
    [
      "a file that is also a directory",
      [
        { path: "a", data: text("1"), mode: 0o600 },
        { path: "a/b", data: text("2"), mode: 0o600 },
      ],
      `tar entry "a": the path is both a file and the directory of another file`,
    ],
    [
      "a mode out of range",
      [{ path: "a", data: text(""), mode: 0o10000 }],
      `tar entry "a": mode 4096 is not an integer from 0 to 0o7777`,
    ],
    [
      "a negative uid",
      [{ path: "a", data: text(""), mode: 0o600, uid: -1 }],
      `tar entry "a": uid -1 is not an integer from 0 to 0o7777777`,
    ],
    [
      "a file name over 100 bytes",
      [{ path: `run/${"n".repeat(101)}`, data: text(""), mode: 0o600 }],
      `tar entry "run/${"n".repeat(101)}": the path is too long for a tar archive (at most 100 bytes after a directory part of at most 155)`,
    ],
    [
      "a directory part over 155 bytes",
      [{ path: `${"d".repeat(156)}/f`, data: text(""), mode: 0o600 }],
      `tar entry "${"d".repeat(156)}": the path is too long for a tar archive (at most 100 bytes after a directory part of at most 155)`,
    ],
  ];
  for (const [name, entries, message] of cases)
    it(`fails with E_USAGE on ${name}`, () => {
      assert.throws(() => tarFiles(entries), { name: "HlnError", code: "E_USAGE", message });
    });
});

describe("tarFiles read by GNU tar", () => {
  const dir = mkdtempSync(join(tmpdir(), "hln-tar-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("extracts with the modes it was given", () => {
    const long = `${"p".repeat(90)}/${"p".repeat(40)}/${"q".repeat(90)}`;
    writeFileSync(
      join(dir, "a.tar"),
      tarFiles([
        { path: "run/secrets/db", data: text("s3cret"), mode: 0o400 },
        { path: long, data: text("far"), mode: 0o644 },
      ]),
    );
    const r = spawnSync("tar", ["-xf", "a.tar", "--no-same-owner"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, "run/secrets/db"), "utf8"), "s3cret");
    assert.equal(statSync(join(dir, "run/secrets/db")).mode & 0o7777, 0o400);
    assert.equal(readFileSync(join(dir, long), "utf8"), "far");
  });
});
