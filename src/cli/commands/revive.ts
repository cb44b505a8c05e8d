/** `snapset revive`: bring a stack redeployed from a SnapSet back into service (reviveSnapset). */
import type { Command } from 'commander';
import { startRevive } from '../../client.js';
import { ValidationError } from '../../shared/errors.js';
import { parseSnapsetInput } from '../../shared/input.js';
import { parseReviveInput } from '../../shared/revive.js';
import { cloudOption, snapIdArg, stackOption } from '../args.js';
import type { CliContext, GlobalOpts } from '../context.js';
import { readInputFile } from '../input-file.js';
import { watchRun, workerPickup } from '../watch.js';

interface ReviveOpts {
  stack?: string;
  file?: string;
  controller?: string;
  cloud?: string;
  snapId?: string;
  force?: boolean;
  maxAge?: string;
  watch?: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * `-f` takes a reviveSnapset input, a createSnapset input (any spelling: its stack, cloud and
 * controller are used) or a bare controller mapping; `--controller` a controller mapping as JSON.
 */
async function inputOf(opts: ReviveOpts): Promise<Record<string, unknown>> {
  if (!!opts.file === !!opts.controller) throw new ValidationError([{ path: '--file', message: 'give exactly one of --file or --controller' }]);
  let raw: Record<string, unknown> = {};
  if (opts.file) {
    const data = await readInputFile(opts.file);
    if (!isRecord(data)) throw new ValidationError([{ path: opts.file, message: 'expected a mapping' }]);
    if ('snapsetData' in data || 'snapset_data' in data) {
      const full = parseSnapsetInput(data);
      raw = { stackName: full.stackName, ...(full.cloud ? { cloud: full.cloud } : {}), controller: full.controller };
    } else if ('controller' in data) {
      raw = { ...data };
    } else {
      raw = { controller: data };
    }
  } else {
    let controller: unknown;
    try {
      controller = JSON.parse(opts.controller!);
    } catch {
      throw new ValidationError([{ path: '--controller', message: 'expected JSON such as {"name":"controller","host":"192.168.1.100","user":"cloud-user"}' }]);
    }
    raw = { controller };
  }
  if (opts.stack) raw.stackName = opts.stack;
  if (opts.cloud) raw.cloud = opts.cloud;
  if (opts.snapId) raw.snapId = opts.snapId;
  if (opts.force) raw.force = true;
  if (opts.maxAge) raw.maxAge = opts.maxAge;
  return raw;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('revive')
    .description(
      'after the stack was redeployed from a SnapSet: check the set (complete, < 30 days), wait stable, uncordon, wait for the route API, approve kubelet CSRs, wait nodes Ready',
    )
    .addOption(stackOption('stack name (default: from the file)'))
    .option('-f, --file <file>', 'reviveSnapset or createSnapset input, or a controller mapping (JSON or YAML)')
    .option('--controller <json>', 'the controller as JSON: {"name","host","port","user","privateKeyFile","hostKeyFingerprint"}')
    .addOption(cloudOption())
    .option('--snap-id <id>', 'the set the stack was redeployed from (default: its newest complete set; one starting with -: --snap-id=-…)', snapIdArg)
    .option('--max-age <duration>', 'refuse sets older than this (default 30d)')
    .option('--force', 'revive even an incomplete, expired or other stack’s set')
    .option('-w, --watch', 'follow progress until the revive is done')
    .action(
      ctx.action(async (opts: ReviveOpts, cmd: Command) => {
        const raw = await inputOf(opts);
        const input = parseReviveInput(raw); // bad input is refused before anything is contacted
        return ctx.withClient(cmd, async (client) => {
          const { handle } = await startRevive(client, raw, { taskQueue: cmd.optsWithGlobals<GlobalOpts>().taskQueue });
          ctx.io.out(
            `started ${handle.workflowId}: revive of stack ${input.stackName} from ${input.snapId ? `set ${input.snapId}` : 'its newest complete set'}`,
          );
          if (opts.watch) return watchRun(client, handle.workflowId, ctx.io);
          const warning = await workerPickup(client, handle);
          if (warning) ctx.io.err(`snapset: warning: ${warning}; ${handle.workflowId} runs once one does`);
          return 0;
        });
      }),
    );
}
