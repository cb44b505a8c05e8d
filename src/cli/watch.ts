/**
 * Following a run until it ends (`snapset watch`, `create --watch`). On a terminal: a live view
 * redrawn every second (phase, elapsed, the certificate-wait countdown, each instance's image). Not
 * on a terminal (CI logs, pipes): one timestamped line per change. Either way it says when no worker
 * polls the run's task queue, and a failed run ends with its root cause, not "Activity task failed".
 */
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { rootMessage } from '../client.js';
import { progressQuery, TASK_QUEUE, type ImageRetry, type SnapsetFailureInfo, type SnapsetProgress } from '../shared/workflow-api.js';
import { EXIT, type CliIo } from './context.js';
import { json, seconds, table, tidyDurations } from './format.js';

/** Warn when no worker polls the run's task queue for this long. */
export const NO_POLLER_WARN_MS = 3000;
/**
 * A poller seen this recently may be a live worker. The server refreshes a poller's last access when
 * its long poll starts and when it ends, and an idle long poll lasts a minute: an idle live worker's
 * pollers show a last access up to 60 s old (measured on the dev server), while a stopped worker's
 * stay listed for minutes. So the last access alone cannot tell a stopped worker within seconds.
 */
export const POLLER_SEEN_MS = 75_000;
/**
 * A task of the run waiting unstarted this long means no live worker takes it: a polling worker with
 * a free slot starts a task within milliseconds. This is what tells a stopped worker within seconds.
 */
export const TASK_WAIT_WARN_MS = 5000;
const TICK_MS = 1000;
/** A query needs a worker; without one it would wait for the RPC deadline. */
const QUERY_TIMEOUT_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** The run's progress, or undefined when no worker answers in time. */
export function queryProgress(handle: WorkflowHandle, timeoutMs = QUERY_TIMEOUT_MS): Promise<SnapsetProgress | undefined> {
  return withTimeout(handle.query(progressQuery), timeoutMs);
}

/** Pollers of a task queue's workflow tasks seen within {@link POLLER_SEEN_MS} (DescribeTaskQueue), and when the newest was seen. */
export async function taskQueuePollers(client: Client, taskQueue: string, now = Date.now()): Promise<{ live: number; listed: number; lastSeenMs?: number }> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: 1 /* TASK_QUEUE_KIND_NORMAL */ },
    taskQueueType: 1 /* TASK_QUEUE_TYPE_WORKFLOW */,
  });
  const seen = (r.pollers ?? []).map((p) => tsMs(p.lastAccessTime)).filter((t): t is number => t !== undefined);
  const lastSeenMs = seen.length ? Math.max(...seen) : undefined;
  return { live: seen.filter((t) => now - t <= POLLER_SEEN_MS).length, listed: r.pollers?.length ?? 0, ...(lastSeenMs !== undefined ? { lastSeenMs } : {}) };
}

/** Number of workers that may be polling a task queue for workflow tasks (see {@link POLLER_SEEN_MS}). */
export async function workflowPollers(client: Client, taskQueue: string): Promise<number> {
  return (await taskQueuePollers(client, taskQueue)).live;
}

function tsMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!t || t.seconds === undefined || t.seconds === null) return undefined;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** The run's oldest task that is scheduled but not started (a workflow task or an activity past its retry backoff), and since when. */
export function waitingTask(desc: WorkflowExecutionDescription, now = Date.now()): { what: string; sinceMs: number } | undefined {
  const waiting: { what: string; sinceMs: number }[] = [];
  const wft = desc.raw.pendingWorkflowTask;
  if (wft && wft.state === 1 /* PENDING_WORKFLOW_TASK_STATE_SCHEDULED */) {
    const since = tsMs(wft.scheduledTime);
    if (since !== undefined) waiting.push({ what: 'its workflow task', sinceMs: since });
  }
  for (const a of desc.raw.pendingActivities ?? []) {
    if (a.state !== 1 /* PENDING_ACTIVITY_STATE_SCHEDULED */) continue;
    const times = [a.scheduledTime, a.lastAttemptCompleteTime, a.nextAttemptScheduleTime].map(tsMs).filter((t): t is number => t !== undefined);
    if (times.length === 0) continue;
    const since = Math.max(...times);
    if (since <= now) waiting.push({ what: `activity ${a.activityType?.name ?? a.activityId ?? '?'}`, sinceMs: since });
  }
  return waiting.sort((a, b) => a.sinceMs - b.sinceMs)[0];
}

/** What to start when no worker runs: the command and the environment it needs. */
export function startWorkerHint(taskQueue: string): string {
  return `start one: npm run worker, with TEMPORAL_ADDRESS, OS_CLIENT_CONFIG_FILE and OS_CLOUD set (npm run sim prints the full line for the simulator)${taskQueue === TASK_QUEUE ? '' : ` and SNAPSET_TASK_QUEUE=${taskQueue}`}`;
}

/**
 * Why no worker seems to run this run, or undefined while one may: no poller seen for
 * {@link NO_POLLER_WARN_MS}, or a task waiting unstarted for {@link TASK_WAIT_WARN_MS} although
 * pollers are listed (a stopped worker's pollers stay listed for minutes).
 */
