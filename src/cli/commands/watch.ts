/** `snapset watch`: follow a run until it ends (by stack, workflow ID, or the snap_id of the set it makes). */
import type { Command } from 'commander';
import { readSnapset } from '../../openstack/snapset-store.js';
import { ConfigError } from '../../shared/errors.js';
import { workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';
import { watchRun } from '../watch.js';
import { cloudOption, isSnapId, withCloud } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('watch')
    .argument('<target>', 'stack name, workflow ID, or snap_id (the run that made that set)')
    .description('follow the progress of a SnapSet run until it ends; prints the result')
    .addOption(cloudOption())
    .action(
      ctx.action(async (target: string, opts: { cloud?: string }, cmd: Command) => {
        let workflowId = workflowIdOf(target);
        if (isSnapId(target)) {
          const code = await withCloud(ctx, opts.cloud, async (c) => {
            const set = await readSnapset(c, target);
            if (set?.workflowId) workflowId = set.workflowId;
          }).catch((err: unknown) => {
            if (err instanceof ConfigError) return undefined;
            throw err;
          });
          if (code !== undefined) return code;
        }
        return ctx.withClient(cmd, (client) => watchRun(client, workflowId, ctx.io));
      }),
    );
}
