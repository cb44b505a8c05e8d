/**
 * SnapSet metrics from workflow code, without touching the workflows: a workflow interceptor module
 * (registered by the worker's `interceptors.workflowModules` and by src/dev/bundle.ts) that watches
 * what every run does and emits through the workflow metric meter, which is silent while a history
 * is replayed. It adds no command of its own and no `await` between the workflow and the SDK (see
 * `observe`), so it never changes a history (replay-safe with running workflows, no `patched()`):
 *   - the run itself (execute): started, completed / failed (by root-cause type) / cancelled, duration;
 *   - the capture (`captureImages`, called again after each retake): from its first call to the call
 *     that reports no failed image, or to the run's failure; the images and volume snapshots made;
 *   - image retries (`retakeImages`): one per failed snapshot taken again, by the status it ended in;
 *   - cleanup (`cleanupSnapset`) and prune (`deleteSnapsets`): what they deleted, what they left;
 *   - the certificate wait: the timer started while the run's `SnapsetPhase` is `waiting-cert-rotation`.
 * Labels: `workflow_type` on every series (plus the worker's `namespace` and `task_queue`).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  ContinueAsNew,
  isCancellation,
  metricMeter,
  workflowInfo,
  type ActivityInput,
  type Next,
  type TimerInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { counter, recordImageRetry, recordImagesCreated, seconds, type ImageRetryReason, type RunOutcome } from '../../shared/metrics.js';
import { SnapsetPhaseKey } from '../../shared/workflow-api.js';
import { workflowNow } from '../clock.js';

/** The activities whose results the metrics read (src/activities). */
export const CAPTURE_ACTIVITY = 'captureImages';
export const RETAKE_ACTIVITY = 'retakeImages';
export const CLEANUP_ACTIVITY = 'cleanupSnapset';
export const PRUNE_DELETE_ACTIVITY = 'deleteSnapsets';

const sinceSeconds = (startMs: number) => (workflowNow() - startMs) / 1000;

/** A metric must never fail a run: whatever the meter throws is dropped. */
function safely(emit: () => void): void {
  try {
    emit();
  } catch {
    // not worth a failed SnapSet
  }
}

/** The failure type of the root cause (an ApplicationFailure's type under activity and child failures). */
export function failureType(err: unknown): string {
  let cur: unknown = err;
  for (let depth = 0; depth < 20 && cur; depth++) {
    if (cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure) cur = cur.cause;
    else if (cur instanceof ApplicationFailure) return cur.type ?? 'Error';
    else if (cur instanceof Error) return cur.name;
    else break;
  }
  return 'Error';
}

/**
 * Watches `p` on a side branch and hands back `p` itself: the workflow code awaits the very promise
 * it would await without this interceptor, so its continuations run in the same microtask order and
 * it emits its commands in the same order (an `await` here would shift them, and a history recorded
 * without metrics would no longer replay).
 */
function observe<T>(p: Promise<T>, onValue: (value: T) => void, onError: (err: unknown) => void): Promise<T> {
  void p.then(onValue, (err: unknown) => safely(() => onError(err)));
  return p;
}

const sizeOf = (v: unknown): number => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);

const RETRY_REASONS: readonly string[] = ['killed', 'deactivated', 'deleted'];

/** What one run's interceptors share: the capture under way (retakes call captureImages again). */
class RunState {
  /** Workflow time of the capture's first `captureImages`; undefined when no capture is open. */
  captureStarted?: number;
  /** Instance → Glance status of the snapshots the last `captureImages` reported failed. */
  failedStatus: Record<string, string> = {};

  /** Ends the open capture, if any, with `outcome`. */
  endCapture(outcome: RunOutcome): void {
    if (this.captureStarted === undefined) return;
    const started = this.captureStarted;
    this.captureStarted = undefined;
    safely(() => seconds(metricMeter, 'captureDuration', sinceSeconds(started), { outcome }));
  }
}

class RunMetricsInbound implements WorkflowInboundCallsInterceptor {
  constructor(private readonly state: RunState) {}

  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    safely(() => counter(metricMeter, 'runsStarted', 1));
    const started = workflowInfo().runStartTime.getTime();
    const end = (outcome: RunOutcome) => seconds(metricMeter, 'runDuration', sinceSeconds(started), { outcome });
    return observe(
      next(input),
      () =>
        safely(() => {
          counter(metricMeter, 'runsCompleted', 1);
          end('completed');
        }),
      (err) => {
        if (err instanceof ContinueAsNew) return;
        // A capture that never reported a full set ends with the run (retakes spent, a VM started…).
        this.state.endCapture(isCancellation(err) ? 'cancelled' : 'failed');
        safely(() => {
          if (isCancellation(err)) {
            counter(metricMeter, 'runsCancelled', 1);
            end('cancelled');
          } else {
            counter(metricMeter, 'runsFailed', 1, { failure_type: failureType(err) });
            end('failed');
          }
        });
      },
    );
  }
}

