import assert from "node:assert/strict";
import { lstat, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  chmodBitsFromGo,
  GoMode,
  goModeFromUnix,
  isRegularMode,
  unixModeFromGo,
} from "./file-mode.js";

test("unix st_mode maps to Go os.FileMode bits and back", () => {
  const cases: [stMode: number, goMode: number][] = [
    [0o100644, 0o644],
    [0o040755, (GoMode.dir | 0o755) >>> 0],
    [0o120777, GoMode.symlink | 0o777],
    [0o010600, GoMode.namedPipe | 0o600],
    [0o140755, GoMode.socket | 0o755],
    [0o020620, GoMode.device | GoMode.charDevice | 0o620],
    [0o060660, GoMode.device | 0o660],
    [0o104755, GoMode.setuid | 0o755],
    [0o102755, GoMode.setgid | 0o755],
    [0o041777, (GoMode.dir | GoMode.sticky | 0o777) >>> 0],
  ];
  for (const [st, go] of cases) {
    assert.equal(goModeFromUnix(st), go, st.toString(8));
    assert.equal(unixModeFromGo(go), st, go.toString(16));
  }
  assert.equal(GoMode.dir, 2 ** 31);
  assert.equal(chmodBitsFromGo(GoMode.setuid | 0o4755), 0o4755);
  assert.equal(isRegularMode(0o644), true);
  assert.equal(isRegularMode(GoMode.setuid | 0o755), true);
  assert.equal(isRegularMode(GoMode.symlink | 0o777), false);
  assert.equal(isRegularMode(GoMode.irregular), false);
});

test("real files and links convert as Go would see them", async () => {
  const dir = await mkdtemp(join(tmpdir(), "hln-mode-"));
  try {
    await writeFile(join(dir, "f"), "x", { mode: 0o640 });
    await symlink("f", join(dir, "l"));
    assert.equal(goModeFromUnix((await lstat(join(dir, "f"))).mode), 0o640);
    assert.equal(
      (goModeFromUnix((await lstat(join(dir, "l"))).mode) & ~0o777) >>> 0,
      GoMode.symlink,
    );
    assert.equal((goModeFromUnix((await lstat(dir)).mode) & ~0o777) >>> 0, GoMode.dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
