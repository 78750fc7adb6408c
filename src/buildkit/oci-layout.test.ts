import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tempDir } from "../../test/helpers/temp-dir.js";
import {
  CACHE_MANIFEST_RESPONSE_KEY,
  cacheManifest,
  findTag,
  localCacheStoreId,
  localCacheTag,
  type OciIndex,
  parseOciIndex,
  prepareLocalCacheImport,
  REF_NAME_ANNOTATION,
  recordLocalCacheExport,
  resolveLocalCacheImport,
  withTag,
} from "./oci-layout.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const C = `sha256:${"c".repeat(64)}`;
const LIST = "application/vnd.oci.image.index.v1+json";

function tagged(digest: string, tag: string) {
  return { mediaType: LIST, digest, size: 10, annotations: { [REF_NAME_ANNOTATION]: tag } };
}

const index: OciIndex = {
  schemaVersion: 2,
  mediaType: LIST,
  manifests: [tagged(A, "latest"), { mediaType: LIST, digest: C, size: 3 }, tagged(B, "v1")],
};

describe("local cache store ID and tag", () => {
  it("prefixes the attribute exactly as given", () => {
    assert.equal(localCacheStoreId("./cache"), "local:./cache");
    assert.equal(localCacheStoreId("/tmp/c/"), "local:/tmp/c/");
    assert.equal(localCacheStoreId("a b,c"), "local:a b,c");
  });

  it("refuses a directory BuildKit cannot put in gRPC metadata", () => {
    for (const dir of ["caché", "a\nb", ""]) {
      assert.throws(() => localCacheStoreId(dir), { code: "E_USAGE" });
    }
    assert.throws(() => resolveLocalCacheImport({ src: "cach\u00e9", digest: A }, undefined), {
      code: "E_USAGE",
      message: /printable ASCII/,
    });
  });

  it("defaults the tag to latest", () => {
    assert.equal(localCacheTag({}), "latest");
    assert.equal(localCacheTag({ tag: "" }), "latest");
    assert.equal(localCacheTag({ tag: "v1" }), "v1");
  });
});

describe("parseOciIndex", () => {
  it("keeps fields it does not know", () => {
    const parsed = parseOciIndex(
      JSON.stringify({ ...index, annotations: { x: "y" }, extra: 1 }),
      "c/index.json",
    );
    assert.equal(parsed.manifests.length, 3);
    assert.deepEqual(parsed.annotations, { x: "y" });
    assert.equal(parsed.extra, 1);
  });

  it("treats missing manifests as none", () => {
    assert.deepEqual(parseOciIndex('{"schemaVersion":2}', "f").manifests, []);
  });

  it("names the file when the content is not an index", () => {
    for (const text of ["{", "[]", '{"manifests":{}}', '{"manifests":[{"size":1}]}']) {
      assert.throws(() => parseOciIndex(text, "c/index.json"), {
        code: "E_INPUT_INVALID",
        message: /c\/index\.json/,
      });
    }
  });
});

describe("findTag and withTag", () => {
  it("finds the first entry with the tag annotation", () => {
    assert.equal(findTag(index, "v1")?.digest, B);
    assert.equal(findTag(index, "nope"), undefined);
  });

  it("replaces the tag's entry, keeps the others in order and appends the new one", () => {
    const next = withTag(index, "latest", { mediaType: LIST, digest: C, size: 42 });
    assert.deepEqual(
      next.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME_ANNOTATION]]),
      [
        [C, undefined],
        [B, "v1"],
        [C, "latest"],
      ],
    );
    assert.equal(next.manifests[2]?.size, 42);
    assert.equal(index.manifests.length, 3, "the input is not modified");
  });

  it("keeps the descriptor's own annotations and fields", () => {
    const next = withTag(undefined, "t", { digest: A, size: 1, annotations: { k: "v" }, urls: [] });
    assert.deepEqual(next, {
      schemaVersion: 2,
      mediaType: LIST,
      manifests: [
        { digest: A, size: 1, annotations: { k: "v", [REF_NAME_ANNOTATION]: "t" }, urls: [] },
      ],
    });
  });
});

describe("resolveLocalCacheImport", () => {
  it("adds the digest filed under the tag", () => {
    assert.deepEqual(resolveLocalCacheImport({ src: "c" }, index), { src: "c", digest: A });
    assert.deepEqual(resolveLocalCacheImport({ src: "c", tag: "v1" }, index), {
      src: "c",
      tag: "v1",
      digest: B,
    });
  });

  it("keeps a digest the user gave, without needing an index", () => {
    assert.deepEqual(resolveLocalCacheImport({ src: "c", digest: C }, undefined), {
      src: "c",
      digest: C,
    });
  });

  it("fails naming the directory when there is no index", () => {
    assert.throws(() => resolveLocalCacheImport({ src: "/x/cache" }, undefined), {
      code: "E_USAGE",
      message: /no cache to import from \/x\/cache: \/x\/cache\/index\.json does not exist/,
    });
  });

  it("fails naming the directory and the tag when the tag is missing, listing the tags", () => {
    assert.throws(
      () => resolveLocalCacheImport({ src: "/x/cache", tag: "v2" }, index),
      (err: Error & { code?: string; hint?: string }) => {
        assert.equal(err.code, "E_USAGE");
        assert.match(err.message, /no cache tagged "v2" in \/x\/cache\/index\.json/);
        assert.match(err.hint ?? "", /"latest", "v1"/);
        return true;
      },
    );
  });

  it("fails without src, and on a digest that is not sha256", () => {
    assert.throws(() => resolveLocalCacheImport({}, index), { code: "E_USAGE", message: /src/ });
    assert.throws(() => resolveLocalCacheImport({ src: "c", digest: "sha256:../x" }, index), {
      code: "E_USAGE",
    });
    const bad: OciIndex = { schemaVersion: 2, manifests: [tagged("md5:1", "latest")] };
    assert.throws(() => resolveLocalCacheImport({ src: "c" }, bad), { code: "E_INPUT_INVALID" });
  });
});

