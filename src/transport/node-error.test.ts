import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { describeNodeError, nodeErrorRemedy, unreachable } from "./node-error.js";

/** An error as Node raises it: a message of internals and a code. */
const nodeError = (code: string, message = `${code}: internals`) =>
  Object.assign(new Error(message), { code });

describe("describeNodeError", () => {
  it("says connection refused for ECONNREFUSED", () => {
    assert.equal(
      describeNodeError(nodeError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:2375")),
      "connection refused",
    );
  });

  it("tells a plain-h2c server apart from a TLS one", () => {
    assert.equal(
      describeNodeError(
        nodeError(
          "ERR_SSL_WRONG_VERSION_NUMBER",
          "C0B7F8E8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:355:\n",
        ),
      ),
      "TLS: the server does not speak TLS (plain h2c? drop the TLS settings)",
    );
  });

  it("points an untrusted chain at the CA setting, as data", () => {
    const err = nodeError(
      "SELF_SIGNED_CERT_IN_CHAIN",
      "self-signed certificate in certificate chain",
    );
    assert.equal(
      describeNodeError(err),
      "TLS: the server's certificate is not signed by a trusted CA",
    );
    assert.deepEqual(nodeErrorRemedy(err), { settings: ["tlsCa"] });
  });

  it("keeps Node's message for a name mismatch, and points at the server name setting", () => {
    const message =
      "Hostname/IP does not match certificate's altnames: Host: 10.0.0.2. is not in the cert's altnames: DNS:buildkitd";
    const err = nodeError("ERR_TLS_CERT_ALTNAME_INVALID", message);
    assert.equal(describeNodeError(err), `TLS: ${message}`);
    assert.deepEqual(nodeErrorRemedy(err), { settings: ["tlsServerName"] });
  });

  it("falls back to the message, or the value itself", () => {
    assert.equal(describeNodeError(nodeError("ESOMETHINGNEW", "odd failure")), "odd failure");
    assert.equal(describeNodeError(new Error("plain")), "plain");
    assert.equal(describeNodeError("text"), "text");
    assert.equal(describeNodeError(undefined), "undefined");
  });
});

describe("unreachable", () => {
  it("wraps into E_ENGINE_UNREACHABLE naming the endpoint, with the cause", () => {
    const cause = nodeError("ECONNREFUSED");
    const err = unreachable("tcp://10.0.0.2:1234", cause, "start buildkitd");
    assert.ok(err instanceof HlnError);
    assert.equal(err.code, "E_ENGINE_UNREACHABLE");
    assert.equal(err.message, "cannot reach tcp://10.0.0.2:1234: connection refused");
    assert.equal(err.cause, cause);
    assert.equal(err.hint, "start buildkitd");
  });

  it("carries a TLS failure's remedy as a setting, and no CLI flag or variable", () => {
    for (const code of [
      "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "ERR_TLS_CERT_ALTNAME_INVALID",
    ]) {
      const err = unreachable("tcp://10.0.0.2:1443 (TLS)", nodeError(code), "start buildkitd");
      assert.ok(err.remedy && err.remedy.settings.length > 0, code);
      assert.equal(err.advice, "start buildkitd");
      assert.doesNotMatch(`${err.message}\n${err.hint}`, /--[a-z]|BUILDKIT_|HLN_|DOCKER_/, code);
    }
    const ca = unreachable("x", nodeError("UNABLE_TO_VERIFY_LEAF_SIGNATURE"));
    assert.equal(ca.hint, "set the CA certificate that signed the server's");
  });

  it("keeps an HlnError as it is", () => {
    const err = new HlnError("E_ABORTED", "cancelled");
    assert.equal(unreachable("x", err), err);
  });
});
