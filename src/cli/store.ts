/**
 * What the verbs that read the image store share: a cloud client from clouds.yaml like the worker
 * (`--cloud`, else OS_CLOUD, else the only cloud), snap_id arguments, confirmations and the
 * `pruneSnapsets` runs behind `delete` and `prune`.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { CloudsYamlClientProvider, type OpenStackClient } from '../openstack/index.js';
import { SNAP_ID } from '../shared/snapset/index.js';
import type { PruneSnapsetsInput, PruneSnapsetsResult } from '../shared/snapset/index.js';
import { pruneWorkflowId, TASK_QUEUE } from '../shared/workflow-api.js';
import type { pruneSnapsets } from '../workflows/index.js';
import { EXIT, type CliContext, type GlobalOpts } from './context.js';
import { workerPickup } from './watch.js';

export { cloudOption } from './args.js';

/** Runs fn with a client of the cloud the options name; errors go to the CLI's one exit-code mapping (a cloud that does not answer or is not configured: exit 3). */
export async function withCloud(_ctx: CliContext, cloud: string | undefined, fn: (c: OpenStackClient) => Promise<number | void>): Promise<number | void> {
  const provider = new CloudsYamlClientProvider({ timeoutMs: 30_000 });
  try {
    return await fn(await provider.client(cloud));
  } finally {
    provider.close();
  }
}

export function isSnapId(s: string): boolean {
  return SNAP_ID.test(s) && !s.startsWith('snapset-');
}

/**
 * Deleting needs a yes: `--yes`, or an answer on a terminal. Off a terminal without `--yes` it is
 * refused (exit 2) before anything is contacted — a script must say so explicitly.
 */
export function refuseOffTerminal(ctx: CliContext, yes: boolean | undefined, what = DELETING): number | undefined {
  if (yes || (process.stdin.isTTY && ctx.io.isTTY)) return undefined;
  ctx.io.err(what.refused);
  return EXIT.usage;
}

/** What a confirmation says when it is refused off a terminal, and when the answer is no. */
export interface ConfirmWords {
  refused: string;
  declined: string;
}
const DELETING: ConfirmWords = {
  refused: 'snapset: refusing to delete without confirmation (not a terminal): add --yes, or look first with --dry-run',
  declined: 'nothing deleted',
};

/** Asks on the terminal (see {@link refuseOffTerminal}); undefined = go ahead, else the exit code. */
export async function confirm(ctx: CliContext, question: string, yes: boolean | undefined, what = DELETING): Promise<number | undefined> {
  if (yes) return undefined;
  const refused = refuseOffTerminal(ctx, yes, what);
  if (refused !== undefined) return refused;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer === 'y' || answer === 'yes') return undefined;
    ctx.io.err(what.declined);
    return EXIT.failed;
  } finally {
    rl.close();
  }
}

/** Runs `pruneSnapsets` to its end (durable, in the Web UI under a workflow ID saying what it does). */
export async function runPrune(
  ctx: CliContext,
  client: Client,
  cmd: Command,
  input: PruneSnapsetsInput,
  what: 'prune' | 'delete',
): Promise<{ workflowId: string; result: PruneSnapsetsResult }> {
  const taskQueue = cmd.optsWithGlobals<GlobalOpts>().taskQueue ?? TASK_QUEUE;
  const workflowId = pruneWorkflowId(what, input.stackName, new Date());
  const handle = await client.workflow.start<typeof pruneSnapsets>('pruneSnapsets', {
    taskQueue,
    workflowId,
    args: [input],
    staticSummary: `${what} SnapSets${input.stackName ? ` of ${input.stackName}` : ''}${input.dryRun ? ' (dry run)' : ''}`,
  });
  // Without a worker the run waits, queued: say so instead of hanging silently.
  void workerPickup(client, handle)
    .then((w) => w && ctx.io.err(`snapset: warning: ${w}; ${workflowId} runs once one does`))
    .catch(() => undefined);
  return { workflowId, result: await handle.result() };
}

/** The sets a prune left and what it could not delete, one line each. */
export function pruneLines(r: PruneSnapsetsResult, workflowId: string): string[] {
  const lines = [`${r.dryRun ? 'dry run' : 'pruneSnapsets'} ${workflowId}:`];
  for (const id of r.delete) lines.push(`  ${r.dryRun ? 'would delete' : r.deleted.includes(id) ? 'deleted' : 'NOT deleted'}  ${id}  ${r.reasons[id]}`);
  for (const id of r.keep) lines.push(`  kept          ${id}  ${r.reasons[id]}`);
  for (const [id, why] of Object.entries(r.reasons)) if (!r.delete.includes(id) && !r.keep.includes(id)) lines.push(`  not found     ${id}  ${why}`);
  for (const l of r.left) lines.push(`  left ${l.imageId ? `image ${l.imageId}` : `volume snapshot ${l.snapshotId}`} of ${l.snapId}: ${l.reason}`);
  return lines;
}

/** An age or a time left as people read it in a table: the two largest units (`40d2h`, `5h3m`, `42s`). */
export function roughly(ms: number): string {
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const;
  const t = Math.max(0, ms);
  const i = units.findIndex(([, size]) => t >= size);
  if (i < 0) return '0s';
  const [u1, s1] = units[i]!;
  const next = units[i + 1];
  return `${Math.floor(t / s1)}${u1}${next ? `${Math.floor((t % s1) / next[1])}${next[0]}` : ''}`;
}
