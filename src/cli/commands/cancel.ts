/** `snapset cancel`: request cancellation of a run. */
import type { Command } from 'commander';
import { workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('cancel')
    .argument('<stack>', 'stack name or workflow ID')
    .description('cancel a SnapSet run (during the wait nothing outside has been changed)')
    .action(
      ctx.action(async (stack: string, _opts: unknown, cmd: Command) =>
        ctx.withClient(cmd, async (client) => {
          await client.workflow.getHandle(workflowIdOf(stack)).cancel();
          ctx.io.out(`cancellation requested for ${workflowIdOf(stack)}`);
        }),
      ),
    );
}
