/** `snapset create`: start a SnapSet of one stack. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { startSnapset } from '../../client.js';
import { ValidationError } from '../../shared/errors.js';
import { fromStackOutputs, parseSnapsetInput, stackNameFromOutputsFile } from '../../shared/input.js';
import type { CliContext, GlobalOpts } from '../context.js';
import { readInputFile } from '../input-file.js';
import { watchRun } from '../watch.js';

interface CreateOpts {
  file?: string;
  fromStackOutputs?: string;
  stackName?: string;
  clusterCreatedAt?: string;
  certWait: boolean;
  watch?: boolean;
}

/** The raw input the options describe (validated by the caller). */
async function inputOf(opts: CreateOpts): Promise<Record<string, unknown>> {
  if (!!opts.file === !!opts.fromStackOutputs) throw new ValidationError([{ path: '--file', message: 'give exactly one of --file or --from-stack-outputs' }]);
  let raw: Record<string, unknown>;
  if (opts.fromStackOutputs) {
    raw = fromStackOutputs(await readInputFile(opts.fromStackOutputs), opts.stackName ?? stackNameFromOutputsFile(basename(opts.fromStackOutputs)));
  } else {
    const data = await readInputFile(opts.file!);
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ValidationError([{ path: opts.file!, message: 'expected a mapping' }]);
    raw = { ...(data as Record<string, unknown>) };
    if (opts.stackName) raw['stack_name' in raw ? 'stack_name' : 'stackName'] = opts.stackName;
  }
  if (opts.clusterCreatedAt || !opts.certWait) {
    const prepare = { ...((raw.prepare as Record<string, unknown>) ?? {}) };
    if (opts.clusterCreatedAt) prepare.clusterCreatedAt = opts.clusterCreatedAt;
    if (!opts.certWait) prepare.enabled = false;
    raw.prepare = prepare;
  }
  return raw;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('create')
    .description('start a SnapSet of one stack (workflow ID snapset-<stack>; refused while one runs)')
    .option('-f, --file <file>', 'createSnapset input, JSON or YAML (camelCase or the seed snake_case variables)')
    .option('--from-stack-outputs <file>', "hotstack's <stack_name>-outputs.yaml, used as is")
    .option('--stack-name <name>', 'stack name (default: from the file)')
    .option('--cluster-created-at <iso>', 'when the cluster was installed (default: asked from the cluster)')
    .option('--no-cert-wait', 'skip the 25 h certificate-rotation wait (only for clusters known to have rotated)')
    .option('-w, --watch', 'follow progress until the SnapSet is done')
    .action(
      ctx.action(async (opts: CreateOpts, cmd: Command) => {
        const raw = await inputOf(opts);
        parseSnapsetInput(raw); // bad input is refused before anything is contacted
        return ctx.withClient(cmd, async (client) => {
          const { handle, input } = await startSnapset(client, raw, { taskQueue: cmd.optsWithGlobals<GlobalOpts>().taskQueue });
          ctx.io.out(`started ${handle.workflowId} for stack ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs)`);
          return opts.watch ? watchRun(client, handle.workflowId, ctx.io) : 0;
        });
      }),
    );
}
