/**
 * Client side: connection through Temporal's envconfig and the calls the CLI and the demo make.
 */
import { connect as tcpConnect } from 'node:net';
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

/** How long a client or worker tries to reach the Temporal frontend before giving up (the SDK's default is 10 s). */
export const CONNECT_TIMEOUT_MS = 3000;

/** Thrown when the Temporal frontend cannot be reached; names the address and where it came from. */
export class TemporalUnreachableError extends Error {
  constructor(
    readonly address: string,
    cause: unknown,
  ) {
    const why = rootMessage(cause);
    super(
      `cannot reach Temporal at ${address}${why ? ` (${why})` : ''}; set TEMPORAL_ADDRESS or --address, or a profile in temporal.toml ` +
        '(TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE); is a server running (npm run dev:server or temporal server start-dev)?',
      { cause },
    );
    this.name = 'TemporalUnreachableError';
  }
}

/** The deepest message in an error's cause chain (ActivityFailure → ApplicationFailure → …), one line. */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  let message = '';
  for (let depth = 0; e && depth < 20; depth++) {
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string' && m.trim()) message = m.trim();
    e = (e as { cause?: unknown }).cause;
  }
  return message.split('\n')[0]!;
}

/** The address envconfig resolves to when nothing overrides it (the SDK's default). */
export function resolvedAddress(address?: string): string {
  return address ?? 'localhost:7233';
}

/**
 * A plain TCP connect first: a refused or unroutable address fails in milliseconds with the
 * reason (ECONNREFUSED, ENOTFOUND), where gRPC would retry until its deadline and say only "deadline".
 */
export function probeTcp(address: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  const i = address.lastIndexOf(':');
  const host = (i > 0 ? address.slice(0, i) : address).replace(/^\[|\]$/g, '');
  const port = i > 0 ? Number(address.slice(i + 1)) : 7233;
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs / 1000} s`)));
    socket.once('connect', () => done());
    socket.once('error', (err: NodeJS.ErrnoException) => done(new Error(err.code ?? err.message)));
  });
}

/** A client configured like the Temporal CLI is: temporal.toml profile, then TEMPORAL_* variables, then flags. */
export async function connectClient(opts: ConnectOptions = {}): Promise<Client> {
  const cfg = loadClientConnectConfig(opts.profile ? { profile: opts.profile } : {});
  const options = { ...cfg.connectionOptions, ...(opts.address ? { address: opts.address } : {}), connectTimeout: CONNECT_TIMEOUT_MS };
  const address = resolvedAddress(options.address);
  let connection: Connection;
  try {
    await probeTcp(address);
    connection = await Connection.connect(options as Parameters<typeof Connection.connect>[0]);
  } catch (err) {
    throw new TemporalUnreachableError(address, err);
  }
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
