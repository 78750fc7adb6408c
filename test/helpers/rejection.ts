import assert from "node:assert/strict";
import { HlnError } from "../../src/errors.js";

/** The HlnError `promise` rejects with; fails the test when it resolves or throws anything else. */
export async function rejection(promise: Promise<unknown>): Promise<HlnError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HlnError, `not an HlnError: ${String(err)}`);
    return err;
  }
  assert.fail("expected an error");
}
