import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StdcopyDemuxer, type StdStream } from "./stdcopy.js";

function frame(stream: number, payload: string): Buffer {
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([head, Buffer.from(payload)]);
}

function collect() {
  const out: [StdStream, string][] = [];
  const d = new StdcopyDemuxer((s, p) => out.push([s, p.toString()]));
  return { d, out };
}

describe("StdcopyDemuxer", () => {
  it("separates stdout from stderr", () => {
    const { d, out } = collect();
    d.push(Buffer.concat([frame(1, "hello"), frame(2, "oops"), frame(1, " world")]));
    assert.deepEqual(out, [
      ["stdout", "hello"],
      ["stderr", "oops"],
      ["stdout", " world"],
    ]);
    assert.equal(d.buffered, 0);
  });

  it("reassembles frames split at every byte", () => {
    const { d, out } = collect();
    const bytes = Buffer.concat([frame(1, "abc"), frame(2, ""), frame(1, "defg")]);
    for (const b of bytes) d.push(Buffer.from([b]));
    assert.deepEqual(out, [
      ["stdout", "abc"],
      ["stdout", "defg"],
    ]);
  });

  it("refuses a corrupt header instead of passing garbage on", () => {
    const { d } = collect();
    assert.throws(() => d.push(Buffer.from("HTTP/1.1 200 OK\r\n")), /corrupt multiplexed stream/);
  });
});
