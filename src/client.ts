/**
 * Client side: connection through Temporal's envconfig and the calls the CLI and the demo make.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { parseSnapsetInput, type SnapsetInput } from './shared/input.js';
import { StackNameKey, snapsetWorkflowId, TASK_QUEUE, type SnapsetResult } from './shared/workflow-api.js';
import type { createSnapset } from './workflows/index.js';

export interface ConnectOptions {
  /** temporal.toml profile. @default $TEMPORAL_PROFILE or "default" */
  profile?: string;
  /** Overrides TEMPORAL_ADDRESS / the profile. */
  address?: string;
  namespace?: string;
}

/** A client configured like the Temporal CLI is: temporal.toml profile, then TEMPORAL_* variables, then flags. */
export async function connectClient(opts: ConnectOptions = {}): Promise<Client> {
  const cfg = loadClientConnectConfig(opts.profile ? { profile: opts.profile } : {});
  const connection = await Connection.connect({ ...cfg.connectionOptions, ...(opts.address ? { address: opts.address } : {}) } as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace: opts.namespace ?? cfg.namespace ?? 'default' });
}

/** Thrown when a SnapSet run of the same stack is already in progress. */
export class SnapsetAlreadyRunningError extends Error {
  constructor(readonly workflowId: string) {
    super(`a SnapSet run for this stack is already in progress (workflow ${workflowId}); watch it or cancel it first`);
    this.name = 'SnapsetAlreadyRunningError';
  }
}

/**
 * Starts createSnapset for one stack. The input is validated here first, so a bad file fails
 * before anything reaches the server; the workflow validates again (it may be started by others).
 * Workflow ID `snapset-<stackName>` with conflict policy FAIL: one environment, one run at a time.
 */
export async function startSnapset(
  client: Client,
  rawInput: unknown,
  opts: { taskQueue?: string } = {},
): Promise<{ handle: WorkflowHandle<typeof createSnapset>; input: SnapsetInput }> {
  const input = parseSnapsetInput(rawInput);
  const workflowId = snapsetWorkflowId(input.stackName);
  try {
    const handle = await client.workflow.start<typeof createSnapset>('createSnapset', {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId,
      workflowIdConflictPolicy: 'FAIL',
      args: [rawInput],
      typedSearchAttributes: [{ key: StackNameKey, value: input.stackName }],
      staticSummary: `SnapSet of ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs)`,
    });
    return { handle, input };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new SnapsetAlreadyRunningError(workflowId);
    throw err;
  }
}

export type { SnapsetResult };
