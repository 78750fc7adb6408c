/**
 * The session's Secrets service: BuildKit asks it for a secret by ID when a step that
 * mounts the secret (as a file or an environment variable) runs. Values never enter the
 * graph, cache keys or logs; only this call carries them, over the session tunnel.
 */
import { debuglog } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { Secrets } from "../gen/buildkit/secrets_pb.js";
import type { SessionService } from "./session.js";

const debug = debuglog("hln:secrets");

/** Where the Secrets service finds values. */
export interface SecretStore {
  /**
   * The value of secret `id`, or undefined when there is none. A secret the store
   * does not know is answered NOT_FOUND, which BuildKit reports as a missing secret
   * (or skips, for an optional mount).
   */
  get(id: string, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>;
}

/**
 * Serves `moby.buildkit.secrets.v1.Secrets/GetSecret` from `store`. The request's
 * annotations are not used: BuildKit's own file and env stores ignore them too.
 *
 * @example
 * const values = new Map([["npmrc", new TextEncoder().encode("//registry/:_authToken=...")]]);
 * const session = await openSession(conn, {
 *   services: [createSecretsService({ get: async (id) => values.get(id) })],
 * });
 */
export function createSecretsService(store: SecretStore): SessionService {
  return {
    methods: ["/moby.buildkit.secrets.v1.Secrets/GetSecret"],
    register(router) {
      router.service(Secrets, {
        async getSecret(req, ctx) {
          let data: Uint8Array | undefined;
          try {
            data = req.id === "" ? undefined : await store.get(req.id, { signal: ctx.signal });
          } catch (err) {
            // The store's message may name a file or variable, never the value.
            debug("secret %j: store failed: %s", req.id, (err as Error).message);
            throw new ConnectError(
              `secret ${JSON.stringify(req.id)}: ${(err as Error).message}`,
              Code.Internal,
              undefined,
              undefined,
              err,
            );
          }
          // BuildKit maps NOT_FOUND to its "secret not found" error (session/secrets/secrets.go).
          if (data === undefined) {
            debug("secret %j: not found", req.id);
            throw new ConnectError(`secret ${JSON.stringify(req.id)} not found`, Code.NotFound);
          }
          debug("secret %j: served %d bytes", req.id, data.byteLength);
          return { data };
        },
      });
    },
  };
}
