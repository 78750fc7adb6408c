/**
 * A minimal ustar (POSIX.1-1988) writer, for the few small files hln puts into a container
 * before it starts (secrets, through `PUT /containers/{id}/archive`). Only regular files
 * and the directories above them; the same entries give the same bytes (mtime 0, sorted),
 * and nothing of the files is written anywhere but the archive.
 */
import { HlnError } from "../errors.js";

export interface TarEntry {
  /** Relative, `/`-separated, e.g. `run/secrets/db-password`. */
  path: string;
  data: Uint8Array;
  /** Permission bits, e.g. 0o400. */
  mode: number;
  /** Owner in the container; 0 (root) by default. */
  uid?: number;
  gid?: number;
}

const block = 512;
/** ustar field sizes (POSIX pax spec, "ustar Interchange Format"). */
const nameSize = 100;
const prefixSize = 155;
/** The largest value an 8-byte octal field holds: 7 digits and a NUL. */
const maxId = 0o7777777;
/** The largest size the 12-byte octal field holds: 11 digits and a NUL (8 GiB). */
const maxSize = 0o77777777777;

/**
 * A tar archive of `entries`, with a directory entry (mode 0755, owned by root) for every
 * parent, paths sorted, mtime 0. A path that is not relative and plain, a path given twice
 * or used both as a file and as a directory, a mode or owner out of range, and a path
 * longer than ustar can hold, each fail with E_USAGE naming the path.
 */
export function tarFiles(entries: readonly TarEntry[]): Uint8Array {
  const files = new Map<string, TarEntry>();
  const dirs = new Set<string>();
  for (const e of entries) {
    checkPath(e.path);
    if (files.has(e.path)) throw bad(e.path, "the path is given twice");
    checkNumber(e.path, "mode", e.mode, 0o7777);
    checkNumber(e.path, "uid", e.uid ?? 0, maxId);
    checkNumber(e.path, "gid", e.gid ?? 0, maxId);
    if (e.data.byteLength > maxSize) throw bad(e.path, "the file is larger than ustar holds");
    files.set(e.path, e);
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const d of dirs)
    if (files.has(d)) throw bad(d, "the path is both a file and the directory of another file");

  const paths = [...files.keys(), ...dirs].sort(byBytes);
  const chunks: Uint8Array[] = [];
  for (const path of paths) {
    const file = files.get(path);
    if (file) {
      chunks.push(header(path, "0", file.mode, file.uid ?? 0, file.gid ?? 0, file.data.byteLength));
      chunks.push(file.data);
      const pad = (block - (file.data.byteLength % block)) % block;
      if (pad > 0) chunks.push(new Uint8Array(pad));
    } else {
      chunks.push(header(`${path}/`, "5", 0o755, 0, 0, 0));
    }
  }
  // Two zero blocks end the archive.
  chunks.push(new Uint8Array(2 * block));
  return Buffer.concat(chunks);
}

function header(
  path: string,
  type: "0" | "5",
  mode: number,
  uid: number,
  gid: number,
  size: number,
): Uint8Array {
  const h = Buffer.alloc(block);
  const { name, prefix } = splitPath(path);
  h.write(name, 0, nameSize, "utf8");
  octal(h, 100, 8, mode);
  octal(h, 108, 8, uid);
  octal(h, 116, 8, gid);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h.write(type, 156, 1, "latin1");
  h.write("ustar\0", 257, 6, "latin1");
  h.write("00", 263, 2, "latin1");
  h.write(prefix, 345, prefixSize, "utf8");
  // The checksum is the sum of the header's bytes with its own field read as spaces,
  // written as six octal digits, a NUL and a space (as Go's archive/tar writes it).
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return h;
}

/** A zero-padded octal number and a NUL, filling `size` bytes at `at`. */
function octal(h: Buffer, at: number, size: number, value: number): void {
  h.write(`${value.toString(8).padStart(size - 1, "0")}\0`, at, size, "latin1");
}

/**
 * ustar keeps 100 bytes of name; a longer path puts its leading directories, up to 155
 * bytes, in the prefix field, cut at a `/` (which neither field keeps).
 */
function splitPath(path: string): { name: string; prefix: string } {
  const bytes = Buffer.from(path, "utf8");
  if (bytes.length <= nameSize) return { name: path, prefix: "" };
  // The rightmost cut leaves the shortest name; a directory's trailing `/` is no cut.
  const cut = bytes.lastIndexOf(0x2f, Math.min(prefixSize, bytes.length - 2));
  if (cut <= 0 || bytes.length - cut - 1 > nameSize)
    throw bad(
      path.replace(/\/$/, ""),
      `the path is too long for a tar archive (at most ${nameSize} bytes after a directory part of at most ${prefixSize})`,
    );
  return {
    prefix: bytes.subarray(0, cut).toString("utf8"),
    name: bytes.subarray(cut + 1).toString("utf8"),
  };
}

function checkPath(path: string): void {
  if (path === "") throw bad(path, "the path is empty");
  if (path.startsWith("/")) throw bad(path, "the path must be relative");
  if (path.includes("\0")) throw bad(path, "the path contains a NUL byte");
  for (const part of path.split("/"))
    if (part === "" || part === "." || part === "..")
      throw bad(path, "the path must be plain: no empty, '.' or '..' parts");
}

function checkNumber(path: string, field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw bad(path, `${field} ${value} is not an integer from 0 to 0o${max.toString(8)}`);
}

/** Sorted as bytes, as Go sorts strings, so every parent comes before what it holds. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function bad(path: string, why: string): HlnError {
  return new HlnError("E_USAGE", `tar entry ${JSON.stringify(path)}: ${why}`);
}
