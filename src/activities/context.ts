/**
 * What every activity shares: the activity context (heartbeats, cancellation) when there is one, a
 * heartbeat pacer for long calls, a cancellable sleep that keeps heartbeating, and the one bounded
 * parallel helper of the Node side.
 */
import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';

/**
 * Longest gap between two heartbeats of a waiting activity. Workflows set heartbeat timeouts of 10 s
 * (src/workflows/common.ts), so a lost worker is noticed within seconds; a gap well below that keeps a
 * healthy one alive even when a poll interval is long.
 */
export const HEARTBEAT_EVERY_MS = 2000;

/** Listeners allowed on a step's cancellation signal before Node warns of a leak. */
const MAX_SIGNAL_LISTENERS = 1000;

export interface ActivityCtx {
  heartbeat(details: unknown): void;
  /** Aborted when the workflow cancels the activity (learnt through heartbeats) or the worker shuts down. */
  signal?: AbortSignal;
  /** Sleeps `ms`, heartbeating `details()` every {@link HEARTBEAT_EVERY_MS}; rejects on cancellation. */
  sleep(ms: number, details: () => unknown): Promise<void>;
}

/** The current activity's context; outside an activity (unit tests, the CLI) and in a local one, heartbeats are no-ops. */
export function activityCtx(): ActivityCtx {
  let c: Context | undefined;
  try {
    c = Context.current();
  } catch {
    c = undefined;
  }
  // A local activity (the quick steps, src/workflows/common.ts) has no heartbeats: the server knows nothing of it.
  const heartbeat = c && !c.info.isLocal ? (d: unknown) => c.heartbeat(d) : () => undefined;
  const signal = c?.cancellationSignal;
  // Every request of a step listens on it (a fan-out of a 24-VM set with 92 volumes sends ~116 at once):
  // not a leak, so not Node's warning at 11 listeners.
  if (signal) setMaxListeners(MAX_SIGNAL_LISTENERS, signal);
  return {
    heartbeat,
    ...(signal ? { signal } : {}),
    async sleep(ms, details) {
      const until = Date.now() + ms;
      for (let left = ms; left > 0; left = until - Date.now()) {
        await abortableDelay(Math.min(left, HEARTBEAT_EVERY_MS), signal);
        heartbeat(details());
      }
    },
  };
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason instanceof Error ? signal!.reason : new Error('cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Keeps heartbeating at a fixed pace while one long call runs (an SSH command, an `oc` wait). */
export function heartbeatPacer(initial: Record<string, unknown>, everyMs = HEARTBEAT_EVERY_MS) {
  const ctx = activityCtx();
  let details = initial;
  ctx.heartbeat(details);
  const timer = setInterval(() => ctx.heartbeat(details), everyMs);
  return {
    update(next: Record<string, unknown>) {
      details = next;
      ctx.heartbeat(details);
    },
    stop() {
      clearInterval(timer);
    },
  };
}

export { mapLimit } from '../shared/map-limit.js';