describe("cacheManifest", () => {
  it("reads the descriptor BuildKit puts in the exporter response", () => {
    const desc = { mediaType: LIST, digest: A, size: 512 };
    assert.deepEqual(cacheManifest({ [CACHE_MANIFEST_RESPONSE_KEY]: JSON.stringify(desc) }), desc);
    assert.equal(CACHE_MANIFEST_RESPONSE_KEY, "cache.manifest");
  });

  it("is undefined when there is none", () => {
    assert.equal(cacheManifest({ "containerimage.digest": A }), undefined);
  });

  it("fails on something that is not a descriptor", () => {
    for (const text of ["{", "null", '{"digest":"x","size":1}', `{"digest":"${A}"}`]) {
      assert.throws(() => cacheManifest({ "cache.manifest": text }), {
        code: "E_ENGINE_PROTOCOL",
      });
    }
  });
});

describe("recordLocalCacheExport and prepareLocalCacheImport", () => {
  const response = (digest: string) => ({
    [CACHE_MANIFEST_RESPONSE_KEY]: JSON.stringify({ mediaType: LIST, digest, size: 7 }),
  });

  it("creates the layout files, then round-trips through prepareLocalCacheImport", async () => {
    const dest = join(tempDir("hln-layout-"), "new", "cache");
    const desc = await recordLocalCacheExport({ dest, mode: "max" }, response(A));
    assert.equal(desc?.digest, A);
    assert.equal(readFileSync(join(dest, "oci-layout"), "utf8"), '{"imageLayoutVersion":"1.0.0"}');
    const written = JSON.parse(readFileSync(join(dest, "index.json"), "utf8"));
    assert.deepEqual(written, {
      schemaVersion: 2,
      mediaType: LIST,
      manifests: [
        { mediaType: LIST, digest: A, size: 7, annotations: { [REF_NAME_ANNOTATION]: "latest" } },
      ],
    });
    assert.deepEqual(readdirSync(dest).sort(), ["index.json", "oci-layout"], "no temporary files");
    assert.deepEqual(await prepareLocalCacheImport({ src: dest }), { src: dest, digest: A });
  });

  it("replaces only the tag's entry and leaves an existing oci-layout alone", async () => {
    const dest = tempDir("hln-layout-");
    writeFileSync(join(dest, "oci-layout"), '{"imageLayoutVersion":"1.0.0","mine":true}');
    writeFileSync(join(dest, "index.json"), JSON.stringify({ ...index, annotations: { a: "b" } }));
    await recordLocalCacheExport({ dest }, response(C));
    await recordLocalCacheExport({ dest, tag: "v1" }, response(A));
    const written = JSON.parse(readFileSync(join(dest, "index.json"), "utf8")) as OciIndex;
    assert.deepEqual(written.annotations, { a: "b" });
    assert.deepEqual(
      written.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME_ANNOTATION]]),
      [
        [C, undefined],
        [C, "latest"],
        [A, "v1"],
      ],
    );
    assert.match(readFileSync(join(dest, "oci-layout"), "utf8"), /"mine":true/);
    assert.deepEqual(await prepareLocalCacheImport({ src: dest, tag: "v1" }), {
      src: dest,
      tag: "v1",
      digest: A,
    });
  });

  it("writes nothing when the response has no cache manifest", async () => {
    const dest = join(tempDir("hln-layout-"), "cache");
    assert.equal(await recordLocalCacheExport({ dest }, {}), undefined);
    assert.throws(() => readdirSync(dest), { code: "ENOENT" });
  });

  it("keeps the old index when the new one cannot be parsed from the old", async () => {
    const dest = tempDir("hln-layout-");
    writeFileSync(join(dest, "index.json"), "not json");
    await assert.rejects(recordLocalCacheExport({ dest }, response(A)), {
      code: "E_INPUT_INVALID",
    });
    assert.equal(readFileSync(join(dest, "index.json"), "utf8"), "not json");
  });

  it("fails on import when the directory has no index", async () => {
    const src = tempDir("hln-layout-");
    await assert.rejects(prepareLocalCacheImport({ src }), {
      code: "E_USAGE",
      message: new RegExp(`no cache to import from ${src}`),
    });
  });

  it("honours the abort signal", async () => {
    const dest = tempDir("hln-layout-");
    const signal = AbortSignal.abort();
    await assert.rejects(recordLocalCacheExport({ dest }, response(A), { signal }), {
      code: "E_ABORTED",
    });
    await assert.rejects(prepareLocalCacheImport({ src: dest }, { signal }), { code: "E_ABORTED" });
    assert.ok(!readdirSync(dest).includes("index.json"));
  });
});
