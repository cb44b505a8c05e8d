/**
 * Activities that read Temporal itself, through the worker's own client (`Context.client`).
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';

export interface StackLockHolder {
  /** The run holding the stack (the lock workflow's parent). */
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  /** When the lock was taken. */
  since?: string;
  /** The lock workflow itself. */
  lockWorkflowId: string;
  /** false: the lock was released between the refusal and this look-up. */
  held: boolean;
}

export function createTemporalActivities() {
  return {
    /** Who holds a per-stack lock (src/workflows/stack-lock.ts): the parent of the running lock workflow. */
    async describeStackLock(input: { lockWorkflowId: string }): Promise<StackLockHolder> {
      const { client } = Context.current();
      try {
        const d = await client.workflow.getHandle(input.lockWorkflowId).describe();
        const memo = (d.memo ?? {}) as { holderType?: string };
        return {
          lockWorkflowId: input.lockWorkflowId,
          held: d.status.name === 'RUNNING',
          ...(d.parentExecution?.workflowId ? { workflowId: d.parentExecution.workflowId } : {}),
          ...(d.parentExecution?.runId ? { runId: d.parentExecution.runId } : {}),
          ...(memo.holderType ? { workflowType: memo.holderType } : {}),
          since: d.startTime.toISOString(),
        };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { lockWorkflowId: input.lockWorkflowId, held: false };
        throw err;
      }
    },
  };
}
