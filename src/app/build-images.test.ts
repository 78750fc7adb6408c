import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HlnError } from "../errors.js";
import { parseRegistry, registryRepository, registryText } from "./build-images.js";

describe("parseRegistry", () => {
  it("reads a host, a port, a prefix and plain HTTP", () => {
    assert.deepEqual(parseRegistry("registry.example.com", "--registry"), {
      host: "registry.example.com",
      prefix: "",
      insecure: false,
    });
    assert.deepEqual(parseRegistry("localhost:5000", "--registry"), {
      host: "localhost:5000",
      prefix: "",
      insecure: false,
    });
    assert.deepEqual(parseRegistry("registry.example.com/team/apps", "--registry"), {
      host: "registry.example.com",
      prefix: "team/apps",
      insecure: false,
    });
    assert.deepEqual(parseRegistry("http://10.201.0.1:5000", "HLN_REGISTRY"), {
      host: "10.201.0.1:5000",
      prefix: "",
      insecure: true,
    });
    assert.deepEqual(parseRegistry("http://10.201.0.1:5000/team/", "--registry"), {
      host: "10.201.0.1:5000",
      prefix: "team",
      insecure: true,
    });
    // https:// is what a registry speaks anyway.
    assert.deepEqual(parseRegistry("https://ghcr.io/acme", "--registry"), {
      host: "ghcr.io",
      prefix: "acme",
      insecure: false,
    });
  });

  it("rejects what names no registry, naming where the value came from", () => {
    for (const value of [
      "",
      "http://",
      "a b",
      "registry.example.com/Team",
      "registry.example.com//team",
      "registry.example.com/team-",
      "host:port",
      "http://host:5000/a b",
    ])
      for (const from of ["--registry", "HLN_REGISTRY"]) {
        let err: unknown;
        try {
          parseRegistry(value, from);
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof HlnError, `${JSON.stringify(value)} was accepted`);
        assert.equal(err.code, "E_USAGE");
        assert.ok(
          err.message.startsWith(`${from} ${JSON.stringify(value)}: expected HOST[:PORT][/PREFIX]`),
          err.message,
        );
      }
  });
});

describe("parseRegistry and Docker's reference rules", () => {
  // Docker reads a reference's first component as a registry only when it holds "." or
  // ":" or is "localhost" (distribution/reference normalize.go, splitDockerDomain); else
  // `myreg/hln/shop/api` is docker.io/myreg/hln/shop/api, and the push goes to Docker Hub.
  it("rejects a host Docker would read as a Docker Hub namespace", () => {
    assert.throws(() => parseRegistry("myreg", "--registry"), { code: "E_USAGE" });
    assert.throws(() => parseRegistry("http://myreg/team", "--registry"), { code: "E_USAGE" });
  });
});

describe("registryText", () => {
  it("reads back as the registry it came from", () => {
    for (const value of [
      "registry.example.com",
      "localhost:5000",
      "registry.example.com/team/apps",
      "http://10.201.0.1:5000",
      "http://10.201.0.1:5000/team",
    ]) {
      const r = parseRegistry(value, "--registry");
      assert.equal(registryText(r), value);
      assert.deepEqual(parseRegistry(registryText(r), "state"), r);
    }
    assert.equal(
      registryText(parseRegistry("https://ghcr.io/acme/", "--registry")),
      "ghcr.io/acme",
    );
  });
});

describe("registryRepository", () => {
  it("puts an app's service image under the host and prefix, as hln/APP/SERVICE", () => {
    assert.equal(
      registryRepository(parseRegistry("http://10.201.0.1:5000", "r"), "shop", "api"),
      "10.201.0.1:5000/hln/shop/api",
    );
    assert.equal(
      registryRepository(parseRegistry("registry.example.com/team", "r"), "shop", "api"),
      "registry.example.com/team/hln/shop/api",
    );
  });
});
