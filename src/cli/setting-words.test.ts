import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { reportError } from "./errors.js";
import { cliSettingNamer } from "./setting-words.js";

const given = (flags: string[], env: NodeJS.ProcessEnv = {}) =>
  cliSettingNamer({ flags: new Set(flags), env });

describe("cliSettingNamer", () => {
  it("names the flag the user gave", () => {
    assert.equal(given(["--tlscacert"], { BUILDKIT_TLS_CA: "/x" })("tlsCa"), "--tlscacert");
    assert.equal(given(["--cache-to"])("cacheTo", "type=inline"), "--cache-to type=inline");
    assert.equal(given(["--tlskey"])("tlsClientCert"), "--tlscert and --tlskey");
  });

  it("names the variable the environment set", () => {
    assert.equal(given([], { BUILDKIT_TLS_CA: "/x" })("tlsCa"), "BUILDKIT_TLS_CA");
    assert.equal(given([], { HLN_SILENCE_TIMEOUT: "5s" })("silenceTimeout"), "HLN_SILENCE_TIMEOUT");
    assert.equal(given([], { BUILDKIT_HOST: "tcp://x:1" })("engine"), "BUILDKIT_HOST");
    assert.equal(
      given([], { BUILDKIT_TLS_KEY: "/k" })("tlsClientCert"),
      "BUILDKIT_TLS_CERT and BUILDKIT_TLS_KEY",
    );
  });

  it("names the flag and the variable when the user gave neither", () => {
    assert.equal(given([])("tlsCa"), "--tlscacert (or BUILDKIT_TLS_CA)");
    assert.equal(given([])("silenceTimeout"), "HLN_SILENCE_TIMEOUT");
    assert.equal(given([])("dockerHost", "unix:///s"), "DOCKER_HOST=unix:///s");
  });
});

describe("reportError with a remedy", () => {
  const report = (err: HlnError, flags: string[], env: NodeJS.ProcessEnv = {}) => {
    let out = "";
    reportError(err, { debug: false, write: (s) => (out += s), names: given(flags, env) });
    return out;
  };
  const lost = new HlnError("E_ENGINE_PROTOCOL", "lost the connection to tcp://x:1", {
    hint: "the network or the engine went away",
    remedy: { settings: ["silenceTimeout"], does: "sets how long to wait" },
  });

  it("prints the hint with the setting in the CLI's words", () => {
    assert.equal(
      report(lost, []),
      "hln: error: lost the connection to tcp://x:1\n  hint: the network or the engine went away; HLN_SILENCE_TIMEOUT sets how long to wait\n",
    );
    const classic = new HlnError("E_ENGINE_CAPABILITY", "x: cache export type=local needs ...", {
      hint: "enable the containerd store",
      remedy: { lead: "or use", settings: ["cacheTo"], value: "type=inline" },
    });
    assert.match(
      report(classic, ["--cache-to"]),
      /hint: enable the containerd store; or use --cache-to type=inline\n$/,
    );
    const ca = new HlnError("E_ENGINE_UNREACHABLE", "cannot reach", {
      remedy: { settings: ["tlsCa"] },
    });
    assert.match(report(ca, [], { BUILDKIT_TLS_CA: "/etc/ssl/x" }), /hint: set BUILDKIT_TLS_CA\n$/);
    assert.match(report(ca, ["--tlscacert"]), /hint: set --tlscacert\n$/);
  });

  it("prints the library's words without a namer", () => {
    let out = "";
    reportError(lost, { debug: false, write: (s) => (out += s) });
    assert.match(
      out,
      /hint: the network or the engine went away; silenceTimeoutMs sets how long to wait\n$/,
    );
  });
});
