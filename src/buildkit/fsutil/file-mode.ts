/**
 * Go `os.FileMode` bits, which is what fsutil puts in `Stat.mode` (fsutil types/stat.proto),
 * and their mapping to and from unix `st_mode` as Node reports it in `fs.Stats.mode`.
 * The mapping follows Go's os package (stat_linux.go fillFileStatFromSys).
 */

/** The type and special bits of Go's `io/fs.FileMode`. Values above 2^31 are kept unsigned. */
export const GoMode = {
  dir: 0x8000_0000,
  append: 1 << 30,
  exclusive: 1 << 29,
  temporary: 1 << 28,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  setuid: 1 << 23,
  setgid: 1 << 22,
  charDevice: 1 << 21,
  sticky: 1 << 20,
  irregular: 1 << 19,
  perm: 0o777,
} as const;

/** Go's `fs.ModeType`: the bits that make an entry something other than a regular file. */
export const GO_MODE_TYPE =
  (GoMode.dir |
    GoMode.symlink |
    GoMode.namedPipe |
    GoMode.socket |
    GoMode.device |
    GoMode.charDevice |
    GoMode.irregular) >>>
  0;

// Unix st_mode bits (sys/stat.h); numeric so this module needs no node:fs import.
const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/** Converts a unix `st_mode` (as in `fs.Stats.mode`) to Go `os.FileMode` bits. */
export function goModeFromUnix(stMode: number): number {
  let mode = stMode & GoMode.perm;
  switch (stMode & S_IFMT) {
    case S_IFBLK:
      mode |= GoMode.device;
      break;
    case S_IFCHR:
      mode |= GoMode.device | GoMode.charDevice;
      break;
    case S_IFDIR:
      mode |= GoMode.dir;
      break;
    case S_IFIFO:
      mode |= GoMode.namedPipe;
      break;
    case S_IFLNK:
      mode |= GoMode.symlink;
      break;
    case S_IFSOCK:
      mode |= GoMode.socket;
      break;
    default:
      // S_IFREG: a regular file has no type bits in Go.
      break;
  }
  if (stMode & S_ISUID) mode |= GoMode.setuid;
  if (stMode & S_ISGID) mode |= GoMode.setgid;
  if (stMode & S_ISVTX) mode |= GoMode.sticky;
  return mode >>> 0;
}

/** Converts Go `os.FileMode` bits back to a unix `st_mode`. Irregular maps to a regular file. */
export function unixModeFromGo(goMode: number): number {
  let mode = goMode & GoMode.perm;
  if (goMode & GoMode.dir) mode |= S_IFDIR;
  else if (goMode & GoMode.symlink) mode |= S_IFLNK;
  else if (goMode & GoMode.device) mode |= goMode & GoMode.charDevice ? S_IFCHR : S_IFBLK;
  else if (goMode & GoMode.namedPipe) mode |= S_IFIFO;
  else if (goMode & GoMode.socket) mode |= S_IFSOCK;
  else mode |= S_IFREG;
  if (goMode & GoMode.setuid) mode |= S_ISUID;
  if (goMode & GoMode.setgid) mode |= S_ISGID;
  if (goMode & GoMode.sticky) mode |= S_ISVTX;
  return mode;
}

/** The permission and special bits (`chmod` argument) of a Go mode. */
export function chmodBitsFromGo(goMode: number): number {
  return unixModeFromGo(goMode) & 0o7777;
}

export function isDirMode(goMode: number): boolean {
  return (goMode & GoMode.dir) !== 0;
}

export function isSymlinkMode(goMode: number): boolean {
  return (goMode & GoMode.symlink) !== 0;
}

/**
 * Whether the receiver may request this entry's content: no type bit set. Sender and receiver
 * must agree on it, since both number the files the same way (fsutil send.go
 * fileCanRequestData).
 */
export function isRegularMode(goMode: number): boolean {
  return (goMode & GO_MODE_TYPE) === 0;
}
