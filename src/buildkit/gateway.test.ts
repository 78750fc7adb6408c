/**
 * withGateway's own waits, over a connection whose engine is played by plain functions:
 * what the engine does is given, what hln then waits for is the test.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settlesWithin } from "../../test/helpers/hang-guard.js";
import { HlnError } from "../errors.js";
import type { Definition } from "../gen/buildkit/ops_pb.js";
import type { BuildkitConnection } from "./connection.js";
import { withGateway } from "./gateway.js";

/** Settles only when `signal` aborts, as a call to an engine that never ends it. */
function never(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener("abort", () => reject(new Error("call cancelled")), { once: true });
  });
}

/** An engine whose build fails at once, and whose gateway calls never end by themselves. */
function failingBuild(): BuildkitConnection {
  const control = {
    solve: async () => {
      throw new HlnError("E_SOLVE_FAILED", "the build failed on the engine");
    },
    // A Status stream that ends without updates.
    status: async function* () {},
  };
  const gateway = {
    solve: (_req: unknown, o: { signal?: AbortSignal }) => never(o.signal),
    readFile: (_req: unknown, o: { signal?: AbortSignal }) => never(o.signal),
  };
  return {
    endpoint: "test://engine",
    control,
    gateway,
    openSessionTunnel: () => never(undefined),
    drops: 0,
    lostSince: () => undefined,
    close: () => {},
  } as unknown as BuildkitConnection;
}

describe("withGateway", () => {
  it("ends calls still waiting when the build fails, with the build's error", async () => {
    const run = withGateway(failingBuild(), { sessionId: "s" }, (gw) => gw.solve({} as Definition));
    await assert.rejects(settlesWithin("withGateway", run), (e: unknown) => {
      assert.ok(e instanceof HlnError, String(e));
      assert.equal(e.message, "the build failed on the engine");
      return true;
    });
  });
});
