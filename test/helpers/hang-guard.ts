/**
 * Kill-safety for tests of waits that must end: a generous bound that stops a hung test
 * and says so. It never asserts speed; the test asserts what ended the wait.
 */
export async function settlesWithin<T>(what: string, p: Promise<T>, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`hung: ${what} had not settled after ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}
