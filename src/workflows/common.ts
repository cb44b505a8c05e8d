/**
 * What the workflows share (STYLE: the samples keep workflows to orchestration): the activity option
 * sets, the run tracker (phase, search attribute, current details, progress), the per-stack lock and
 * the reading of a failure down to its root cause. Deterministic: workflow APIs only.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TemporalFailure,
  TimeoutFailure,
  condition,
  defineSignal,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityFunctionWithOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type Duration } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { FailureTypes, ValidationError, type PreflightCheck } from '../shared/errors.js';
import { workflowNow } from './clock.js';
import { failureHint } from '../shared/failures.js';
import { SnapsetPhaseKey, StackNameKey, stackLockWorkflowId, type RunProgress, type SnapsetFailureInfo } from '../shared/workflow-api.js';

/**
 * Heartbeat timeout of every waiting activity. Activities heartbeat at least every 2 s
 * (src/activities/context.ts), so a worker that dies costs ~10 s before another worker retries the
 * step, not a minute.
 */
export const HEARTBEAT_TIMEOUT = '10s';

/** Transient errors (5xx, 409, network, a lost worker): back off from 1 s to 30 s. */
const BACKOFF = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;

/** Read-only checks before anything is changed: a few quick tries, then the run ends with nothing touched. */
const CHECK_RETRY = { ...BACKOFF, maximumInterval: '10s', maximumAttempts: 4 } as const;
export const checks = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: CHECK_RETRY });

/** One call that changes the lab (cordon, a shutdown): idempotent, retried with backoff. */
const CHANGE_RETRY = { ...BACKOFF, initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 } as const;
export const changes = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: CHANGE_RETRY });

/** A long wait (SHUTOFF, a stable cluster): heartbeats, honours cancellation, a few attempts. */
export function waits(timeoutMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs + 120_000,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...BACKOFF, maximumAttempts: 5 },
  });
}

/**
 * Steps after the images exist (capture, tags, verification, cleanup): all idempotent, so transient
 * errors are retried for as long as `budgetMs` allows instead of a fixed number of attempts — giving up
 * early would throw away a capture that is already good. Non-retryable failures still end at once.
 */
export function persistent(budgetMs: number, stepMs = 300_000) {
  return proxyActivities<Activities>({
    startToCloseTimeout: Math.min(stepMs, budgetMs),
    scheduleToCloseTimeout: budgetMs,
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: BACKOFF,
  });
}

/**
 * The quick steps (preflight, one `oc` command, a controller shutdown, tags, the verification) as
 * local activities: run by the worker inside the workflow task, they cost one marker event each
 * instead of three events and a workflow task of their own — at 200 open runs, most of what the
 * server spends per run (docs/operations.md, "CPU per run"). Same timeouts and retries as their
 * regular counterparts. Runs that began before PATCHES.localSteps keep their regular activities.
 */
export function quick() {
  return patched(PATCHES.localSteps) ? LOCAL : REGULAR;
}
const REGULAR = { checks, changes } as const;
const LOCAL = {
  checks: proxyLocalActivities<Activities>({ startToCloseTimeout: '2m', retry: CHECK_RETRY }),
  changes: proxyLocalActivities<Activities>({ startToCloseTimeout: '2m', retry: CHANGE_RETRY }),
} as const;

/**
 * Attempts of a quick step after the capture as a local activity (~15 s of backoff between them). A
 * local activity that keeps failing holds its workflow task open, heartbeating it every ~8 s (3 events
 * each) — and Core did not end one at its schedule-to-close timeout in a test here — so the attempts
 * are bounded; the rest of the budget goes to a regular activity, which the server retries without a
 * word in the history.
 */
const LOCAL_ATTEMPTS = 5;
/** One local attempt: tags and the verification take well under a second; a hung request ends sooner (the client's own timeout). */
const LOCAL_ATTEMPT_MS = 60_000;

type Steps = ReturnType<typeof proxyActivities<Activities>>;

