/**
 * Following a run until it ends (`snapset watch`, `create --watch`). On a terminal: a live view
 * redrawn every second (phase, elapsed, the certificate-wait countdown, each instance's image). Not
 * on a terminal (CI logs, pipes): one timestamped line per change. Either way it says when no worker
 * polls the run's task queue, and a failed run ends with its root cause, not "Activity task failed".
 */
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { rootMessage } from '../client.js';
import { progressQuery, type ImageRetry, type SnapsetFailureInfo, type SnapsetProgress } from '../shared/workflow-api.js';
import { EXIT, type CliIo } from './context.js';
import { json, seconds, table, tidyDurations } from './format.js';

/** Warn about a missing worker after this long without a poller (the issue asks for within 10 s). */
export const NO_POLLER_WARN_MS = 3000;
const TICK_MS = 1000;
/** A query needs a worker; without one it would wait for the RPC deadline. */
const QUERY_TIMEOUT_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

/** The run's progress, or undefined when no worker answers in time. */
export function queryProgress(handle: WorkflowHandle, timeoutMs = QUERY_TIMEOUT_MS): Promise<SnapsetProgress | undefined> {
  return withTimeout(handle.query(progressQuery), timeoutMs);
}

/** Number of workers polling a task queue for workflow tasks (DescribeTaskQueue's pollers). */
export async function workflowPollers(client: Client, taskQueue: string): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: 1 /* TASK_QUEUE_KIND_NORMAL */ },
    taskQueueType: 1 /* TASK_QUEUE_TYPE_WORKFLOW */,
  });
  return r.pollers?.length ?? 0;
}

function waitLine(p: SnapsetProgress, now: number): string | undefined {
  const w = p.certWait;
  if (!w || p.phase !== 'waiting-cert-rotation' || w.endedAt) return undefined;
  const left = Date.parse(w.wakeAt) - now;
  return `certificate wait: wakes ${w.wakeAt} (in ${seconds(left)}); cluster installed ${w.clusterCreatedAt} (${w.clusterCreatedAtSource})`;
}

function imageRows(p: SnapsetProgress): string[][] {
  return Object.entries(p.images ?? {}).map(([name, i]) => [name, i.state, i.imageId ?? '']);
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
  const retries = p.imageRetries?.length ? ` (${p.imageRetries.length} image retr${p.imageRetries.length === 1 ? 'y' : 'ies'}: ${p.imageRetries.map((r) => `${r.instance} #${r.attempt}`).join(', ')})` : '';
  return `${p.phase}${w}: ${tidyDurations(p.details)}${images.length ? ` [${images.map(([n, s]) => `${n} ${s}`).join(', ')}]` : ''}${retries}`;
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
  if (failure?.finalServerStatus) lines.push(`  VMs now: ${Object.entries(failure.finalServerStatus).map(([n, s]) => `${n} ${s}`).join(', ')}`);
  for (const r of failure?.imageRetries ?? []) lines.push(`  ${retryLine(r)}`);
  if (failure?.cleanup) lines.push(`  cleanup: ${failure.cleanup.deleted.length} image(s) deleted${failure.cleanup.left.length ? `, left: ${failure.cleanup.left.join(', ')}` : ''}`);
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
      }
      if (desc.status.name === 'COMPLETED') {
        io.out(json(await handle.result()));
        return EXIT.ok;
      }
      for (const line of await failureLines(handle, desc, progress)) io.out(line);
      return EXIT.failed;
    }

    const pollers = await workflowPollers(client, desc.taskQueue).catch(() => 1);
    let warning: string | undefined;
    if (pollers === 0) {
      noPollerSince ??= now();
      if (now() - noPollerSince >= NO_POLLER_WARN_MS) {
        warning = `no worker polls task queue ${desc.taskQueue} (for ${seconds(now() - noPollerSince)}): start one, e.g. npm run worker (SNAPSET_TASK_QUEUE=${desc.taskQueue})`;
      }
    } else {
      if (warned && !io.isTTY) io.out(`${new Date(now()).toISOString()}  a worker polls task queue ${desc.taskQueue} now`);
      noPollerSince = undefined;
      warned = false;
      progress = (await queryProgress(handle)) ?? progress;
    }

    if (io.isTTY) {
      draw(renderLive(workflowId, desc.status.name, progress, startedAt, now(), warning));
    } else {
      if (warning && !warned) io.out(`${new Date(now()).toISOString()}  warning: ${warning}`);
      const line = progress ? plainLine(progress) : '';
      if (line && line !== lastPlain) io.out(`${new Date(now()).toISOString()}  ${line}`);
      lastPlain = line;
    }
    if (warning) warned = true;
    await sleep(TICK_MS);
  }
}
