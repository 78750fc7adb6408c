import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { SolveRequestSchema } from "../gen/buildkit/control_pb.js";
import { dumpRequest } from "./request-dump.js";

const root = mkdtempSync(join(tmpdir(), "hln-request-dump-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("dumpRequest", () => {
  const req = create(SolveRequestSchema, { ref: "abc", frontendAttrs: { a: "b" } });

  it("writes nothing when the directory is not named", () => {
    dumpRequest("solve", SolveRequestSchema, req, {});
    assert.deepEqual(readdirSync(root), []);
  });

  it("writes each request as protobuf that reads back the same, numbered in order", () => {
    const dir = join(root, "a", "b");
    dumpRequest("solve", SolveRequestSchema, req, { HLN_DEBUG_LLB_DIR: dir });
    dumpRequest("solve", SolveRequestSchema, req, { HLN_DEBUG_LLB_DIR: dir });
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2);
    assert.match(files[0]!, new RegExp(`^${process.pid}-\\d{4}-solve\\.pb$`));
    assert.ok(files[0]! < files[1]!);
    assert.equal(fromBinary(SolveRequestSchema, readFileSync(join(dir, files[0]!))).ref, "abc");
  });

  it("says where it could not write, as a usage error", () => {
    const file = join(root, "a-file");
    writeFileSync(file, "");
    assert.throws(
      () => dumpRequest("solve", SolveRequestSchema, req, { HLN_DEBUG_LLB_DIR: file }),
      (err) =>
        err instanceof HlnError &&
        err.code === "E_USAGE" &&
        /^cannot write the solve request to .*a-file\/\d+-\d{4}-solve\.pb: /.test(err.message),
    );
  });
});
