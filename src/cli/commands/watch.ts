/** `snapset watch`: follow a run until it ends. */
import type { Command } from 'commander';
import { workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';
import { watchRun } from '../watch.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('watch')
    .argument('<stack>', 'stack name or workflow ID')
    .description('follow the progress of a SnapSet run until it ends; prints the result')
    .action(ctx.action(async (stack: string, _opts: unknown, cmd: Command) => ctx.withClient(cmd, (client) => watchRun(client, workflowIdOf(stack), ctx.io))));
}
