/**
 * `snapset retry`: finishes a failed or cancelled run by resetting it (DESIGN §5 "Retry = Reset") —
 * what the Web UI's Reset and `temporal workflow reset` do, with the reset point chosen for the user:
 * for a failed capture, right before `captureImages` (the lab is still shut down); otherwise the step
 * that failed, or the start when nothing outside was changed.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import Long from 'long';
import { InvalidArgumentError } from 'commander';
import { stackOption, stackTarget, workflowIdOf } from '../args.js';
import { EXIT, type CliContext } from '../context.js';
import { planRetry, type RetryPlan } from '../retry-plan.js';
import { confirm } from '../store.js';
import { watchRun } from '../watch.js';

/** Runs `snapset retry` can reset: they ended without a result. */
const RETRYABLE = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);
const TYPES = new Set(['createSnapset', 'reviveSnapset']);

interface RetryOpts {
  stack?: string;
  yes?: boolean;
  watch: boolean;
  eventId?: number;
  reason?: string;
}

function eventIdArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected the ID of a WorkflowTaskCompleted event (a whole number)');
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('retry')
    .argument('[stack]', 'stack name or workflow ID of a failed or cancelled run')
    .addOption(stackOption('the stack (instead of the argument)'))
    .description(
      'finish a failed or cancelled SnapSet (or revive) run: reset it to the last point the lab is still in the state the next step needs, and watch it',
    )
    .option('-y, --yes', 'retry without asking (needed off a terminal)')
    .option('--event-id <id>', 'reset to this WorkflowTaskCompleted event instead (as temporal workflow reset --event-id)', eventIdArg)
    .option('--reason <text>', 'why, kept in the history', 'snapset retry')
    .option('--no-watch', 'return once the reset run has started')
    .addHelpText(
      'after',
      "\nA failed capture is retried from its capture: the lab stays shut down as the failed run left it and every image is taken again.\nThe Web UI's Reset and `temporal workflow reset --event-id N` do the same from any workflow task (docs/operations.md).",
    )
    .action(
      ctx.action(async (positional: string | undefined, opts: RetryOpts, cmd: Command) => {
        const target = stackTarget(positional, opts.stack);
        return ctx.withClient(cmd, async (client) => {
          const workflowId = workflowIdOf(target);
          const handle = client.workflow.getHandle(workflowId);
          const desc = await handle.describe();
          const status = desc.status.name;
          if (!TYPES.has(desc.type)) {
            ctx.io.err(`snapset: ${workflowId} is a ${desc.type} run; snapset retry finishes createSnapset and reviveSnapset runs`);
            return EXIT.usage;
          }
          if (status === 'RUNNING') {
            ctx.io.err(`snapset: ${workflowId} is still running: nothing to retry (follow it: snapset watch ${target}; stop it: snapset cancel ${target})`);
            return EXIT.usage;
          }
          if (!RETRYABLE.has(status)) {
            ctx.io.err(`snapset: ${workflowId} ${status === 'COMPLETED' ? 'completed' : `is ${status}`}: nothing to retry (snapset show ${target})`);
            return EXIT.usage;
          }
          const events = (await client.workflow.getHandle(workflowId, desc.runId).fetchHistory()).events ?? [];
          const plan: RetryPlan = opts.eventId
            ? { eventId: opts.eventId, from: `event ${opts.eventId}`, redoes: 'runs again from that workflow task on' }
            : planRetry(desc.type, events);
          const closed = events.at(-1)?.workflowExecutionFailedEventAttributes?.failure?.message;
          ctx.io.out(
            `${workflowId} (${desc.type}) ${status}${desc.closeTime ? ` at ${desc.closeTime.toISOString()}` : ''}${closed ? `: ${closed.split('\n')[0]}` : ''}`,
          );
          ctx.io.out(`retry from ${plan.from === 'start' ? 'the start' : plan.from} (reset to event ${plan.eventId}): ${plan.redoes}`);
          const no = await confirm(ctx, `reset ${workflowId} to event ${plan.eventId}?`, opts.yes, {
            refused: 'snapset: refusing to retry without confirmation (not a terminal): add --yes',
            declined: 'nothing reset',
          });
          if (no !== undefined) return no;
          const { runId } = await client.workflowService.resetWorkflowExecution({
            namespace: client.options.namespace,
            workflowExecution: { workflowId, runId: desc.runId },
            reason: opts.reason ?? 'snapset retry',
            workflowTaskFinishEventId: Long.fromNumber(plan.eventId),
            requestId: randomUUID(),
          });
          ctx.io.out(`reset ${workflowId}: new run ${runId}`);
          return opts.watch ? watchRun(client, workflowId, ctx.io) : EXIT.ok;
        });
      }),
    );
}
