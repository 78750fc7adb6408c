/**
 * A BuildKit connection that counts how often a run reached for BuildKit (its Control API,
 * gateway or session tunnel), for tests that prove a run answered without it.
 */
import type { BuildkitConnection } from "../../src/buildkit/connection.js";

export function watchBuildkit(conn: BuildkitConnection): {
  connection: BuildkitConnection;
  reached(): number;
} {
  let count = 0;
  const connection = new Proxy(conn, {
    get(target, p, receiver) {
      if (p === "control" || p === "gateway" || p === "openSessionTunnel") count++;
      return Reflect.get(target, p, receiver);
    },
  });
  return { connection, reached: () => count };
}
