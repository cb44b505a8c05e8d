/** `snapset skip-wait`: end the certificate-rotation wait now (Update skipCertWait). */
import type { Command } from 'commander';
import { ValidationError } from '../../shared/errors.js';
import { skipCertWaitUpdate } from '../../shared/workflow-api.js';
import { stackOption, stackTarget, workflowIdOf } from '../args.js';
import type { CliContext } from '../context.js';

/** The workflow's own rule (its Update validator refuses shorter reasons); checked here first so bad usage exits 2. */
const MIN_REASON = 10;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('skip-wait')
    .argument('[stack]', 'stack name or workflow ID')
    .addOption(stackOption('the stack (instead of the argument)'))
    .requiredOption('--reason <text>', 'why shutting down before the 25 h are over is safe (kept in history)')
    .description('end the certificate-rotation wait now (Update skipCertWait)')
    .action(
      ctx.action(async (positional: string | undefined, opts: { reason: string; stack?: string }, cmd: Command) => {
        const stack = stackTarget(positional, opts.stack);
        if (opts.reason.trim().length < MIN_REASON) {
          throw new ValidationError([
            { path: '--reason', message: `reason: required, at least ${MIN_REASON} characters saying why shutting down early is safe` },
          ]);
        }
        return ctx.withClient(cmd, async (client) => {
          const r = await client.workflow.getHandle(workflowIdOf(stack)).executeUpdate(skipCertWaitUpdate, { args: [{ reason: opts.reason }] });
          ctx.io.out(`wait ended (it would have lasted until ${r.wakeAt})`);
        });
      }),
    );
}
