/**
 * The one way tests wait for something to happen: a condition polled until a deadline, never a
 * fixed number of tries. The deadline is generous because the suite runs on loaded 2-core machines
 * (two test files at a time, a Temporal server, simulators and other jobs beside it); a wait that
 * succeeds returns as soon as the condition holds, so a long deadline costs nothing when all is well.
 */
import assert from 'node:assert/strict';

/** How long a test waits for a condition before it fails. @default 120 s */
export const WAIT_DEADLINE_MS = 120_000;

export interface WaitOptions {
  /** @default WAIT_DEADLINE_MS */
  timeoutMs?: number;
  /** Pause between two probes. @default 25 ms */
  intervalMs?: number;
  /**
   * Treat an error thrown by the probe as "not yet" (a server that is restarting, a query before the
   * workflow has a worker). Off by default: a probe that throws is a bug in the test and fails at once.
   */
  retryErrors?: boolean;
  /** What the world looked like, added to the timeout message. */
  seen?: () => unknown;
}

type Done<T> = Exclude<T, undefined | null | false>;

/**
 * Polls `probe` until it returns a value other than `undefined`, `null` or `false`, and returns that
 * value. Fails with "timed out after N s waiting for <what>" (plus what was last seen) at the deadline.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<Done<T>> {
  const timeoutMs = options.timeoutMs ?? WAIT_DEADLINE_MS;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v as Done<T>;
    } catch (err) {
      if (!options.retryErrors) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const notes: string[] = [];
      if (options.seen) notes.push(`last seen: ${describe(options.seen)}`);
      if (lastError !== undefined) notes.push(`last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      assert.fail(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${notes.length ? ` (${notes.join('; ')})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describe(seen: () => unknown): string {
  try {
    const v = seen();
    return typeof v === 'string' ? v : JSON.stringify(v);
  } catch (err) {
    return `(could not tell: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Pauses for `ms` — only for "nothing happens in this time" checks and ages, never to wait for an event. */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
