import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError, hintText, remedyText } from "./errors.js";

describe("HlnError remedy", () => {
  it("keeps the remedy as data and writes it into the hint in the library's words", () => {
    const err = new HlnError("E_ENGINE_PROTOCOL", "lost the connection", {
      hint: "the network or the engine went away",
      remedy: { settings: ["silenceTimeout"], does: "sets how long to wait" },
    });
    assert.deepEqual(err.remedy, { settings: ["silenceTimeout"], does: "sets how long to wait" });
    assert.equal(err.advice, "the network or the engine went away");
    assert.equal(
      err.hint,
      "the network or the engine went away; silenceTimeoutMs sets how long to wait",
    );
  });

  it("writes a value and a lead", () => {
    assert.equal(
      remedyText({ lead: "or use", settings: ["cacheTo"], value: "type=inline" }),
      "or use a cache export of type=inline",
    );
    assert.equal(
      remedyText({ settings: ["tlsCa"] }),
      "set the CA certificate that signed the server's",
    );
    assert.equal(hintText(undefined, undefined), undefined);
    assert.equal(hintText("start it", undefined), "start it");
  });

  it("names every setting by the interface's namer", () => {
    const shout = (s: string, v?: string) => (v ? `<${s}=${v}>` : `<${s}>`);
    assert.equal(
      hintText("a", { settings: ["tlsClientCert", "tlsDir"] }, shout),
      "a; set <tlsClientCert> or <tlsDir>",
    );
  });

  it("is passed on by a wrapper that passes its cause's hint on", () => {
    const inner = new HlnError("E_INPUT_INVALID", "bad", {
      hint: "check it",
      remedy: { settings: ["engine"] },
    });
    const outer = new HlnError("E_INPUT_INVALID", "bad (engine from x)", {
      cause: inner,
      hint: inner.hint,
    });
    assert.deepEqual(outer.remedy, inner.remedy);
    assert.equal(outer.advice, "check it");
    assert.equal(outer.hint, inner.hint);
    const own = new HlnError("E_USAGE", "other", { cause: inner, hint: "another" });
    assert.equal(own.remedy, undefined);
    assert.equal(HlnError.from(inner), inner);
  });
});
