/** `snapset latest`: the newest complete, unexpired SnapSet — for deploying hotstack from it. */
import { Option, type Command } from 'commander';
import { readSnapsets } from '../../openstack/snapset-store.js';
import { latestYaml, selectLatest } from '../../shared/snapset/index.js';
import { EXIT, type CliContext } from '../context.js';
import { json } from '../format.js';
import { cloudOption, stackOption } from '../args.js';
import { withCloud } from '../store.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command, ctx: CliContext): void {
  program
    .command('latest')
    .showHelpAfterError(false) // a usage error is one line (exit 2)
    .description('the newest complete SnapSet younger than 30 days; exit 1 (saying what exists) when there is none')
    .addOption(cloudOption())
    .addOption(stackOption('only sets of this stack'))
    .option('--role <role>', 'only sets with this role, and only its images in the answer (repeatable)', collect)
    .addOption(new Option('--format <format>', 'json, or yaml: a stack_parameters: block for hotstack -e @file').choices(['json', 'yaml']).default('json'))
    .option('--json', 'same as --format json')
    .action(
      ctx.action(async (opts: { cloud?: string; stack?: string; role?: string[]; format: 'json' | 'yaml'; json?: boolean }) => {
        const stackName = opts.stack;
        return withCloud(ctx, opts.cloud, async (c) => {
          const answer = selectLatest(await readSnapsets(c), {
            ...(stackName ? { stackName } : {}),
            ...(opts.role ? { roles: opts.role } : {}),
            now: Date.now(),
          });
          if (!answer.found) {
            ctx.io.err(`snapset: ${answer.message}`);
            return EXIT.failed;
          }
          const l = answer.latest;
          if (opts.format === 'yaml' && !opts.json) {
            ctx.io.out(latestYaml(l));
          } else {
            ctx.io.out(json(l));
            if (l.multiInstanceRoles.length > 0)
              ctx.io.err(
                `note: role(s) ${l.multiInstanceRoles.join(', ')} have several instances: no hotstack parameter names one of their images; see images`,
              );
          }
          return EXIT.ok;
        });
      }),
    );
}
