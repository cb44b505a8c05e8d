/** `snapset runs`: SnapSet workflow runs, newest first (the SnapSets themselves: `snapset list`). */
import { Option, type Command } from 'commander';
import { PHASES } from '../../shared/types.js';
import { jsonOption, positiveInt, stackOption } from '../args.js';
import type { CliContext } from '../context.js';
import { json, table } from '../format.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('SnapSet workflow runs, newest first (the sets themselves: list)')
    .addOption(new Option('--phase <phase>', 'only runs in this phase').choices([...PHASES]))
    .addOption(stackOption('only runs of this stack'))
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .addOption(jsonOption('JSON: [{workflowId, runId, status, phase, stackName, startTime, closeTime}]'))
    .action(
      ctx.action(async (opts: { phase?: string; stack?: string; limit: number; json?: boolean }, cmd: Command) => {
        const clauses = [`WorkflowType='createSnapset'`];
        if (opts.phase) clauses.push(`SnapsetPhase='${opts.phase}'`);
        if (opts.stack) clauses.push(`StackName='${opts.stack}'`);
        await ctx.withClient(cmd, async (client) => {
          const runs: { workflowId: string; runId: string; status: string; phase?: string; stackName?: string; startTime: string; closeTime?: string }[] = [];
          for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
            const attr = (name: string) => wf.typedSearchAttributes.getAll().find((p) => p.key.name === name)?.value;
            const phase = attr('SnapsetPhase');
            const stackName = attr('StackName');
            runs.push({
              workflowId: wf.workflowId,
              runId: wf.runId,
              status: wf.status.name,
              ...(phase !== undefined ? { phase: String(phase) } : {}),
              ...(stackName !== undefined ? { stackName: String(stackName) } : {}),
              startTime: wf.startTime.toISOString(),
              ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
            });
            if (runs.length >= opts.limit) break;
          }
          if (opts.json) return ctx.io.out(json(runs));
          if (runs.length === 0)
            return ctx.io.out(`no SnapSet runs${opts.stack ? ` of stack ${opts.stack}` : ''}${opts.phase ? ` in phase ${opts.phase}` : ''}`);
          for (const line of table([
            ['WORKFLOW_ID', 'STATUS', 'PHASE', 'STARTED', 'CLOSED'],
            ...runs.map((r) => [r.workflowId, r.status, r.phase ?? '-', r.startTime, r.closeTime ?? '-']),
          ]))
            ctx.io.out(line);
        });
      }),
    );
}