export async function noWorkerWarning(
  client: Client,
  desc: WorkflowExecutionDescription,
  noPollerSince: number | undefined,
  now = Date.now(),
): Promise<{ warning?: string; noPollerSince?: number }> {
  const taskQueue = desc.taskQueue;
  const pollers = await taskQueuePollers(client, taskQueue, now).catch(() => undefined);
  if (!pollers) return {};
  if (pollers.live === 0) {
    const since = noPollerSince ?? now;
    const seen = pollers.lastSeenMs !== undefined ? `; last poll ${seconds(now - pollers.lastSeenMs)} ago` : '';
    return {
      noPollerSince: since,
      ...(now - since >= NO_POLLER_WARN_MS ? { warning: `no worker polls task queue ${taskQueue}${seen}: ${startWorkerHint(taskQueue)}` } : {}),
    };
  }
  const task = waitingTask(desc, now);
  if (task && now - task.sinceMs >= TASK_WAIT_WARN_MS) {
    return {
      warning: `no worker takes this run's tasks: ${task.what} has waited ${seconds(now - task.sinceMs)} on task queue ${taskQueue} (the newest poller was seen ${seconds(now - (pollers.lastSeenMs ?? now))} ago, and a stopped worker stays listed for minutes; or every worker is busy): ${startWorkerHint(taskQueue)}`,
    };
  }
  return {};
}

/**
 * Waits until a worker starts the run's waiting task (or the run ends): undefined then, else — after
 * {@link TASK_WAIT_WARN_MS} — the warning to print. For verbs that start a run and do not watch it.
 */
export async function workerPickup(client: Client, handle: WorkflowHandle, now: () => number = Date.now): Promise<string | undefined> {
  // Bounded by the client's clock too, in case the server's runs ahead of it.
  const deadline = now() + TASK_WAIT_WARN_MS + 10_000;
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') return undefined;
    const task = waitingTask(desc, now());
    if (!task) return undefined;
    if (now() - task.sinceMs >= TASK_WAIT_WARN_MS || now() > deadline) {
      return (await noWorkerWarning(client, desc, now() - NO_POLLER_WARN_MS, now())).warning;
    }
    await sleep(250);
  }
}

function waitLine(p: SnapsetProgress, now: number): string | undefined {
  const w = p.certWait;
  if (!w || p.phase !== 'waiting-cert-rotation' || w.endedAt) return undefined;
  const left = Date.parse(w.wakeAt) - now;
  return `certificate wait: wakes ${w.wakeAt} (in ${seconds(left)}); cluster installed ${w.clusterCreatedAt} (${w.clusterCreatedAtSource})`;
}

/** One row per image, then one per volume snapshot (`master0:/dev/vdb`). */
function imageRows(p: SnapsetProgress): string[][] {
  return [
    ...Object.entries(p.images ?? {}).map(([name, i]) => [name, i.state, i.imageId ?? '']),
    ...Object.entries(p.volumeSnapshots ?? {}).map(([key, v]) => [key, v.state, v.snapshotId ?? '']),
  ];
}

/** The lines of the live view. */
export function renderLive(workflowId: string, status: string, p: SnapsetProgress | undefined, startedAt: number, now: number, warning?: string): string[] {
  const lines = [`${workflowId}  ${status}  ${p ? `phase ${p.phase}` : 'phase ?'}  elapsed ${seconds(now - startedAt)}`];
  if (p) {
    lines.push(`  ${tidyDurations(p.details)}`);
    const wait = waitLine(p, now);
    if (wait) lines.push(`  ${wait}`);
    const rows = imageRows(p);
    if (rows.length > 0) lines.push(...table([['instance', 'image', 'id'], ...rows]).map((l) => `  ${l}`));
    for (const r of p.imageRetries ?? []) lines.push(`  ${retryLine(r)}`);
    for (const w of p.warnings ?? []) lines.push(`  warning: ${w}`);
  }
  if (warning) lines.push(`  ! ${warning}`);
  return lines;
}

/** One failed snapshot taken again: instance, attempt, why. */
export function retryLine(r: ImageRetry): string {
  return `retry: ${r.instance} attempt ${r.attempt} of ${r.of} (${r.at}): ${r.reason}`;
}

/** One line per change, for logs. */
function plainLine(p: SnapsetProgress): string {
  const w = p.certWait && p.phase === 'waiting-cert-rotation' && !p.certWait.endedAt ? ` (wakes ${p.certWait.wakeAt})` : '';
  const images = imageRows(p);
  const retries = p.imageRetries?.length
    ? ` (${p.imageRetries.length} image retr${p.imageRetries.length === 1 ? 'y' : 'ies'}: ${p.imageRetries.map((r) => `${r.instance} #${r.attempt}`).join(', ')})`
    : '';
  const details = tidyDurations(p.details);
  // Details that already begin with the phase ("failed: …") are not prefixed again.
  const head = details.startsWith(`${p.phase}:`) ? details : `${p.phase}${w}: ${details}`;
  return `${head}${images.length ? ` [${images.map(([n, s]) => `${n} ${s}`).join(', ')}]` : ''}${retries}`;
}

