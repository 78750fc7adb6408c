import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Secrets } from "../gen/buildkit/secrets_pb.js";
import { createSecretsService, type SecretStore } from "./secrets-service.js";

function clientFor(store: SecretStore) {
  const service = createSecretsService(store);
  return createClient(
    Secrets,
    createRouterTransport((router) => service.register(router)),
  );
}

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

describe("createSecretsService", () => {
  const values = new Map([["npm-token", new TextEncoder().encode("s3cr3t\n")]]);
  const store: SecretStore = { get: async (id) => values.get(id) };

  it("announces the GetSecret method path", () => {
    assert.deepEqual(createSecretsService(store).methods, [
      "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    ]);
  });

  it("returns the bytes of a known secret", async () => {
    const res = await clientFor(store).getSecret({ id: "npm-token", annotations: { a: "b" } });
    assert.deepEqual(res.data, new TextEncoder().encode("s3cr3t\n"));
  });

  it("returns an empty secret as empty bytes, not as missing", async () => {
    const res = await clientFor({ get: async () => new Uint8Array() }).getSecret({ id: "empty" });
    assert.equal(res.data.length, 0);
  });

  it("answers NOT_FOUND for an unknown or empty ID", async () => {
    const client = clientFor(store);
    const e = await codeOf(client.getSecret({ id: "nope" }));
    assert.equal(e.code, Code.NotFound);
    assert.match(e.rawMessage, /secret "nope" not found/);
    assert.equal((await codeOf(client.getSecret({ id: "" }))).code, Code.NotFound);
  });

  it("answers INTERNAL when the store fails, with the store's message", async () => {
    const e = await codeOf(
      clientFor({
        get: async () => {
          throw new Error("cannot read /run/x: permission denied");
        },
      }).getSecret({ id: "x" }),
    );
    assert.equal(e.code, Code.Internal);
    assert.match(e.rawMessage, /secret "x": cannot read \/run\/x/);
  });

  it("hands the store the request's abort signal", async () => {
    let seen: AbortSignal | undefined;
    await clientFor({
      get: async (_id, o) => {
        seen = o?.signal;
        return new Uint8Array([1]);
      },
    }).getSecret({ id: "x" });
    assert.ok(seen instanceof AbortSignal);
  });
});
