/**
 * Where `snapset retry` resets a failed or cancelled run to (DESIGN §5 "Retry = Reset"): the last
 * point at which the lab is still in the state the next step needs. Pure: reads a history's events
 * (the SDK's `fetchHistory()` or the Temporal CLI's JSON — the attribute names are the same).
 */

/** The parts of a history event the plan reads. */
export interface HistoryEventLike {
  eventId?: unknown;
  workflowTaskCompletedEventAttributes?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null; workflowTaskCompletedEventId?: unknown } | null;
  /** A local activity (the quick steps) is a `core_local_activity` marker recorded by the workflow task that ran it. */
  markerRecordedEventAttributes?: {
    markerName?: string | null;
    details?: Record<string, { payloads?: { data?: Uint8Array | string | null }[] | null } | null> | null;
    workflowTaskCompletedEventId?: unknown;
  } | null;
}

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The activity type a local-activity marker names (its `data` detail: JSON, raw from the SDK or base64 from the CLI's JSON). */
function localActivityType(m: NonNullable<HistoryEventLike['markerRecordedEventAttributes']>): string | undefined {
  const data = m.details?.data?.payloads?.[0]?.data;
  if (data === undefined || data === null) return undefined;
  try {
    const text = typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data).toString('utf8');
    const type = (JSON.parse(text) as { activity_type?: unknown }).activity_type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

export interface RetryPlan {
  /** The WorkflowTaskCompleted event to reset to: that workflow task runs again on the current code. */
  eventId: number;
  /** The step that runs again first (an activity type), or `start`. */
  from: string;
  /** What the reset run does, in a sentence. */
  redoes: string;
}

/** Steps that only report on a failure (cleanup, the VMs' states): never a point to go back to. */
const AFTER_FAILURE = new Set(['cleanupSnapset', 'getServerStatuses', 'describeStackLock', 'releaseStackLock']);

const num = (v: unknown): number => Number(typeof v === 'object' && v !== null ? String(v) : v);

/** Thrown when a history has no workflow task to reset to (it never ran one). */
export class NoResetPointError extends Error {}

/** A step of a run: an activity, or a local activity (the quick steps). */
export interface HistoryStep {
  /** The activity type. */
  name: string;
  /** The WorkflowTaskCompleted event of the task that scheduled it (an activity) or ran it (a local one): a reset to it runs the step again. */
  task: number;
  local: boolean;
  /** Index of the step's event in `events`. */
  index: number;
}

/** Every step of a history, in history order. */
export function historySteps(events: readonly HistoryEventLike[]): HistoryStep[] {
  return events.flatMap((e, index): HistoryStep[] => {
    const a = e.activityTaskScheduledEventAttributes;
    const name = a?.activityType?.name;
    if (a && name) return [{ name, task: num(a.workflowTaskCompletedEventId), local: false, index }];
    const m = e.markerRecordedEventAttributes;
    const local = m?.markerName === LOCAL_ACTIVITY_MARKER ? localActivityType(m) : undefined;
    return m && local ? [{ name: local, task: num(m.workflowTaskCompletedEventId), local: true, index }] : [];
  });
}

export function planRetry(workflowType: string, events: readonly HistoryEventLike[]): RetryPlan {
  const scheduled = historySteps(events);
  if (workflowType === 'createSnapset') {
    const capture = scheduled.find((s) => s.name === 'captureImages');
    if (capture) {
      return {
        eventId: capture.task,
        from: 'captureImages',
        redoes:
          'takes every image again (the failed run deleted its own) while the lab stays as the failed run left it — every VM SHUTOFF, which the capture checks first — then tags, verifies and marks the set complete',
      };
    }
  }
  const last = scheduled.filter((s) => !AFTER_FAILURE.has(s.name)).at(-1);
  if (last) {
    return {
      eventId: last.task,
      from: last.name,
      redoes: `runs the step ${last.name} again, on the lab as the failed run left it, and every step after it; everything before it stays done`,
    };
  }
  const first = events.find((e) => e.workflowTaskCompletedEventAttributes);
  if (!first) throw new NoResetPointError('the run never completed a workflow task: start it again instead');
  return {
    eventId: num(first.eventId),
    from: 'start',
    redoes: 'runs from the start (validation, the stack lock, preflight): the failed run changed nothing outside',
  };
}
