/** `snapset show`: status, progress and result of the latest run of a stack, as JSON. */
import type { Command } from 'commander';
import { progressQuery } from '../../shared/workflow-api.js';
import { workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('show')
    .argument('<stack>', 'stack name or workflow ID')
    .description('status and progress of the latest SnapSet run of a stack, as JSON')
    .action(
      ctx.action(async (stack: string, _opts: unknown, cmd: Command) =>
        ctx.withClient(cmd, async (client) => {
          const handle = client.workflow.getHandle(workflowIdOf(stack));
          const desc = await handle.describe();
          const progress = desc.status.name === 'RUNNING' ? await handle.query(progressQuery).catch(() => undefined) : undefined;
          const result = desc.status.name === 'COMPLETED' ? await handle.result() : undefined;
          const phase = desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value;
          ctx.io.out(JSON.stringify({ workflowId: desc.workflowId, runId: desc.runId, status: desc.status.name, startTime: desc.startTime, closeTime: desc.closeTime, phase, progress, result }, null, 2));
        }),
      ),
    );
}
