/** `snapset show`: status, progress and result (or the failure's root cause) of the latest run of a stack, as JSON. */
import type { Command } from 'commander';
import { workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';
import { json } from '../format.js';
import { failureLines, queryProgress } from '../watch.js';

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
          const status = desc.status.name;
          // A closed run answers the query too while a worker is up; it carries the failure's details.
          const progress = await queryProgress(handle);
          const result = status === 'COMPLETED' ? await handle.result() : undefined;
          const failure = status !== 'RUNNING' && status !== 'COMPLETED' ? (progress?.failure ?? { message: (await failureLines(handle, desc, progress))[0]!.replace(/^[A-Z_]+: /, '') }) : undefined;
          const phase = desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value;
          ctx.io.out(json({ workflowId: desc.workflowId, runId: desc.runId, status, startTime: desc.startTime, closeTime: desc.closeTime, taskQueue: desc.taskQueue, phase, progress, ...(failure ? { failure } : {}), result }));
        }),
      ),
    );
}
