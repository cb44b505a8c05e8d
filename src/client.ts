/**
 * Client side: connection through Temporal's envconfig and the calls the CLI and the demo make.
 */
import { connect as tcpConnect } from 'node:net';
import {
  Client,
  Connection,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  type ScheduleDescription,
  type ScheduleSpec,
  type WorkflowHandle,
} from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ValidationError } from './shared/errors.js';
import { parseSnapsetInput, type SnapsetInput } from './shared/input.js';
import { parseReviveInput, type ReviveInput, type ReviveResult } from './shared/revive.js';
import { reviveWorkflowId, scheduleIdOf, StackNameKey, snapsetWorkflowId, stackLockWorkflowId, TASK_QUEUE, type SnapsetResult } from './shared/workflow-api.js';
import type { createSnapset, reviveSnapset } from './workflows/index.js';
import { describeStackLock } from './stack-lock.js';

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
  constructor(
    readonly workflowId: string,
    readonly holder?: StackHolder,
  ) {
    const who =
      holder && holder.workflowId !== workflowId
        ? `workflow ${holder.workflowId}${holder.workflowType ? ` (${holder.workflowType}${holder.scheduleId ? `, started by schedule ${holder.scheduleId}` : ''})` : ''}${holder.since ? ` since ${holder.since}` : ''}`
        : `workflow ${workflowId}`;
    super(`a run for this stack is already in progress (${who}); watch it or cancel it first`);
    this.name = 'SnapsetAlreadyRunningError';
  }
}

/** A run holding a stack. */
export interface StackHolder {
  workflowId: string;
  runId?: string;
  workflowType?: string;
  since?: string;
  /** Set when a Schedule started it (`TemporalScheduledById`). */
  scheduleId?: string;
}

/**
 * The run holding a stack, if any: first the per-stack lock workflow (strongly consistent: it names
 * its holder, src/stack-lock.ts), then a visibility query for a running workflow with that StackName (a run still
 * before its lock, e.g. in validation). The workflows' lock is what guarantees it; this lets the CLI
 * refuse before a workflow is started.
 */
export async function findStackHolder(client: Client, stackName: string): Promise<StackHolder | undefined> {
  const lock = await describeStackLock(client, stackLockWorkflowId(stackName));
  if (lock.held && lock.workflowId) {
    const parent = await client.workflow
      .getHandle(lock.workflowId, lock.runId)
      .describe()
      .catch(() => undefined);
    return (
      holderOf(parent) ?? {
        workflowId: lock.workflowId,
        ...(lock.runId ? { runId: lock.runId } : {}),
        ...(lock.workflowType ? { workflowType: lock.workflowType } : {}),
      }
    );
  }
  const escaped = stackName.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  for await (const wf of client.workflow.list({ query: `StackName = '${escaped}' AND ExecutionStatus = 'Running'`, pageSize: 10 })) {
    // The lock itself, and a Schedule of the stack (its scheduler workflow carries the StackName too), hold nothing.
    if (wf.type === 'stackLock' || wf.workflowId.startsWith('temporal-sys-scheduler:')) continue;
    return holderOf(wf);
  }
  return undefined;
}

function holderOf(
  wf: { workflowId: string; runId: string; type: string; startTime: Date; searchAttributes?: Record<string, unknown> } | undefined,
): StackHolder | undefined {
  if (!wf) return undefined;
  const scheduled = wf.searchAttributes?.TemporalScheduledById;
  const scheduleId = Array.isArray(scheduled) && typeof scheduled[0] === 'string' ? scheduled[0] : undefined;
  return { workflowId: wf.workflowId, runId: wf.runId, workflowType: wf.type, since: wf.startTime.toISOString(), ...(scheduleId ? { scheduleId } : {}) };
}

/**
 * Starts a run of one stack: refused first when another run holds the stack (naming it), then
 * started with conflict policy FAIL and the StackName search attribute.
 */