/**
 * A quick, idempotent step after the capture (tags, verification), retried for as long as `budgetMs`
 * allows like {@link persistent}: in runs with PATCHES.localSteps first as a local activity (at most
 * {@link LOCAL_ATTEMPTS} attempts), then — when the cloud kept failing it (not when it refused: a
 * non-retryable failure or a cancel ends the step) — as a regular activity for the rest of the budget.
 */
export async function persistentQuickStep<A extends unknown[], R>(
  pick: (steps: Steps) => ActivityFunctionWithOptions<(...args: A) => Promise<R>>,
  budgetMs: number,
  summary: string,
  ...args: A
): Promise<R> {
  if (!patched(PATCHES.localSteps)) return step(pick(persistent(budgetMs)), summary, ...args);
  const started = workflowNow();
  const local = proxyLocalActivities<Activities>({
    startToCloseTimeout: Math.min(LOCAL_ATTEMPT_MS, budgetMs),
    scheduleToCloseTimeout: budgetMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...BACKOFF, maximumAttempts: LOCAL_ATTEMPTS },
  });
  try {
    return await step(pick(local as unknown as Steps), summary, ...args);
  } catch (err) {
    const left = budgetMs - (workflowNow() - started);
    // A local activity's failure reaches the workflow as an ActivityFailure or as its ApplicationFailure itself.
    if (isCancellation(err) || !(err instanceof TemporalFailure) || refused(err) || left < 1000) throw err;
    log.warn('a quick step kept failing as a local activity: the rest of its budget goes to a regular activity', { summary, leftMs: left });
    return step(pick(persistent(left)), summary, ...args);
  }
}

/** The step failed for good: a non-retryable ApplicationFailure at its root, not a timeout or spent retries. */
function refused(err: TemporalFailure): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 10 && cur instanceof TemporalFailure; depth++) {
    if (cur instanceof ApplicationFailure) return cur.nonRetryable === true;
    cur = cur.cause;
  }
  return false;
}

/**
 * One activity call with a one-line summary for the Web UI's event list ("create images (12)",
 * "wait SHUTOFF (12)"); the options of `fn`'s proxy stay as they are.
 */
export function step<A extends unknown[], R>(fn: ActivityFunctionWithOptions<(...args: A) => Promise<R>>, summary: string, ...args: A): Promise<R> {
  return fn.executeWithOptions({ summary }, args);
}

/**
 * The phase of a run as everybody sees it: the `progress` query, the `SnapsetPhase` search attribute
 * and the Web UI's current details. Also what the run changed outside and its warnings, so a failure
 * can say exactly what state it leaves.
 */
export class RunTracker<P extends string> {
  constructor(readonly progress: RunProgress<P>) {
    progress.changes ??= [];
    progress.warnings ??= [];
  }

  enter(phase: P, details: string): void {
    this.progress.phase = phase;
    if (!this.progress.phasesRun.includes(phase)) this.progress.phasesRun.push(phase);
    upsertSearchAttributes([{ key: SnapsetPhaseKey, value: phase }]);
    this.say(details);
  }

  /** New details within the same phase. */
  say(details: string): void {
    this.progress.details = details;
    const warn = this.progress.warnings!.length > 0 ? `\n\nwarnings: ${markdownText(this.progress.warnings!.join('; '))}` : '';
    setCurrentDetails(`**${this.progress.phase}** — ${markdownText(details)}${warn}`);
  }

  /** Records a change made to the lab (reported on failure). */
  changed(what: string): void {
    this.progress.changes!.push(what);
  }

  warn(message: string): void {
    if (!this.progress.warnings!.includes(message)) this.progress.warnings!.push(message);
  }

  /** Nothing has been changed outside so far. */
  get untouched(): boolean {
    return this.progress.changes!.length === 0;
  }
}

/**
 * Current details are Markdown in the Web UI: a snap_id such as `uc--3sIJ` would read `uc–3sIJ`, and
 * `a_b_c` or `*` in a message would turn into emphasis. Every character Markdown could take as syntax
 * is escaped, so the page shows the text as the `progress` query has it.
 */
