/** `snapset watch`: follow a run until it ends (by stack, workflow ID, or the snap_id of the set it makes). */
import type { Command } from 'commander';
import { readSnapset } from '../../openstack/snapset-store.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { cloudOption, stackOption, stackTarget, workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';
import { isCloudUnavailable } from '../exit-codes.js';
import { watchRun } from '../watch.js';
import { isSnapId, withCloud } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('watch')
    .argument('[target]', 'stack name, workflow ID, or snap_id (the run that made that set; one starting with - goes after --)')
    .addOption(stackOption('the stack whose run to follow (instead of the argument)'))
    .description('follow the progress of a SnapSet run until it ends; prints the result')
    .addOption(cloudOption())
    .action(
      ctx.action(async (positional: string | undefined, opts: { cloud?: string; stack?: string }, cmd: Command) => {
        const target = stackTarget(positional, opts.stack);
        let workflowId = workflowIdOf(target);
        let storeError: unknown;
        if (isSnapId(target)) {
          try {
            await withCloud(ctx, opts.cloud, async (c) => {
              const set = await readSnapset(c, target);
              if (set?.workflowId) workflowId = set.workflowId;
            });
          } catch (err) {
            // A stack name may look like a snap_id (hs-sno-1): the store's error only counts when there is no such run.
            if (!isCloudUnavailable(err)) throw err;
            storeError = err;
          }
        }
        return ctx
          .withClient(cmd, (client) => watchRun(client, workflowId, ctx.io))
          .catch((err: unknown) => {
            if (storeError && err instanceof WorkflowNotFoundError) {
              ctx.io.err(`snapset: no run ${workflowId}, and set ${target} could not be looked up in the image store:`);
              throw storeError;
            }
            throw err;
          });
      }),
    );
}