async function startStackRun<W extends typeof createSnapset | typeof reviveSnapset>(
  client: Client,
  run: { workflowType: 'createSnapset' | 'reviveSnapset'; workflowId: string; stackName: string; rawInput: unknown; summary: string; taskQueue?: string },
): Promise<WorkflowHandle<W>> {
  const holder = await findStackHolder(client, run.stackName);
  if (holder) throw new SnapsetAlreadyRunningError(run.workflowId, holder);
  try {
    return await client.workflow.start<W>(run.workflowType, {
      taskQueue: run.taskQueue ?? TASK_QUEUE,
      workflowId: run.workflowId,
      workflowIdConflictPolicy: 'FAIL',
      args: [run.rawInput] as Parameters<W>,
      typedSearchAttributes: [{ key: StackNameKey, value: run.stackName }],
      staticSummary: run.summary,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new SnapsetAlreadyRunningError(run.workflowId);
    throw err;
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
  const handle = await startStackRun<typeof createSnapset>(client, {
    workflowType: 'createSnapset',
    workflowId: snapsetWorkflowId(input.stackName),
    stackName: input.stackName,
    rawInput,
    summary: `SnapSet of ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs)`,
    ...(opts.taskQueue ? { taskQueue: opts.taskQueue } : {}),
  });
  return { handle, input };
}

/** Starts reviveSnapset for one stack, refusing first when another run holds the stack. */
export async function startRevive(
  client: Client,
  rawInput: unknown,
  opts: { taskQueue?: string } = {},
): Promise<{ handle: WorkflowHandle<typeof reviveSnapset>; input: ReviveInput }> {
  const input = parseReviveInput(rawInput);
  const handle = await startStackRun<typeof reviveSnapset>(client, {
    workflowType: 'reviveSnapset',
    workflowId: reviveWorkflowId(input.stackName),
    stackName: input.stackName,
    rawInput,
    summary: `revive ${input.stackName}${input.snapId ? ` from set ${input.snapId}` : ' from its newest complete set'}`,
    ...(opts.taskQueue ? { taskQueue: opts.taskQueue } : {}),
  });
  return { handle, input };
}

// ---- Schedules (DESIGN §4: the nightly SnapSet of a CI lab) ------------------------------------

export interface SnapsetScheduleOptions {
  /** @default `snapset-<stack>` */
  scheduleId?: string;
  /** Cron expressions (`0 2 * * *`). */
  cron?: string[];
  /** Fixed intervals (`24h`, `30m`). */
  interval?: string[];
  /** IANA time zone of the cron expressions. @default UTC */
  timezone?: string;
  /** Shown with the schedule (`snapset schedule describe`, the Web UI). */
  note?: string;
  /** The input file the schedule was made from (kept in the memo). */
  inputFile?: string;
  /** A run missed while the server was down is still started within this window. @default 1h */
  catchupWindow?: string;
  paused?: boolean;
  taskQueue?: string;
}

/**
 * A Schedule whose action starts createSnapset with the validated input: workflow ID
 * `snapset-<stack>` (Temporal appends the scheduled time), overlap SKIP (a run still going blocks
 * the next firing), the StackName search attribute on every run, the input file in the memo.
 */
export async function createSnapsetSchedule(
  client: Client,
  rawInput: unknown,
  opts: SnapsetScheduleOptions,
): Promise<{ scheduleId: string; input: SnapsetInput }> {
  const input = parseSnapsetInput(rawInput);
  if (!opts.cron?.length && !opts.interval?.length) throw new ValidationError([{ path: '--cron', message: 'give --cron or --interval' }]);
  const scheduleId = opts.scheduleId ?? scheduleIdOf(input.stackName);
  const spec: ScheduleSpec = {
    ...(opts.cron?.length ? { cronExpressions: opts.cron } : {}),
    ...(opts.interval?.length ? { intervals: opts.interval.map((every) => ({ every: every as `${number}h` })) } : {}),
    timezone: opts.timezone ?? 'UTC',
  };
  await client.schedule.create({
    scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'createSnapset',
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId: snapsetWorkflowId(input.stackName),
      args: [rawInput],
      typedSearchAttributes: [{ key: StackNameKey, value: input.stackName }],
      staticSummary: `scheduled SnapSet of ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs)`,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: opts.catchupWindow ?? '1h' },
    state: { paused: opts.paused ?? false, note: opts.note ?? `SnapSet of ${input.stackName}${opts.inputFile ? ` from ${opts.inputFile}` : ''}` },
    // Temporal compiles cron expressions into calendars; the memo keeps them as written.
    memo: { stackName: input.stackName, ...(opts.cron?.length ? { cron: opts.cron } : {}), ...(opts.inputFile ? { inputFile: opts.inputFile } : {}) },
    typedSearchAttributes: [{ key: StackNameKey, value: input.stackName }],
  });
  return { scheduleId, input };
}

/** A schedule as `snapset schedule describe --json` prints it (stable shape, README). */
export interface SnapsetScheduleView {
  scheduleId: string;
  stackName?: string;
  inputFile?: string;
  paused: boolean;
  note?: string;
  cron: string[];
  intervals: string[];
  timezone?: string;
  overlap: string;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; takenAt: string; workflowId: string; runId: string; status?: string }[];
  running: { workflowId: string; runId: string }[];
  actionsTaken: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
}

export async function describeSnapsetSchedule(client: Client, scheduleId: string, opts: { withStatus?: boolean } = {}): Promise<SnapsetScheduleView> {
  const d: ScheduleDescription = await client.schedule.getHandle(scheduleId).describe();
  const memo = (d.memo ?? {}) as { stackName?: string; inputFile?: string; cron?: string[] };
  const recentRuns = await Promise.all(
    d.info.recentActions.map(async (a) => {
      const status = opts.withStatus
        ? await client.workflow
            .getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId)
            .describe()
            .then(
              (x) => x.status.name,
              () => undefined,
            )
        : undefined;
      return {
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.workflow.workflowId,
        runId: a.action.workflow.firstExecutionRunId,
        ...(status ? { status } : {}),
      };
    }),
  );
  return {
    scheduleId: d.scheduleId,
    ...(memo.stackName ? { stackName: memo.stackName } : {}),
    ...(memo.inputFile ? { inputFile: memo.inputFile } : {}),
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    cron: memo.cron ?? [],
    intervals: (d.spec.intervals ?? []).map((i) => String(i.every)),
    ...(d.spec.timezone ? { timezone: d.spec.timezone } : {}),
    overlap: String(d.policies.overlap),
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns,
    running: d.info.runningActions.map((a) => ({ workflowId: a.workflow.workflowId, runId: a.workflow.firstExecutionRunId })),
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
  };
}

