/** `snapset list`: SnapSet workflow runs, newest first. */
import { Option, type Command } from 'commander';
import { ValidationError } from '../../shared/errors.js';
import { PHASES } from '../../shared/types.js';
import { positiveInt } from '../args.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('SnapSet runs, newest first')
    .addOption(new Option('--phase <phase>', 'only runs in this phase').choices([...PHASES]))
    .option('--stack <name>', 'only runs of this stack')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .action(
      ctx.action(async (opts: { phase?: string; stack?: string; limit: number }, cmd: Command) => {
        const clauses = [`WorkflowType='createSnapset'`];
        if (opts.phase) clauses.push(`SnapsetPhase='${opts.phase}'`);
        if (opts.stack) {
          if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(opts.stack)) throw new ValidationError([{ path: '--stack', message: 'expected a stack name' }]);
          clauses.push(`StackName='${opts.stack}'`);
        }
        await ctx.withClient(cmd, async (client) => {
          let n = 0;
          for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
            const phase = wf.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value ?? '-';
            ctx.io.out(`${wf.workflowId}\t${wf.status.name}\t${String(phase)}\t${wf.startTime.toISOString()}`);
            if (++n >= opts.limit) break;
          }
          if (n === 0) ctx.io.out('no SnapSet runs');
        });
      }),
    );
}
