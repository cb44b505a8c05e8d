/**
 * `snapset show`: a SnapSet by snap_id (every image, and what makes it incomplete), or the latest
 * run of a stack / a workflow ID (status, progress and result or the failure's root cause, as JSON).
 */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { readSnapset } from '../../openstack/snapset-store.js';
import { ConfigError } from '../../shared/errors.js';
import { ageMs, type StoredSnapset } from '../../shared/snapset/index.js';
import { workflowIdOf } from '../args.js';
import { EXIT, type CliContext } from '../context.js';
import { json, table } from '../format.js';
import { failureLines, queryProgress } from '../watch.js';
import { cloudOption, isSnapId, roughly, withCloud } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('show')
    .argument('<target>', 'snap_id (8 characters, from snapset list), stack name or workflow ID')
    .description('a SnapSet (by snap_id): every image and what makes it incomplete; or the latest run of a stack, as JSON')
    .addOption(cloudOption())
    .option('--json', 'the set as JSON (runs are always JSON)')
    .action(
      ctx.action(async (target: string, opts: { cloud?: string; json?: boolean }, cmd: Command) => {
        if (isSnapId(target)) {
          // A stack name may look like a snap_id (hs-sno-1): no such set (or no cloud configured) → the stack's run.
          let set: StoredSnapset | undefined;
          const code = await withCloud(ctx, opts.cloud, async (c) => {
            set = await readSnapset(c, target);
          }).catch((err: unknown) => {
            if (err instanceof ConfigError) return undefined;
            throw err;
          });
          if (code !== undefined) return code;
          if (set) return showSet(ctx, set, opts.json);
        }
        return ctx.withClient(cmd, (client) => showRun(ctx, client, target));
      }),
    );
}

function showSet(ctx: CliContext, s: StoredSnapset, asJson: boolean | undefined): number {
  if (asJson) {
    ctx.io.out(json(s));
    return EXIT.ok;
  }
  const now = Date.now();
  const left = Date.parse(s.expiresAt) - now;
  ctx.io.out(`SnapSet ${s.snapId} of stack ${s.stackName ?? '(unknown)'}${s.workflowId ? `, made by ${s.workflowId}` : ''}`);
  ctx.io.out(`created ${s.createdAt} (${roughly(ageMs(s, now))} ago), ${left > 0 ? `expires ${s.expiresAt} (in ${roughly(left)})` : `expired ${s.expiresAt}`}`);
  ctx.io.out(s.complete ? `complete: ${s.images.length} images` : `INCOMPLETE: ${s.problems.join('; ')}`);
  const rows = s.images.map((i) => [i.imageId, i.name, i.role ?? '-', i.macAddress ?? '-', i.status, i.tags.join(',')]);
  for (const line of table([['IMAGE_ID', 'NAME', 'ROLE', 'MAC', 'STATUS', 'TAGS'], ...rows])) ctx.io.out(line);
  return EXIT.ok;
}

async function showRun(ctx: CliContext, client: Client, target: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowIdOf(target));
  const desc = await handle.describe();
  const status = desc.status.name;
  // A closed run answers the query too while a worker is up; it carries the failure's details.
  const progress = await queryProgress(handle);
  const result = status === 'COMPLETED' ? await handle.result() : undefined;
  const failure = status !== 'RUNNING' && status !== 'COMPLETED' ? (progress?.failure ?? { message: (await failureLines(handle, desc, progress))[0]!.replace(/^[A-Z_]+: /, '') }) : undefined;
  const phase = desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value;
  ctx.io.out(json({ workflowId: desc.workflowId, runId: desc.runId, status, startTime: desc.startTime, closeTime: desc.closeTime, taskQueue: desc.taskQueue, phase, progress, ...(failure ? { failure } : {}), result }));
}
