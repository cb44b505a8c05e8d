/**
 * `snapset`: the engineer's CLI, a command tree like the `temporal` CLI's. Connection like the
 * Temporal CLI (temporal.toml profile, TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY, or
 * the global flags). A verb is one file in commands/ plus one line in COMMANDS below.
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { SNAP_ID } from '../shared/snapset/index.js';
import { TASK_QUEUE } from '../shared/workflow-api.js';
import { createContext, EXIT, type CliContext, type CliIo } from './context.js';
import { reportError } from './exit-codes.js';
import * as cancel from './commands/cancel.js';
import * as create from './commands/create.js';
import * as del from './commands/delete.js';
import * as latest from './commands/latest.js';
import * as list from './commands/list.js';
import * as preflight from './commands/preflight.js';
import * as prune from './commands/prune.js';
import * as retry from './commands/retry.js';
import * as revive from './commands/revive.js';
import * as runs from './commands/runs.js';
import * as schedule from './commands/schedule.js';
import * as show from './commands/show.js';
import * as skipWait from './commands/skip-wait.js';
import * as watch from './commands/watch.js';

/** The verbs, in the order `--help` lists them. */
const COMMANDS: { register(program: Command, ctx: CliContext): void }[] = [
  create,
  preflight,
  watch,
  show,
  runs,
  skipWait,
  cancel,
  retry,
  list,
  latest,
  del,
  prune,
  revive,
  schedule,
];

/** package.json, from dist/src/cli/ or src/cli/. */
const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

const defaultIo = (): CliIo => ({
  out: console.log,
  err: console.error,
  isTTY: !!process.stdout.isTTY,
  columns: process.stdout.columns || Number(process.env.COLUMNS) || undefined,
});

/**
 * A snap_id may start with '-' (1 in 64 of the sets made before new ones stopped doing so), and
 * commander then reads it as an option: say how to pass it, right under commander's own error.
 */
function snapIdHint(message: string, argv: string[] | undefined, verbs: string[]): string | undefined {
  const arg = /unknown option '([^']*)'/.exec(message)?.[1];
  if (!arg || !SNAP_ID.test(arg)) return undefined;
  const verb = argv?.slice(2).find((a) => verbs.includes(a)) ?? 'show';
  return `snapset: ${arg} looks like a snap_id: put it after -- so it is not read as an option: snapset ${verb} -- ${arg}`;
}

export function buildCli(ctx: CliContext = createContext(defaultIo()), argv?: string[]): Command {
  const { io } = ctx;
  const program = new Command('snapset')
    .description('Consistent SnapSets of Hotstack OpenShift labs on OpenStack, run as Temporal workflows.')
    .addOption(new Option('--address <host:port>', 'Temporal frontend').env('TEMPORAL_ADDRESS'))
    .addOption(new Option('--namespace <ns>', 'Temporal namespace').env('TEMPORAL_NAMESPACE'))
    .addOption(new Option('--profile <name>', 'temporal.toml profile').env('TEMPORAL_PROFILE'))
    .addOption(new Option('--task-queue <name>', 'task queue of the workers').env('SNAPSET_TASK_QUEUE').default(TASK_QUEUE))
    .version(VERSION, '-V, --version', 'the version of snapset')
    .showHelpAfterError()
    .exitOverride() // inherited by the subcommands: runCli maps commander's errors to exit codes
    .configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(s.trimEnd()),
      outputError: (s, write) => {
        write(s);
        const hint = snapIdHint(
          s,
          argv,
          program.commands.map((c) => c.name()),
        );
        if (hint) write(`${hint}\n`);
      },
    });
  for (const command of COMMANDS) command.register(program, ctx);
  return program;
}

export async function runCli(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const ctx = createContext(io);
  const program = buildCli(ctx, argv);
  if (argv.length <= 2) {
    // Bare `snapset` did nothing asked for: help on stderr, usage exit code.
    io.err(program.helpInformation().trimEnd());
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.ok;
    if (code?.startsWith('commander.')) return EXIT.usage;
    return reportError(err, io);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void runCli(process.argv).then((code) => process.exit(code));
}
