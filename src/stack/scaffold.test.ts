import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/temp-dir.js";
import type { HlnError } from "../errors.js";
import { scaffoldFiles, scaffoldStack, stackNameFrom } from "./scaffold.js";

const types = { entry: "/opt/hln/dist/index.d.ts" };

describe("stackNameFrom", () => {
  it("makes a directory's name a valid stack name", () => {
    assert.equal(stackNameFrom("shop"), "shop");
    assert.equal(stackNameFrom("My Shop_v2"), "my-shop-v2");
    assert.equal(stackNameFrom("--Web..API--"), "web-api");
    assert.equal(stackNameFrom("Café"), "cafe");
    assert.equal(stackNameFrom("2024"), "2024");
    assert.equal(stackNameFrom("___"), "my-stack");
  });
});

describe("scaffoldFiles", () => {
  it("names the stack and points tsconfig at hln's types", () => {
    const files = scaffoldFiles("shop", types);
    assert.deepEqual(Object.keys(files), [
      "stack.ts",
      "package.json",
      "tsconfig.json",
      "README.md",
      ".gitignore",
    ]);
    assert.match(files["stack.ts"]!, /name: "shop"/);
    const pkg = JSON.parse(files["package.json"]!);
    assert.equal(pkg.private, true);
    assert.equal(pkg.type, "module");
    assert.ok(pkg.scripts.up && pkg.scripts.typecheck);
    const ts = JSON.parse(files["tsconfig.json"]!);
    assert.deepEqual(ts.compilerOptions.paths, { hln: [types.entry] });
    assert.equal(ts.compilerOptions.strict, true);
    // No @types/node beside an installed hln: the scaffold must not ask for it.
    assert.deepEqual(ts.compilerOptions.types, []);
    assert.match(files["README.md"]!, /@types\/node/);
    assert.match(files[".gitignore"]!, /^node_modules\/$/m);
  });

  it("uses Node's types when they sit beside hln", () => {
    const ts = JSON.parse(
      scaffoldFiles("x", { entry: "/src/index.ts", typeRoot: "/nm/@types" })["tsconfig.json"]!,
    );
    assert.deepEqual(ts.compilerOptions.types, ["node"]);
    assert.deepEqual(ts.compilerOptions.typeRoots, ["/nm/@types"]);
  });
});

describe("scaffoldStack", () => {
  it("creates a missing directory, parents included, and names the stack after it", async () => {
    const dir = join(tempDir("hln-scaffold-"), "a", "Web API");
    const r = await scaffoldStack({ directory: dir, types });
    assert.equal(r.name, "web-api");
    assert.deepEqual(readdirSync(dir).sort(), [
      ".gitignore",
      "README.md",
      "package.json",
      "stack.ts",
      "tsconfig.json",
    ]);
    assert.match(readFileSync(join(dir, "stack.ts"), "utf8"), /name: "web-api"/);
  });

  it("takes a directory that holds only .git", async () => {
    const dir = tempDir("hln-scaffold-");
    mkdirSync(join(dir, ".git"));
    const r = await scaffoldStack({ directory: dir, name: "kept", types });
    assert.equal(r.name, "kept");
    assert.ok(readdirSync(dir).includes("stack.ts"));
  });

  it("refuses a directory with anything else in it, and writes nothing", async () => {
    const dir = tempDir("hln-scaffold-");
    writeFileSync(join(dir, "notes.txt"), "mine");
    await assert.rejects(
      scaffoldStack({ directory: dir, types }),
      (e: HlnError) =>
        e.code === "E_USAGE" && /directory is not empty \(notes\.txt\)/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), ["notes.txt"]);
  });

  it("refuses a file, and a name the loader would refuse", async () => {
    const dir = tempDir("hln-scaffold-");
    const file = join(dir, "f");
    writeFileSync(file, "");
    await assert.rejects(scaffoldStack({ directory: file, types }), /: not a directory$/);
    await assert.rejects(
      scaffoldStack({ directory: join(dir, "new"), name: "Shop", types }),
      /^HlnError: --name Shop: a stack name is lowercase/,
    );
    assert.deepEqual(readdirSync(dir), ["f"]);
  });

  it("removes what it wrote, and the directories it made, when stopped part way", async () => {
    const root = tempDir("hln-scaffold-");
    let checks = 0;
    // Cancelled after two files are written.
    const signal = {
      throwIfAborted() {
        if (++checks > 3) throw new DOMException("stopped", "AbortError");
      },
    } as AbortSignal;
    await assert.rejects(
      scaffoldStack({ directory: join(root, "a", "b"), types, signal }),
      (e: HlnError) => e.code === "E_ABORTED",
    );
    assert.equal(checks, 4);
    assert.deepEqual(readdirSync(root), []);

    // A directory that was there stays, empty again.
    checks = 0;
    await assert.rejects(scaffoldStack({ directory: root, types, signal }));
    assert.deepEqual(readdirSync(root), []);
  });

  it("stops before writing when cancelled", async () => {
    const dir = join(tempDir("hln-scaffold-"), "new");
    await assert.rejects(
      scaffoldStack({ directory: dir, types, signal: AbortSignal.abort() }),
      (e: Error) => e.name === "AbortError",
    );
    assert.throws(() => readdirSync(dir), { code: "ENOENT" });
  });
});
