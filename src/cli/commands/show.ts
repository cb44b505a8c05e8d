/**
 * `snapset show`: a SnapSet by snap_id (every image, and what makes it incomplete), or the latest
 * run of a stack / a workflow ID (status, phase, the set it made or the failure's root cause; `--json`
 * for the raw form with the progress and result).
 */
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { readSnapset } from '../../openstack/snapset-store.js';
import type { SnapsetFailureInfo, SnapsetResult } from '../../shared/workflow-api.js';
import { ageMs, type StoredSnapset } from '../../shared/snapset/index.js';
import { cloudOption, workflowIdOf } from '../args.js';
import { EXIT, type CliContext } from '../context.js';
import { isCloudUnavailable } from '../exit-codes.js';
import { json, seconds, table, tidyDurations } from '../format.js';
import { failureLines, queryProgress } from '../watch.js';
import { isSnapId, roughly, withCloud } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('show')
    .argument('<target>', 'snap_id (8 characters, from snapset list; one starting with - goes after --), stack name or workflow ID')
    .description('a SnapSet (by snap_id): every image and what makes it incomplete; or the latest run of a stack: status, phase, result or root cause')
    .addOption(cloudOption())
    .option('--json', 'JSON: the set, or the run with its progress and result')
    .action(
      ctx.action(async (target: string, opts: { cloud?: string; json?: boolean }, cmd: Command) => {
        if (!isSnapId(target)) return ctx.withClient(cmd, (client) => showRun(ctx, client, target, opts.json));
        // A stack name may look like a snap_id (hs-sno-1): no such set → the stack's run.
        let set: StoredSnapset | undefined;
        let storeError: unknown;
        try {
          await withCloud(ctx, opts.cloud, async (c) => {
            set = await readSnapset(c, target);
          });
        } catch (err) {
          if (!isCloudUnavailable(err)) throw err;
          storeError = err;
        }
        if (set) return showSet(ctx, set, opts.json);
        return ctx
          .withClient(cmd, (client) => showRun(ctx, client, target, opts.json))
          .catch((err: unknown) => {
            // Neither a run nor a readable store: the store's reason is the one to fix, never "not found".
            if (storeError && err instanceof WorkflowNotFoundError) {
              ctx.io.err(`snapset: no run ${err.workflowId ?? ''}, and set ${target} could not be looked up in the image store:`);
              throw storeError;
            }
            throw err;
          });
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
  const volumes = s.volumeSnapshots.length > 0 ? `, ${s.volumeSnapshots.length} volume snapshots` : '';
  ctx.io.out(s.complete ? `complete: ${s.images.length} images${volumes}` : `INCOMPLETE: ${s.problems.join('; ')}`);
  const rows = s.images.map((i) => [i.imageId, i.name, i.role ?? '-', i.macAddress ?? '-', i.status, i.tags.join(',')]);
  for (const line of table([['IMAGE_ID', 'NAME', 'ROLE', 'MAC', 'STATUS', 'TAGS'], ...rows])) ctx.io.out(line);
  if (s.volumeSnapshots.length > 0) {
    ctx.io.out('');
    const vrows = s.volumeSnapshots.map((v) => [v.snapshotId, v.instance ?? '-', v.device ?? '-', v.volumeName ?? '-', v.volumeId, `${v.size} GiB`, v.status]);
    for (const line of table([['SNAPSHOT_ID', 'INSTANCE', 'DEVICE', 'VOLUME', 'VOLUME_ID', 'SIZE', 'STATUS'], ...vrows])) ctx.io.out(line);
  }
  return EXIT.ok;
}

async function showRun(ctx: CliContext, client: Client, target: string, asJson: boolean | undefined): Promise<void> {
  const handle = client.workflow.getHandle(workflowIdOf(target));
  const desc = await handle.describe();
  const status = desc.status.name;
  // A closed run answers the query too while a worker is up; it carries the failure's details.
  const progress = await queryProgress(handle);
  const result = status === 'COMPLETED' ? ((await handle.result()) as SnapsetResult | undefined) : undefined;
  const failure =
    status !== 'RUNNING' && status !== 'COMPLETED'
      ? (progress?.failure ?? { message: (await failureLines(handle, desc, progress))[0]!.replace(/^[A-Z_]+: /, '') })
      : undefined;
  const phase = desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value;
  if (asJson) {
    ctx.io.out(
      json({
        workflowId: desc.workflowId,
        runId: desc.runId,
        status,
        startTime: desc.startTime,
        closeTime: desc.closeTime,
        taskQueue: desc.taskQueue,
        phase,
        progress,
        ...(failure ? { failure } : {}),
        result,
      }),
    );
    return;
  }
  const end = desc.closeTime ?? new Date();
  ctx.io.out(`${desc.workflowId}  ${status}${phase ? `  phase ${String(phase)}` : ''}  (${desc.type}, run ${desc.runId})`);
  ctx.io.out(
    `started ${desc.startTime.toISOString()}, ${desc.closeTime ? `closed ${desc.closeTime.toISOString()}` : 'running'} (${seconds(end.getTime() - desc.startTime.getTime())}), task queue ${desc.taskQueue}`,
  );
  if (progress?.details && status === 'RUNNING') ctx.io.out(`now: ${tidyDurations(progress.details)}`);
  if (result?.images) {
    ctx.io.out(
      `SnapSet ${result.snapId} of stack ${result.stackName}: ${Object.keys(result.images).length} images (snapset show ${result.snapId} reads them from the image store)`,
    );
    const rows = Object.entries(result.images).map(([name, i]) => [name, i.role, i.imageId, i.macAddress]);
    for (const line of table([['INSTANCE', 'ROLE', 'IMAGE_ID', 'MAC'], ...rows])) ctx.io.out(`  ${line}`);
  } else if (progress?.images && Object.keys(progress.images).length > 0) {
    const rows = Object.entries(progress.images).map(([name, i]) => [name, i.state, i.imageId ?? '']);
    for (const line of table([['INSTANCE', 'IMAGE', 'IMAGE_ID'], ...rows])) ctx.io.out(`  ${line}`);
  }
  if (failure) {
    ctx.io.out(`${status}: ${failure.message}`);
    const info = failure as SnapsetFailureInfo;
    if (info.hint) ctx.io.out(`  what to do: ${info.hint}`);
    if (info.finalServerStatus)
      ctx.io.out(
        `  VMs now: ${Object.entries(info.finalServerStatus)
          .map(([n, st]) => `${n} ${st}`)
          .join(', ')}`,
      );
  }
  for (const w of [...(result?.warnings ?? progress?.warnings ?? [])]) ctx.io.out(`warning: ${w}`);
  ctx.io.out('(--json for every field)');
}
