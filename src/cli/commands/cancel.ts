/** `snapset cancel`: request cancellation of a run. */
import type { Command } from 'commander';
import { stackOption, stackTarget, workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('cancel')
    .argument('[stack]', 'stack name or workflow ID')
    .addOption(stackOption('the stack (instead of the argument)'))
    .description('cancel a SnapSet run (during the wait nothing outside has been changed)')
    .action(
      ctx.action(async (positional: string | undefined, opts: { stack?: string }, cmd: Command) => {
        const stack = stackTarget(positional, opts.stack);
        return ctx.withClient(cmd, async (client) => {
          await client.workflow.getHandle(workflowIdOf(stack)).cancel();
          ctx.io.out(`cancellation requested for ${workflowIdOf(stack)}`);
        });
      }),
    );
}