export function markdownText(s: string): string {
  return s.replace(/[\\`*_[\]<>#|~-]/g, '\\$&');
}

/** The root cause of a failure: the deepest ApplicationFailure (or timeout) under activity and child failures. */
export function rootCause(err: unknown): { type: string; message: string; activityType?: string; details?: unknown } {
  let activityType: string | undefined;
  let cur: unknown = err;
  for (let depth = 0; depth < 20 && cur; depth++) {
    if (cur instanceof ActivityFailure) {
      activityType = cur.activityType;
      cur = cur.cause;
    } else if (cur instanceof ChildWorkflowFailure) {
      cur = cur.cause;
    } else if (cur instanceof ApplicationFailure) {
      return {
        type: cur.type ?? 'Error',
        message: cur.message,
        ...(activityType ? { activityType } : {}),
        ...(cur.details?.[0] ? { details: cur.details[0] } : {}),
      };
    } else if (cur instanceof TimeoutFailure) {
      const what = activityType ? `step ${activityType}` : 'a step';
      return {
        type: 'TimeoutFailure',
        message: `${what} timed out (${String(cur.timeoutType)}): its worker stopped answering or the step outlived its time limit`,
        ...(activityType ? { activityType } : {}),
      };
    } else if (cur instanceof CancelledFailure) {
      return { type: 'CancelledFailure', message: 'cancelled' };
    } else if (cur instanceof TemporalFailure && cur.cause) {
      cur = cur.cause;
    } else if (cur instanceof Error) {
      return { type: cur.name, message: cur.message, ...(activityType ? { activityType } : {}) };
    } else {
      break;
    }
  }
  return { type: 'Error', message: String(cur ?? err) };
}

/** A failure as the run reports it: the root cause's message, the instance when known, and what to do. */
export function failureInfo(err: unknown, opts: { instance?: string; context?: string } = {}): SnapsetFailureInfo {
  const root = rootCause(err);
  const hint = failureHint(root.type, root.details);
  const where = opts.context ? `${opts.context}: ` : '';
  const about = opts.instance && !root.message.includes(opts.instance) ? `instance ${opts.instance}: ` : '';
  const failedChecks = (root.details as { failed?: PreflightCheck[] } | undefined)?.failed;
  const instance = opts.instance ?? (failedChecks?.length === 1 ? failedChecks[0]!.instance : undefined);
  return {
    message: `${where}${about}${root.message}`,
    type: root.type,
    ...(instance ? { instance } : {}),
    ...(hint ? { hint } : {}),
    ...(Array.isArray(failedChecks) ? { failedChecks } : {}),
  };
}

/**
 * Validation, the first phase of every workflow: `parse` (a src/shared parser) turns the raw input
 * into the canonical one; its notes become warnings; a ValidationError fails the run at once,
 * non-retryable, naming the field — nothing outside touched.
 */
export function validateInput<T>(raw: unknown, run: RunTracker<string>, parse: (raw: unknown) => { input: T; notes?: string[] }): T {
  run.enter('validating', 'validating input');
  try {
    const parsed = parse(raw);
    for (const note of parsed.notes ?? []) run.warn(note);
    return parsed.input;
  } catch (err) {
    const failure =
      err instanceof ValidationError
        ? ApplicationFailure.create({ type: FailureTypes.validation, message: err.message, nonRetryable: true, details: [err.details()] })
        : err;
    run.progress.failure = failureInfo(failure);
    run.enter('failed', `failed: ${run.progress.failure.message}; nothing outside was changed`);
    throw failure;
  }
}

// ---- the per-stack lock -------------------------------------------------------------------------

/** Ends a `stackLock` workflow: the holder is done with the stack. */
export const releaseStackLockSignal = defineSignal('release');

export interface StackLockInput {
  stackName: string;
  /** Workflow type of the holder (shown when another run is refused). */
  holderType: string;
  /** The run holding the stack: set by locks its holder started with a start delay (PATCHES.lockByStart, src/stack-lock.ts). */
  holder?: { workflowId: string; runId: string };
  /** How often a lock whose start delay elapsed looks whether its holder still runs (default {@link LOCK_RECHECK}). */
  recheckEvery?: Duration;
}

/** How often a lock whose start delay elapsed looks whether its holder still runs. */
const LOCK_RECHECK = '1 day';

/**
 * The per-stack lock (DESIGN §5 step 1b: "no other run holds the stack", enforced by the workflows):
 * a workflow with the fixed ID `snapset-lock-<stack>`. Temporal allows one running workflow per ID,
 * so starting it is an atomic test-and-set that holds whatever started the run — the snapset CLI, a
 * raw `temporal workflow start`, a Schedule's timestamped IDs.
 *
 * Since PATCHES.lockByStart the holder starts it with a start delay and terminates it to release it
 * (src/stack-lock.ts): this code runs only when the delay elapsed — its holder still runs (it checks
 * again daily) or ended without releasing it (it ends). Before, it was a child of its holder that
 * lived until released by signal, or terminated with its parent (ParentClosePolicy TERMINATE).
 */
export async function stackLock(input: StackLockInput): Promise<{ stackName: string; released: boolean }> {
  let released = false;
  setHandler(releaseStackLockSignal, () => {
    released = true;
  });
  const { holder } = input;
  if (holder) {
    while (!released) {
      // A failed look-up keeps the lock: only a holder known to have ended frees the stack.
      const running = await checks.isRunRunning(holder).catch(() => true);
      if (!running) return { stackName: input.stackName, released: false };
      await condition(() => released, input.recheckEvery ?? LOCK_RECHECK);
    }
    return { stackName: input.stackName, released: true };
  }
  await condition(() => released);
  return { stackName: input.stackName, released: true };
}

export interface HeldStackLock {
  /** Lets the next run of the stack start; waits until the lock workflow has ended. */
  release(): Promise<void>;
  /**
   * Called before every change to the lab: when the lock workflow has ended under this run — a Reset
   * run inherits the end of the lock its failed run released — takes the lock again, or fails
   * untouched with StackLockedError when another run holds the stack now. No command otherwise.
   */
  ensureHeld(): Promise<void>;
}

/**
 * Patch IDs of workflow changes made while runs may be open (README: "Changing workflow code").
 * A run that recorded one replays the new code; an older run replays the code it ran.
 */
export const PATCHES = {
  /** The stack lock taken again before a change when it ended under the run (Reset). */
  relock: 'stack-lock-retaken',
  /** A failed release of the stack lock is a warning, not a failed run. */
  releaseBestEffort: 'stack-lock-release-best-effort',
  /** Failed snapshots taken again (capture.imageAttempts). */
  imageRetries: 'capture-image-retries',
  /** A failure after verification keeps the verified set and completes with a warning. */
  keepVerified: 'keep-verified-set',
  /** A lab every VM of which is SHUTOFF is captured as it is when the cluster is old enough. */
  shutoffLab: 'capture-shutoff-lab',
  /** Cancellation during retention is a cancelled run (the set kept), not a warning. */
  retentionCancel: 'retention-cancel-propagates',
  /** …also when the prune child completed although the run was cancelled meanwhile. */
  retentionCancelAfterChild: 'retention-cancel-after-child',
  /** New snap_ids never start with '-'. */
  snapIdNoDash: 'snap-id-no-leading-dash',
  /** The lock child carries the StackName search attribute (the Web UI's list filters by stack). */
  lockStackName: 'lock-child-stack-name',
  /** The retention child carries the StackName search attribute. */
  pruneStackName: 'prune-child-stack-name',
  /** Attached Cinder volumes are snapshotted with the images (capture.volumes), a volume-backed server's adopted. */
  volumes: 'capture-cinder-volumes',
  /** The quick steps are local activities ({@link quick}). */
  localSteps: 'quick-steps-local',
  /** The stack lock's end is looked for once the activation's microtasks drained, not after 32 turns ({@link afterMicrotasks}). */
  lockSettleDrain: 'stack-lock-settle-drain',
  /** The stack lock is a delayed workflow the holder starts and terminates by local activity, not a child (src/stack-lock.ts). */
  lockByStart: 'stack-lock-started-by-activity',
  /** Recorded by a Reset run where it takes the stack lock again for itself ({@link acquireStackLock}). */
  lockRetakenByResetRun: 'stack-lock-retaken-by-reset-run',
} as const;

/** Microtask turns a child's result takes to reach a `.then` on `handle.result()` (a few), with room to spare. Runs before {@link PATCHES.lockSettleDrain}. */
const SETTLE_TURNS = 32;

/**
 * Resolves once every microtask of the current activation has run: the SDK evaluates blocked
 * conditions only after the sandbox drained its microtask queue (and after each job, before any
 * workflow code ran). No command, so nothing in the history; the same on replay. Cheaper than
 * spinning microtask turns: the SDK's promise hook captures and source-maps a stack trace for every
 * promise a workflow makes (sdk-typescript#1587): at 200 open runs the workflow thread's CPU fell
 * 9.0 → 7.2–7.8 s with this (per-thread CPU from /proc; docs/operations.md).
 */
export function afterMicrotasks(): Promise<void> {
  let evaluated = false;
  // False when the SDK evaluates it eagerly (now, mid-drain), true at its next evaluation (drained).
  const drained = () => {
    if (evaluated) return true;
    evaluated = true;
    return false;
  };
  return CancellationScope.nonCancellable(() => condition(drained));
}

/**
 * Takes the stack's lock or fails at once, non-retryable, naming the run that holds it. Taken in a
 * non-cancellable scope so that cancelling the holder does not free the stack before its cleanup ran.
 */
export async function acquireStackLock(stackName: string): Promise<HeldStackLock> {
  return patched(PATCHES.lockByStart) ? acquireStartedLock(stackName) : acquireChildLock(stackName);
}

/**
 * The lock as a delayed workflow (PATCHES.lockByStart): taken and released by local activities, so
 * it costs the holder two markers and no workflow task, and no worker runs it.
 *
 * A Reset run replays the history of the run it was reset from — which took the lock, and released
 * it when it failed — and then goes on as a new run: before its first change it takes the lock again
 * for itself, or fails untouched if another run holds the stack now. Where that happens is recorded
 * by a patch marker: `patched` is false while the copied history replays (no marker there) and true
 * once the run goes on live, so a later replay of the reset run takes the lock at the same point.
 * Each retake has its own marker (a reset of a reset run replays the first one, then records the next).
 */
async function acquireStartedLock(stackName: string): Promise<HeldStackLock> {
  let held = await takeStartedLock(stackName);
  let released = false;
  let retakes = 0;
  return {
    release: () =>
      CancellationScope.nonCancellable(async () => {
        released = true;
        await step(quick().changes.releaseStackLock, `release the lock of stack ${stackName}`, {
          lockWorkflowId: held.lockWorkflowId,
          lockRunId: held.lockRunId,
          holderWorkflowId: workflowInfo().workflowId,
        });
      }),
    ensureHeld: async () => {
      if (released || held.holderRunId === workflowInfo().runId) return;
      const marker = retakes === 0 ? PATCHES.lockRetakenByResetRun : `${PATCHES.lockRetakenByResetRun}-${retakes + 1}`;
      if (!patched(marker)) return; // replaying what the run it was reset from did
      log.warn('a reset run: taking the stack lock for this run before changing anything', { stackName });
      held = await takeStartedLock(stackName);
      retakes++;
    },
  };
}

async function takeStartedLock(stackName: string) {
  const { workflowId, runId, workflowType } = workflowInfo();
  const taken = await CancellationScope.nonCancellable(() =>
    step(quick().changes.takeStackLock, `take the lock of stack ${stackName}`, { stackName, holder: { workflowId, runId, workflowType } }),
  );
  if (!taken.taken) throw stackBusy(stackName, taken.holder);
  if (taken.tookOverFrom) log.warn('took over a stale stack lock: its holder had ended without releasing it', { stackName, staleHolder: taken.tookOverFrom });
  return taken;
}

/** The lock as a child workflow, for runs that began before PATCHES.lockByStart. */
async function acquireChildLock(stackName: string): Promise<HeldStackLock> {
  let handle = await startStackLock(stackName);
  let ended = false;
  let released = false;
  // Replay-safe: waiting on a child's result is no command. A Reset run sees the lock's end at once.
  const follow = (h: typeof handle) =>
    void h.result().then(
      () => (ended ||= h === handle),
      () => (ended ||= h === handle),
    );
  follow(handle);
  return {
    release: () =>
      CancellationScope.nonCancellable(async () => {
        released = true;
        if (ended && patched(PATCHES.releaseBestEffort)) return; // nothing to release: it ended with the run this one was reset from
        await handle.signal(releaseStackLockSignal);
        await handle.result();
      }),
    ensureHeld: async () => {
      // The lock's end may be in the same activation as the step that led here: let its result settle
      // first (microtasks only — no command, the same on replay).
      if (patched(PATCHES.lockSettleDrain)) await afterMicrotasks();
      else for (let i = 0; i < SETTLE_TURNS; i++) await Promise.resolve();
      if (!ended || released || !patched(PATCHES.relock)) return;
      log.warn('the stack lock ended under this run (a reset run): taking it again before changing anything', { stackName });
      handle = await startStackLock(stackName);
      ended = false;
      follow(handle);
    },
  };
}

/**
 * Releases the stack lock, best-effort (DESIGN §5): the lock ends with its holder anyway, so a failed
 * release is a warning in the run, never its failure.
 */
export async function releaseStackLock(lock: HeldStackLock | undefined, run: RunTracker<string>): Promise<void> {
  if (!lock) return;
  try {
    await lock.release();
  } catch (err) {
    if (!patched(PATCHES.releaseBestEffort)) throw err;
    run.warn(`releasing the stack lock failed (it ends with this run anyway): ${failureInfo(err).message}`);
  }
}

async function startStackLock(stackName: string) {
  const lockId = stackLockWorkflowId(stackName);
  const holderType = workflowInfo().workflowType;
  try {
    return await CancellationScope.nonCancellable(() =>
      startChild(stackLock, {
        workflowId: lockId,
        args: [{ stackName, holderType }],
        memo: { holderType },
        ...(patched(PATCHES.lockStackName) ? { typedSearchAttributes: [{ key: StackNameKey, value: stackName }] } : {}),
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        staticSummary: `lock of stack ${stackName}, held by ${workflowInfo().workflowId}`,
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    let holder: { workflowId?: string; workflowType?: string; since?: string } = {};
    try {
      holder = await checks.describeStackLock({ lockWorkflowId: lockId });
    } catch {
      // The refusal stands without the holder's name.
    }
    throw stackBusy(stackName, { lockWorkflowId: lockId, ...holder });
  }
}

/** The refusal of a run whose stack another run holds: non-retryable, naming the holder. */
function stackBusy(stackName: string, holder: { lockWorkflowId: string; workflowId?: string; workflowType?: string; since?: string }): ApplicationFailure {
  const who = holder.workflowId
    ? `workflow ${holder.workflowId}${holder.workflowType ? ` (${holder.workflowType})` : ''}${holder.since ? `, since ${holder.since}` : ''}`
    : `the run holding lock ${holder.lockWorkflowId}`;
  return ApplicationFailure.create({
    type: FailureTypes.stackLocked,
    nonRetryable: true,
    message: `stack ${stackName} is busy: ${who} is running on it; nothing was changed. Wait for it to end or cancel it (snapset cancel ${holder.workflowId ?? stackName})`,
    details: [{ stackName, ...holder }],
  });
}
