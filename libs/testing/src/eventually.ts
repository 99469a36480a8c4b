/**
 * Polls `probe` until it returns without throwing, then returns its value. On timeout it
 * rethrows the probe's last error, so a failing assertion says what was last seen.
 */
export async function eventually<T>(probe: () => Promise<T> | T, { timeoutMs = 10_000, intervalMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      if (lastError instanceof Error) lastError.message = `not within ${timeoutMs} ms: ${lastError.message}`;
      throw lastError;
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
