/**
 * The per-stack lock, from the client's side (DESIGN §5 step 1b): the activities that take and
 * release it, and the CLI and preflight that ask who holds a stack, read it here.
 *
 * The lock is a `stackLock` workflow with the fixed ID `snapset-lock-<stack>`: Temporal allows one
 * running workflow per ID, so starting it is an atomic test-and-set, whatever started the holder (the
 * snapset CLI, a raw `temporal workflow start`, a Schedule's timestamped IDs). Since
 * PATCHES.lockByStart the holder starts it with a start delay ({@link LOCK_WAKE}) — it exists and
 * holds the ID, but no worker ever runs it while the holder lives: 2 events and no workflow task per
 * run, where a child lock cost 27 events and 5 workflow tasks — and releases it by terminating it.
 * Its memo names the holder; a lock whose holder ended without releasing it (terminated, timed out)
 * is stale: the next run takes it over, and {@link describeStackLock} calls the stack free.
 * Locks started before (a child of their holder) name the holder as their parent.
 */
import type { Duration } from '@temporalio/common';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import { StackNameKey, stackLockWorkflowId } from './shared/workflow-api.js';

/**
 * How long a lock waits before a worker runs it. A run holds its stack for hours (a capture after the
 * 25 h certificate wait takes the lock at its start), so no lock of a living run wakes but the
 * longest; one whose holder ended without releasing it wakes, sees that and ends (`stackLock`).
 */
export const LOCK_WAKE = '2 days';

/** The run a lock names as its holder. */
export interface LockHolder {
  workflowId: string;
  runId: string;
  workflowType: string;
}

/** What a lock's memo holds (since PATCHES.lockByStart; older locks have `holderType` only). */
interface LockMemo {
  holderType?: string;
  holderWorkflowId?: string;
  holderRunId?: string;
}

export interface StackLockHolder {
  /** The run holding the stack. */
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  /** When the lock was taken. */
  since?: string;
  /** The lock workflow itself. */
  lockWorkflowId: string;
  /** false: no lock, or a stale one (its holder ended without releasing it). */
  held: boolean;
}

export type TakeStackLockResult =
  | { taken: true; lockWorkflowId: string; lockRunId: string; holderRunId: string; since: string; tookOverFrom?: string }
  | { taken: false; holder: StackLockHolder };

/** The holder a running lock names: its memo (since PATCHES.lockByStart) or its parent (a child lock). */
function holderOf(d: WorkflowExecutionDescription): { workflowId?: string; runId?: string; workflowType?: string } {
  const memo = (d.memo ?? {}) as LockMemo;
  const workflowId = memo.holderWorkflowId ?? d.parentExecution?.workflowId;
  const runId = memo.holderRunId ?? d.parentExecution?.runId ?? undefined;
  return { ...(workflowId ? { workflowId } : {}), ...(runId ? { runId } : {}), ...(memo.holderType ? { workflowType: memo.holderType } : {}) };
}

/** Whether a run is still running (false when it is closed or gone). */
export async function isRunning(client: Client, workflowId: string, runId?: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId, runId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Who holds a stack's lock. A lock that names a holder which has ended is not held (stale): the next
 * run of the stack takes it over. A child lock ends with its parent, so only its own state counts.
 */
export async function describeStackLock(client: Client, lockWorkflowId: string): Promise<StackLockHolder> {
  let d: WorkflowExecutionDescription;
  try {
    d = await client.workflow.getHandle(lockWorkflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { lockWorkflowId, held: false };
    throw err;
  }
  const holder = holderOf(d);
  const memo = (d.memo ?? {}) as LockMemo;
  const running = d.status.name === 'RUNNING';
  const held = running && (!memo.holderWorkflowId || (await isRunning(client, memo.holderWorkflowId, memo.holderRunId)));
  return { lockWorkflowId, held, ...holder, since: d.startTime.toISOString() };
}

/**
 * Takes a stack's lock for `holder`, or says who holds it. Idempotent: a lock that already names this
 * very run is its own (an attempt whose answer was lost). A stale lock is terminated, naming why, and
 * taken; if two runs race for it, Temporal lets one start it and the other is told the winner.
 */
export async function takeStackLock(
  client: Client,
  input: {
    stackName: string;
    holder: LockHolder;
    taskQueue: string;
    /** How long before the lock wakes (default {@link LOCK_WAKE}) and, once awake, how often it looks at its holder (default: daily). */
    wake?: { after: Duration; every?: Duration };
  },
): Promise<TakeStackLockResult> {
  const { stackName, holder } = input;
  const lockWorkflowId = stackLockWorkflowId(stackName);
  let tookOverFrom: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const started = await client.workflow.start('stackLock', {
        taskQueue: input.taskQueue,
        workflowId: lockWorkflowId,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        startDelay: input.wake?.after ?? LOCK_WAKE,
        args: [
          {
            stackName,
            holderType: holder.workflowType,
            holder: { workflowId: holder.workflowId, runId: holder.runId },
            ...(input.wake?.every ? { recheckEvery: input.wake.every } : {}),
          },
        ],
        memo: { holderType: holder.workflowType, holderWorkflowId: holder.workflowId, holderRunId: holder.runId } satisfies LockMemo,
        typedSearchAttributes: [{ key: StackNameKey, value: stackName }],
        staticSummary: `lock of stack ${stackName}, held by ${holder.workflowId}`,
      });
      return {
        taken: true,
        lockWorkflowId,
        lockRunId: started.firstExecutionRunId,
        holderRunId: holder.runId,
        since: new Date().toISOString(),
        ...(tookOverFrom ? { tookOverFrom } : {}),
      };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    let d: WorkflowExecutionDescription;
    try {
      d = await client.workflow.getHandle(lockWorkflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError && attempt < 5) continue;
      throw err;
    }
    const memo = (d.memo ?? {}) as LockMemo;
    const lock = { lockWorkflowId, ...holderOf(d), since: d.startTime.toISOString() };
    if (d.status.name !== 'RUNNING') {
      if (attempt < 5) continue; // released between the start and the look-up
      return { taken: false, holder: { ...lock, held: true } };
    }
    if (memo.holderRunId === holder.runId) {
      return { taken: true, lockWorkflowId, lockRunId: d.runId, holderRunId: holder.runId, since: lock.since };
    }
    if (memo.holderWorkflowId && attempt < 5 && !(await isRunning(client, memo.holderWorkflowId, memo.holderRunId))) {
      tookOverFrom = memo.holderWorkflowId;
      await terminateLock(
        client,
        lockWorkflowId,
        d.runId,
        `stale: its holder ${memo.holderWorkflowId} (run ${memo.holderRunId}) ended without releasing it; taken over by ${holder.workflowId}`,
      );
      continue;
    }
    return { taken: false, holder: { ...lock, held: true } };
  }
}

/** Releases a lock taken by {@link takeStackLock}: ends that very lock run (a no-op when it has ended). */
export async function releaseStackLock(
  client: Client,
  input: { lockWorkflowId: string; lockRunId: string; holderWorkflowId: string },
): Promise<{ released: boolean }> {
  return { released: await terminateLock(client, input.lockWorkflowId, input.lockRunId, `released by ${input.holderWorkflowId}: the stack is free`) };
}

async function terminateLock(client: Client, lockWorkflowId: string, runId: string, reason: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(lockWorkflowId, runId).terminate(reason);
    return true;
  } catch (err) {
    // Gone or already closed: nothing to release.
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
