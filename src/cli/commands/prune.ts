/** `snapset prune`: retention of SnapSets, run as the `pruneSnapsets` workflow. */
import type { Command } from 'commander';
import { DEFAULT_MAX_AGE, type PruneSnapsetsInput } from '../../shared/snapset/index.js';
import { cloudOption, durationArg, positiveInt, stackOption } from '../args.js';
import { EXIT, type CliContext } from '../context.js';
import { json } from '../format.js';
import { confirm, pruneLines, refuseOffTerminal, runPrune } from '../store.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('prune')
    .showHelpAfterError(false) // a usage error is one line (exit 2)
    .description('delete old SnapSets: keeps the newest N complete sets per stack, never the newest complete one, never a set whose capture is running')
    .requiredOption('--keep <n>', 'complete sets to keep per stack', positiveInt)
    .option('--max-age <duration>', 'delete sets older than this', durationArg(1, '30d or 12h'), DEFAULT_MAX_AGE)
    .option('--incomplete-grace <duration>', 'delete incomplete sets older than this', durationArg(1, '30d or 12h'), '2h')
    .addOption(stackOption('only sets of this stack'))
    .addOption(cloudOption())
    .option('--dry-run', 'only say what would be deleted')
    .option('-y, --yes', 'delete without asking')
    .option('--json', 'the result as JSON ({delete, keep, reasons} on a dry run)')
    .action(
      ctx.action(
        async (
          opts: { keep: number; maxAge: string; incompleteGrace: string; stack?: string; cloud?: string; dryRun?: boolean; yes?: boolean; json?: boolean },
          cmd: Command,
        ) => {
          const stackName = opts.stack;
          const input: PruneSnapsetsInput = {
            keep: opts.keep,
            maxAge: opts.maxAge,
            incompleteGrace: opts.incompleteGrace,
            ...(stackName ? { stackName } : {}),
            ...(opts.cloud ? { cloud: opts.cloud } : {}),
          };
          const refused = opts.dryRun ? undefined : refuseOffTerminal(ctx, opts.yes);
          if (refused !== undefined) return refused;
          return ctx.withClient(cmd, async (client) => {
            if (opts.dryRun) {
              const { workflowId, result } = await runPrune(ctx, client, cmd, { ...input, dryRun: true }, 'prune');
              ctx.io.out(opts.json ? json({ delete: result.delete, keep: result.keep, reasons: result.reasons }) : pruneLines(result, workflowId).join('\n'));
              return EXIT.ok;
            }
            if (!opts.yes) {
              // On a terminal: show the plan first, then ask.
              const { workflowId, result } = await runPrune(ctx, client, cmd, { ...input, dryRun: true }, 'prune');
              ctx.io.out(pruneLines(result, workflowId).join('\n'));
              if (result.delete.length === 0) return EXIT.ok;
              const no = await confirm(ctx, `delete ${result.delete.length} set(s): ${result.delete.join(', ')}?`, false);
              if (no !== undefined) return no;
            }
            const { workflowId, result } = await runPrune(ctx, client, cmd, input, 'prune');
            ctx.io.out(opts.json ? json(result) : pruneLines(result, workflowId).join('\n'));
            return result.left.length > 0 ? EXIT.failed : EXIT.ok;
          });
        },
      ),
    );
}
