/** `snapset preflight` (and `create --dry-run`): every read-only check of a createSnapset input, on a worker, changing nothing. */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Command } from 'commander';
import type { PreflightCheck } from '../../shared/errors.js';
import { parseSnapsetInput } from '../../shared/input.js';
import { preflightWorkflowId, type SnapsetFailureInfo } from '../../shared/workflow-api.js';
import type { preflightSnapset } from '../../workflows/index.js';
import { stackNameAlias, stackOption } from '../args.js';
import { EXIT, type CliContext, type GlobalOpts } from '../context.js';
import { inputOf, type CreateOpts } from '../snapset-input.js';
import { workerPickup } from '../watch.js';

/** Runs the `preflightSnapset` workflow and prints each check; exit 0 when all passed, 1 when one failed. */
export async function runPreflight(client: Client, raw: Record<string, unknown>, taskQueue: string, ctx: CliContext): Promise<number> {
  const input = parseSnapsetInput(raw);
  const workflowId = preflightWorkflowId(input.stackName, Date.now().toString(36));
  const handle = await client.workflow.start<typeof preflightSnapset>('preflightSnapset', {
    taskQueue,
    workflowId,
    args: [raw],
    staticSummary: `preflight of ${input.stackName}`,
  });
  ctx.io.out(`preflight of stack ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs) on task queue ${taskQueue}: ${workflowId}`);
  void workerPickup(client, handle)
    .then((w) => w && ctx.io.err(`warning: ${w} — the checks run where the worker runs`))
    .catch(() => undefined);
  try {
    const report = await handle.result();
    for (const c of report.checks) ctx.io.out(line(c));
    for (const w of report.warnings) ctx.io.out(`  ! ${w}`);
    if (report.stackHeldBy) ctx.io.out(`  ! stack ${input.stackName} is busy right now (${report.stackHeldBy}): a SnapSet started now would be refused`);
    ctx.io.out(`every check passed; nothing was changed`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError) || !(err.cause instanceof ApplicationFailure)) throw err;
    const info = err.cause.details?.[0] as SnapsetFailureInfo | undefined;
    for (const c of info?.failedChecks ?? []) ctx.io.out(line(c));
    ctx.io.err(`preflight FAILED: ${err.cause.message}`);
    return err.cause.type === 'ValidationError' ? EXIT.usage : EXIT.failed;
  }
}

function line(c: PreflightCheck): string {
  return `  ${c.ok ? '✓' : '✗'} ${c.check}: ${c.message}${!c.ok && c.hint ? `\n      → ${c.hint}` : ''}`;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('preflight')
    .description('check a createSnapset input without changing anything: cloud credentials, every server, Glance, SSH and oc (runs on a worker)')
    .option('-f, --file <file>', 'createSnapset input, JSON or YAML (camelCase or the seed snake_case variables)')
    .option('--from-stack-outputs <file>', "hotstack's <stack_name>-outputs.yaml, used as is")
    .addOption(stackOption('stack name (default: from the file)'))
    .addOption(stackNameAlias())
    .action(
      ctx.action(async (opts: CreateOpts & { stack?: string }, cmd: Command) => {
        const raw = await inputOf({ ...opts, ...(opts.stack ? { stackName: opts.stack } : {}), certWait: true });
        parseSnapsetInput(raw);
        return ctx.withClient(cmd, (client) => runPreflight(client, raw, cmd.optsWithGlobals<GlobalOpts>().taskQueue, ctx));
      }),
    );
}
