/** `snapset delete`: delete SnapSets by snap_id, run as the `pruneSnapsets` workflow. */
import type { Command } from 'commander';
import type { PruneSnapsetsInput } from '../../shared/snapset/index.js';
import { EXIT, type CliContext } from '../context.js';
import { json } from '../format.js';
import { cloudOption, snapIdsArg } from '../args.js';
import { confirm, pruneLines, runPrune } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('delete')
    .showHelpAfterError(false) // a usage error is one line (exit 2)
    .argument('<snap_id...>', 'the set(s) to delete (one starting with - goes after --)', snapIdsArg)
    .description('delete every image of these SnapSets (never the newest complete set of a stack, nor one whose capture is running)')
    .addOption(cloudOption())
    .option('--dry-run', 'only say what would be deleted')
    .option('-y, --yes', 'delete without asking')
    .option('--json', 'the result as JSON')
    .action(
      ctx.action(async (ids: string[], opts: { cloud?: string; dryRun?: boolean; yes?: boolean; json?: boolean }, cmd: Command) => {
        const input: PruneSnapsetsInput = { snapIds: ids, ...(opts.cloud ? { cloud: opts.cloud } : {}) };
        if (!opts.dryRun) {
          const no = await confirm(ctx, `delete every image of SnapSet(s) ${ids.join(', ')}?`, opts.yes);
          if (no !== undefined) return no;
        }
        return ctx.withClient(cmd, async (client) => {
          const { workflowId, result } = await runPrune(ctx, client, cmd, { ...input, ...(opts.dryRun ? { dryRun: true } : {}) }, 'delete');
          ctx.io.out(
            opts.json
              ? json(opts.dryRun ? { delete: result.delete, keep: result.keep, reasons: result.reasons } : result)
              : pruneLines(result, workflowId).join('\n'),
          );
          // Exit 1 when a set asked for is still there (protected, not found, images left).
          return opts.dryRun || ids.every((id) => result.deleted.includes(id)) ? EXIT.ok : EXIT.failed;
        });
      }),
    );
}