class RunMetricsOutbound implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly state: RunState) {}

  /** Prometheus-style label names: `workflow_type`, not the SDK's `workflowType`. */
  getMetricTags(input: Record<string, string | number | boolean>, next: Next<WorkflowOutboundCallsInterceptor, 'getMetricTags'>) {
    const { workflowType, ...rest } = next(input);
    return workflowType === undefined ? rest : { ...rest, workflow_type: workflowType };
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    const type = input.activityType;
    if (type !== CAPTURE_ACTIVITY && type !== RETAKE_ACTIVITY && type !== CLEANUP_ACTIVITY && type !== PRUNE_DELETE_ACTIVITY) return next(input);
    if (type === CAPTURE_ACTIVITY) this.state.captureStarted ??= workflowNow();
    return observe(
      next(input),
      (result) => safely(() => this.activityDone(type, input, result)),
      (err) => {
        if (type === CAPTURE_ACTIVITY) this.state.endCapture(isCancellation(err) ? 'cancelled' : 'failed');
      },
    );
  }

  private activityDone(type: string, input: ActivityInput, result: unknown): void {
    const r = (result ?? {}) as Record<string, unknown>;
    if (type === CAPTURE_ACTIVITY) {
      const failed = (r.failed ?? {}) as Record<string, { status?: string }>;
      this.state.failedStatus = Object.fromEntries(Object.entries(failed).map(([n, f]) => [n, String(f?.status ?? '')]));
      if (sizeOf(failed) > 0) return; // a retake follows, or the run fails
      this.state.endCapture('completed');
      recordImagesCreated(metricMeter, { images: sizeOf(r.images), volumeSnapshots: sizeOf(r.volumeSnapshots) });
    } else if (type === RETAKE_ACTIVITY) {
      const retaken = Object.keys(((input.args[0] ?? {}) as { failed?: Record<string, unknown> }).failed ?? {});
      for (const n of retaken) {
        const status = this.state.failedStatus[n] ?? '';
        const reason: ImageRetryReason = RETRY_REASONS.includes(status) ? (status as ImageRetryReason) : status ? 'timeout' : 'other';
        recordImageRetry(metricMeter, reason);
      }
    } else if (type === CLEANUP_ACTIVITY) {
      counter(metricMeter, 'cleanupDeletedImages', sizeOf(r.deleted));
      counter(metricMeter, 'cleanupLeftImages', sizeOf(r.left));
      counter(metricMeter, 'cleanupDeletedVolumeSnapshots', sizeOf(r.deletedSnapshots));
    } else {
      const deleted = Array.isArray(r.deleted) ? (r.deleted as string[]) : [];
      const sets = ((input.args[0] ?? {}) as { sets?: Record<string, unknown> }).sets ?? {};
      counter(metricMeter, 'pruneDeletedSets', deleted.length);
      counter(
        metricMeter,
        'pruneDeletedImages',
        deleted.reduce((n, id) => n + sizeOf(sets[id]), 0),
      );
      counter(metricMeter, 'pruneDeletedVolumeSnapshots', typeof r.deletedSnapshots === 'number' ? r.deletedSnapshots : 0);
    }
  }

  startTimer(input: TimerInput, next: Next<WorkflowOutboundCallsInterceptor, 'startTimer'>): Promise<void> {
    if (workflowInfo().typedSearchAttributes.get(SnapsetPhaseKey) !== 'waiting-cert-rotation') return next(input);
    const started = workflowNow();
    return observe(
      next(input),
      () => safely(() => seconds(metricMeter, 'certWaitDuration', sinceSeconds(started), { ended: 'fired' })),
      () => safely(() => seconds(metricMeter, 'certWaitDuration', sinceSeconds(started), { ended: 'early' })),
    );
  }
}

export const interceptors = (): WorkflowInterceptors => {
  const state = new RunState();
  return { inbound: [new RunMetricsInbound(state)], outbound: [new RunMetricsOutbound(state)] };
};