/** The failure lines of a closed run that did not complete: the workflow's own account, else the root cause. */
export async function failureLines(handle: WorkflowHandle, desc: WorkflowExecutionDescription, progress?: SnapsetProgress): Promise<string[]> {
  const failure: SnapsetFailureInfo | undefined = progress?.failure ?? (await queryProgress(handle))?.failure;
  let message = failure?.message;
  if (!message) {
    try {
      await handle.result();
    } catch (err) {
      message = rootMessage(err);
    }
  }
  const lines = [`${desc.status.name}: ${message ?? 'no failure recorded'}`];
  if (failure?.type) lines.push(`  type: ${failure.type}${failure.instance ? `, instance ${failure.instance}` : ''}`);
  if (failure?.hint) lines.push(`  what to do: ${failure.hint}`);
  if (failure?.finalServerStatus)
    lines.push(
      `  VMs now: ${Object.entries(failure.finalServerStatus)
        .map(([n, s]) => `${n} ${s}`)
        .join(', ')}`,
    );
  for (const r of failure?.imageRetries ?? []) lines.push(`  ${retryLine(r)}`);
  if (failure?.cleanup)
    lines.push(
      `  cleanup: ${failure.cleanup.deleted.length} image(s)${failure.cleanup.deletedSnapshots?.length ? ` and ${failure.cleanup.deletedSnapshots.length} volume snapshot(s)` : ''} deleted${failure.cleanup.left.length ? `, left: ${failure.cleanup.left.join(', ')}` : ''}`,
    );
  return lines;
}

export interface WatchOptions {
  /** Wall clock, for tests of the view. @default Date.now */
  now?: () => number;
}

export async function watchRun(client: Client, workflowId: string, io: CliIo, opts: WatchOptions = {}): Promise<number> {
  const now = opts.now ?? Date.now;
  const handle = client.workflow.getHandle(workflowId);
  let lastPlain = '';
  let drawn = 0;
  let progress: SnapsetProgress | undefined;
  let noPollerSince: number | undefined;
  let warned = false;
  let first = true;
  /** Entries of progress.phasesRun already given a line (off a terminal every phase gets one, even one passed between two ticks). */
  let phasesShown = 0;
  const plain = (p: SnapsetProgress) => {
    const stamp = new Date(now()).toISOString();
    const run = p.phasesRun ?? [];
    for (const phase of run.slice(phasesShown, -1)) io.out(`${stamp}  ${phase}: done`);
    const line = plainLine(p);
    if (line !== lastPlain) io.out(`${stamp}  ${line}`);
    lastPlain = line;
    phasesShown = Math.max(phasesShown, run.length);
  };
  const width = Math.max(40, (io.columns ?? 120) - 1);
  const draw = (all: string[]) => {
    const lines = all.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    // Cursor to the start of the previous view, clear to the end of the screen, draw again.
    io.out(`${drawn ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}`);
    drawn = lines.length;
  };
  for (;;) {
    const desc = await handle.describe();
    const startedAt = progress?.startedAt ? Date.parse(progress.startedAt) : desc.startTime.getTime();
    if (desc.status.name !== 'RUNNING') {
      if (io.isTTY && drawn) {
        // The final view shows the final state of every image (the last tick may predate it).
        progress = (await queryProgress(handle)) ?? progress;
        draw(renderLive(workflowId, desc.status.name, progress, startedAt, desc.closeTime?.getTime() ?? now()));
      } else if (!io.isTTY) {
        // The phases passed since the last tick, and the last one (completed, failed), each a line.
        progress = (await queryProgress(handle)) ?? progress;
        if (progress) plain(progress);
      }
      if (desc.status.name === 'COMPLETED') {
        io.out(json(await handle.result()));
        return EXIT.ok;
      }
      for (const line of await failureLines(handle, desc, progress)) io.out(line);
      return EXIT.failed;
    }

    // A line at once, before anything that may wait (the query needs a worker).
    if (first && !io.isTTY)
      io.out(
        `${new Date(now()).toISOString()}  watching ${workflowId} (${desc.status.name}, task queue ${desc.taskQueue}, started ${desc.startTime.toISOString()})`,
      );
    if (first && io.isTTY) draw(renderLive(workflowId, desc.status.name, progress, startedAt, now()));
    first = false;
    const live = await noWorkerWarning(client, desc, noPollerSince, now());
    noPollerSince = live.noPollerSince;
    const warning = live.warning;
    // Without a worker a query would only wait for its timeout.
    if (!warning && noPollerSince === undefined) {
      if (warned && !io.isTTY) io.out(`${new Date(now()).toISOString()}  a worker takes the run's tasks on task queue ${desc.taskQueue} now`);
      warned = false;
      progress = (await queryProgress(handle)) ?? progress;
    }

    if (io.isTTY) {
      draw(renderLive(workflowId, desc.status.name, progress, startedAt, now(), warning));
    } else {
      if (warning && !warned) io.out(`${new Date(now()).toISOString()}  warning: ${warning}`);
      if (progress) plain(progress);
    }
    if (warning) warned = true;
    await sleep(TICK_MS);
  }
}
