/**
 * Activities that read and write Temporal itself, through the worker's own client (`Context.client`):
 * the per-stack lock (src/stack-lock.ts).
 */
import { Context } from '@temporalio/activity';
import * as stackLock from '../stack-lock.js';

export type { StackLockHolder, TakeStackLockResult } from '../stack-lock.js';

export function createTemporalActivities() {
  return {
    /** Who holds a per-stack lock; a stale lock (its holder ended) is not held. */
    async describeStackLock(input: { lockWorkflowId: string }): Promise<stackLock.StackLockHolder> {
      return stackLock.describeStackLock(Context.current().client, input.lockWorkflowId);
    },

    /** Takes the stack's lock for the calling run, on the run's own task queue, or says who holds it. */
    async takeStackLock(input: { stackName: string; holder: stackLock.LockHolder }): Promise<stackLock.TakeStackLockResult> {
      const { client, info } = Context.current();
      return stackLock.takeStackLock(client, { ...input, taskQueue: info.taskQueue });
    },

    /** Releases the lock run the caller took (best-effort: a lock that has ended is released already). */
    async releaseStackLock(input: { lockWorkflowId: string; lockRunId: string; holderWorkflowId: string }): Promise<{ released: boolean }> {
      return stackLock.releaseStackLock(Context.current().client, input);
    },

    /** Whether a lock's holder still runs (a lock whose start delay elapsed asks, `stackLock`). */
    async isRunRunning(input: { workflowId: string; runId: string }): Promise<boolean> {
      return stackLock.isRunning(Context.current().client, input.workflowId, input.runId);
    },
  };
}
