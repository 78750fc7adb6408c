/**
 * Ctrl-C cancels the work on the engine: the first SIGINT or SIGTERM aborts the run's
 * signal (solves are cancelled, sessions closed); a second one exits at once.
 */
export function interruptSignal(write: (s: string) => void): {
  signal: AbortSignal;
  /** Ctrl-C is how the command ends normally (`hln logs -f`): no "interrupted" line. */
  expect(): void;
  dispose(): void;
} {
  const controller = new AbortController();
  let expected = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    if (!expected || name !== "SIGINT")
      write(
        `\nhln: ${name === "SIGINT" ? "interrupted" : "terminated"}, cancelling (again to force)\n`,
      );
    controller.abort(new Error(`received ${name}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    expect() {
      expected = true;
    },
    dispose() {
      // Once interrupted, a second Ctrl-C while the output drains still means "exit now,
      // with 130": without a handler Node would die by the signal instead.
      if (controller.signal.aborted) return;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