/** Every schedule of the namespace that starts createSnapset. */
export async function listSnapsetSchedules(
  client: Client,
): Promise<{ scheduleId: string; stackName?: string; paused: boolean; note?: string; nextRun?: string; lastRun?: string }[]> {
  const out = [];
  for await (const s of client.schedule.list()) {
    if (s.action?.workflowType !== 'createSnapset') continue;
    const memo = (s.memo ?? {}) as { stackName?: string };
    const last = s.info.recentActions.at(-1);
    out.push({
      scheduleId: s.scheduleId,
      ...(memo.stackName ? { stackName: memo.stackName } : {}),
      paused: s.state.paused,
      ...(s.state.note ? { note: s.state.note } : {}),
      ...(s.info.nextActionTimes[0] ? { nextRun: s.info.nextActionTimes[0].toISOString() } : {}),
      ...(last ? { lastRun: `${last.takenAt.toISOString()} ${last.action.workflow.workflowId}` } : {}),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** A schedule ID as given, or else the default ID of a stack of that name (`snapset-<stack>`). */
export async function resolveScheduleId(client: Client, idOrStack: string): Promise<string> {
  try {
    await client.schedule.getHandle(idOrStack).describe();
    return idOrStack;
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError) || idOrStack.startsWith('snapset-')) throw err;
    const byStack = scheduleIdOf(idOrStack);
    await client.schedule.getHandle(byStack).describe();
    return byStack;
  }
}

/**
 * Fires a schedule now. Temporal's trigger allows overlap unless told otherwise; the schedule's own
 * policy (SKIP) is passed so a trigger while a run goes on is skipped like a timed firing.
 */
export async function triggerSnapsetSchedule(client: Client, scheduleId: string, opts: { allowOverlap?: boolean } = {}): Promise<void> {
  await client.schedule.getHandle(scheduleId).trigger(opts.allowOverlap ? ScheduleOverlapPolicy.ALLOW_ALL : ScheduleOverlapPolicy.SKIP);
}

export type { SnapsetResult, ReviveResult };
