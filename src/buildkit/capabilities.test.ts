import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { type APICap, APICapSchema } from "../gen/buildkit/gateway_pb.js";
import { type Definition, DefinitionSchema, OpMetadataSchema } from "../gen/buildkit/ops_pb.js";
import { assertSupported, capabilitiesOf } from "./capabilities.js";

const on = (id: string) => create(APICapSchema, { id, enabled: true });

/** A definition whose ops declare `caps` (one op per element), as the LLB marshaler writes them. */
function definition(...caps: Record<string, boolean>[]): Definition {
  return create(DefinitionSchema, {
    metadata: Object.fromEntries(
      caps.map((c, i) => [`sha256:${String(i).repeat(64)}`, create(OpMetadataSchema, { caps: c })]),
    ),
  });
}

/** Caps a BuildKit of about v0.10 reports: everything up to exec.secretenv's release, minus it. */
const v09 = ["source.image", "exec.meta.base", "source.local.differ", "file.base"];

describe("capabilitiesOf", () => {
  it("indexes caps by id", () => {
    const caps = capabilitiesOf(
      [on("source.image"), on("exec.mount.bind")],
      [on("frontend.inputs")],
    );
    assert.deepEqual([...caps.llb.keys()], ["source.image", "exec.mount.bind"]);
    assert.deepEqual([...caps.frontend.keys()], ["frontend.inputs"]);
    assert.equal(caps.llb.get("source.image")?.enabled, true);
  });

  it("dates the engine by the newest dated cap it knows", () => {
    assert.equal(capabilitiesOf(v09.map(on), []).atLeast, "v0.9");
    assert.equal(
      capabilitiesOf([on("mergeop"), on("source.local.differ"), on("exec.secretenv")], []).atLeast,
      "v0.10",
    );
    // Minor versions compare as numbers: v0.13 is newer than v0.9.
    assert.equal(
      capabilitiesOf([on("exporter.multiple"), on("source.local.differ"), on("mergeop")], [])
        .atLeast,
      "v0.13",
    );
    assert.equal(
      capabilitiesOf([on("file.copy.modestring"), on("source.ocilayout")], []).atLeast,
      "v0.17",
    );
  });

  it("counts a cap the engine knows but disabled, since knowing it dates the engine", () => {
    const off = create(APICapSchema, { id: "exec.validexitcode", enabled: false });
    assert.equal(capabilitiesOf([on("mergeop"), off], []).atLeast, "v0.17");
  });

  it("leaves atLeast undefined when no dated cap is known, and ignores frontend caps", () => {
    assert.equal(capabilitiesOf([on("source.image")], [on("mergeop")]).atLeast, undefined);
    assert.equal(capabilitiesOf([], []).atLeast, undefined);
  });

  it("bounds the engine by the first release whose caps it lacks", () => {
    const at = (ids: string[]) => {
      const c = capabilitiesOf(ids.map(on), []);
      return { atLeast: c.atLeast, below: c.below, release: c.release };
    };
    assert.deepEqual(at(v09), { atLeast: "v0.9", below: "v0.10", release: "v0.9" });
    assert.deepEqual(at(["source.ocilayout"]), {
      atLeast: "v0.11",
      below: "v0.13",
      release: "v0.11 to v0.12",
    });
    assert.deepEqual(at(["source.image"]), {
      atLeast: undefined,
      below: "v0.9",
      release: "older than v0.9",
    });
    assert.deepEqual(at(["source.policy.session"]), {
      atLeast: "v0.26",
      below: undefined,
      release: "v0.26 or newer",
    });
  });
});

describe("assertSupported", () => {
  const endpoint = "unix:///var/run/docker.sock";

  it("passes when every declared cap is enabled", () => {
    const caps = capabilitiesOf([...v09, "mergeop", "exec.secretenv"].map(on), []);
    assertSupported(
      definition({ "source.image": true }, { "exec.secretenv": true, mergeop: true }, {}),
      caps,
      endpoint,
    );
    assertSupported(create(DefinitionSchema, {}), caps, endpoint);
  });

  it("ignores caps declared false", () => {
    assertSupported(definition({ "exec.secretenv": false }), capabilitiesOf([], []), endpoint);
  });

  it("names the feature and the release that brought an unknown cap", () => {
    const caps = capabilitiesOf(v09.map(on), []);
    assert.throws(
      () => assertSupported(definition({ "exec.secretenv": true }), caps, endpoint),
      (err) => {
        assert.ok(err instanceof HlnError);
        assert.equal(err.code, "E_ENGINE_CAPABILITY");
        assert.equal(
          err.message,
          "unix:///var/run/docker.sock: this BuildKit (v0.9, judged by its capabilities) does not support secret environment variables (withSecretVariable); it needs BuildKit v0.10 or newer (cap exec.secretenv)",
        );
        assert.match(err.hint ?? "", /newer engine/);
        return true;
      },
    );
  });

  it("names an undated, unknown cap by its id, without guessing a release", () => {
    assert.throws(
      () =>
        assertSupported(definition({ "exec.mount.cache.new": true }), capabilitiesOf([], []), "e"),
      {
        code: "E_ENGINE_CAPABILITY",
        message:
          "e: this BuildKit (older than v0.9, judged by its capabilities) does not support LLB capability exec.mount.cache.new (cap exec.mount.cache.new)",
      },
    );
  });

  it("reports the first missing cap in sorted order, whichever op declares it", () => {
    const caps = capabilitiesOf(v09.map(on), []);
    assert.throws(
      () =>
        assertSupported(
          definition({ mergeop: true }, { diffop: true }, { "source.image": true }),
          caps,
          endpoint,
        ),
      { code: "E_ENGINE_CAPABILITY", message: /directory diffs; it needs BuildKit v0\.10/ },
    );
  });

  it("uses the engine's DisabledReasonMsg for a disabled cap", () => {
    const disabled: APICap = create(APICapSchema, {
      id: "exec.secretenv",
      enabled: false,
      disabledReason: "POLICY",
      disabledReasonMsg: "secret env is turned off by policy",
      disabledAlternative: "mount the secret as a file",
    });
    const caps = capabilitiesOf([...v09.map(on), on("mergeop"), disabled], []);
    assert.throws(() => assertSupported(definition({ "exec.secretenv": true }), caps, endpoint), {
      name: "HlnError",
      code: "E_ENGINE_CAPABILITY",
      message:
        "unix:///var/run/docker.sock: secret environment variables (withSecretVariable) is disabled on this BuildKit (v0.10, judged by its capabilities): secret env is turned off by policy (instead: mount the secret as a file)",
    });
  });

  it("falls back to DisabledReason, then to a generic reason", () => {
    const caps = capabilitiesOf(
      [
        create(APICapSchema, { id: "mergeop", enabled: false, disabledReason: "NO_SNAPSHOTTER" }),
        create(APICapSchema, { id: "diffop", enabled: false }),
      ],
      [],
    );
    assert.throws(() => assertSupported(definition({ mergeop: true }), caps, "e"), {
      message:
        "e: merged directories is disabled on this BuildKit (v0.10, judged by its capabilities): NO_SNAPSHOTTER",
    });
    assert.throws(() => assertSupported(definition({ diffop: true }), caps, "e"), {
      message:
        "e: directory diffs is disabled on this BuildKit (v0.10, judged by its capabilities): disabled by the engine",
    });
  });
});
