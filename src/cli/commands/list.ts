/** `snapset list`: the SnapSets in the image store, one row per set, newest first. */
import type { Command } from 'commander';
import { readSnapsets } from '../../openstack/snapset-store.js';
import { ageMs, isExpired, summary } from '../../shared/snapset/index.js';
import type { CliContext } from '../context.js';
import { json, table } from '../format.js';
import { cloudOption, stackOption } from '../args.js';
import { roughly, withCloud } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .showHelpAfterError(false) // a usage error is one line (exit 2)
    .description('SnapSets in the image store, newest first: completeness, age, expiry (workflow runs: runs)')
    .addOption(cloudOption())
    .addOption(stackOption('only sets of this stack'))
    .option('--all', 'also sets past their 30 days (they can no longer be revived)')
    .option('--json', 'an array of {snapId, stackName, createdAt, expiresAt, complete, images, volumeSnapshots, roles}')
    .action(
      ctx.action(async (opts: { cloud?: string; stack?: string; all?: boolean; json?: boolean }) => {
        const stackName = opts.stack;
        return withCloud(ctx, opts.cloud, async (c) => {
          const now = Date.now();
          const sets = (await readSnapsets(c, stackName ? { stackName } : {})).filter((s) => opts.all || !isExpired(s, now));
          if (opts.json) {
            ctx.io.out(json(sets.map(summary)));
            return;
          }
          if (sets.length === 0) {
            ctx.io.out(`no SnapSets${stackName ? ` of stack ${stackName}` : ''}${opts.all ? '' : ' younger than 30 days (--all shows older ones)'}`);
            return;
          }
          // The VOLUMES column only where some set has volume snapshots (image-only labs read as before).
          const volumes = sets.some((s) => s.volumeSnapshots.length > 0 || s.volumeCount);
          const rows = sets.map((s) => {
            const left = Date.parse(s.expiresAt) - now;
            return [
              s.snapId,
              s.stackName ?? '(unknown)',
              s.createdAt,
              roughly(ageMs(s, now)),
              left > 0 ? roughly(left) : `expired ${roughly(-left)} ago`,
              String(s.images.length),
              ...(volumes ? [String(s.volumeSnapshots.length)] : []),
              s.complete ? 'yes' : `no: ${s.problems.join('; ')}`,
            ];
          });
          const head = ['SNAP_ID', 'STACK', 'CREATED', 'AGE', 'EXPIRES IN', 'IMAGES', ...(volumes ? ['VOLUMES'] : []), 'COMPLETE'];
          for (const line of table([head, ...rows])) ctx.io.out(line);
        });
      }),
    );
}
