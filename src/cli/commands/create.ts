/** `snapset create`: start a SnapSet of one stack. */
import type { Command } from 'commander';
import { startSnapset } from '../../client.js';
import { parseSnapsetInput } from '../../shared/input.js';
import { stackNameAlias, stackOption } from '../args.js';
import type { CliContext, GlobalOpts } from '../context.js';
import { inputOf, type CreateOpts } from '../snapset-input.js';
import { watchRun, workerPickup } from '../watch.js';
import { runPreflight } from './preflight.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('create')
    .description('start a SnapSet of one stack (workflow ID snapset-<stack>; refused while one runs)')
    .option('-f, --file <file>', 'createSnapset input, JSON or YAML (camelCase or the seed snake_case variables)')
    .option('--from-stack-outputs <file>', "hotstack's <stack_name>-outputs.yaml, used as is")
    .addOption(stackOption('stack name (default: from the file)'))
    .addOption(stackNameAlias())
    .option('--cluster-created-at <iso>', 'when the cluster was installed (default: asked from the cluster)')
    .option('--no-cert-wait', 'skip only the 25 h certificate-rotation wait (for clusters known to have rotated); nodes are still cordoned and shut down')
    .option('--dry-run', 'run every preflight check on a worker and change nothing (same as snapset preflight)')
    .option('-w, --watch', 'follow progress until the SnapSet is done')
    .action(
      ctx.action(async (opts: CreateOpts & { stack?: string }, cmd: Command) => {
        const raw = await inputOf({ ...opts, ...(opts.stack ? { stackName: opts.stack } : {}) });
        parseSnapsetInput(raw); // bad input is refused before anything is contacted
        if (opts.dryRun) return ctx.withClient(cmd, (client) => runPreflight(client, raw, cmd.optsWithGlobals<GlobalOpts>().taskQueue, ctx));
        return ctx.withClient(cmd, async (client) => {
          const { handle, input } = await startSnapset(client, raw, { taskQueue: cmd.optsWithGlobals<GlobalOpts>().taskQueue });
          ctx.io.out(`started ${handle.workflowId} for stack ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs)`);
          if (opts.watch) return watchRun(client, handle.workflowId, ctx.io);
          // Started is not running: say so when no worker takes it (it runs once one starts).
          const warning = await workerPickup(client, handle);
          if (warning) ctx.io.err(`snapset: warning: ${warning}; ${handle.workflowId} runs once one does`);
          return 0;
        });
      }),
    );
}
