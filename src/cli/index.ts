/**
 * `snapset`: the engineer's CLI, a command tree like the `temporal` CLI's. Connection like the
 * Temporal CLI (temporal.toml profile, TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY, or
 * the global flags). A verb is one file in commands/ plus one line in COMMANDS below.
 */
import { Command, Option } from 'commander';
import { SnapsetAlreadyRunningError } from '../client.js';
import { SnapsetError, ValidationError } from '../shared/errors.js';
import { TASK_QUEUE } from '../shared/workflow-api.js';
import { createContext, EXIT, type CliContext, type CliIo } from './context.js';
import * as cancel from './commands/cancel.js';
import * as create from './commands/create.js';
import * as list from './commands/list.js';
import * as show from './commands/show.js';
import * as skipWait from './commands/skip-wait.js';
import * as watch from './commands/watch.js';

/** The verbs, in the order `--help` lists them. */
const COMMANDS: { register(program: Command, ctx: CliContext): void }[] = [create, watch, show, list, skipWait, cancel];

const defaultIo = (): CliIo => ({ out: console.log, err: console.error, isTTY: !!process.stdout.isTTY });

export function buildCli(ctx: CliContext = createContext(defaultIo())): Command {
  const { io } = ctx;
  const program = new Command('snapset')
    .description('Consistent SnapSets of Hotstack OpenShift labs on OpenStack, run as Temporal workflows.')
    .addOption(new Option('--address <host:port>', 'Temporal frontend').env('TEMPORAL_ADDRESS'))
    .addOption(new Option('--namespace <ns>', 'Temporal namespace').env('TEMPORAL_NAMESPACE'))
    .addOption(new Option('--profile <name>', 'temporal.toml profile').env('TEMPORAL_PROFILE'))
    .addOption(new Option('--task-queue <name>', 'task queue of the workers').env('SNAPSET_TASK_QUEUE').default(TASK_QUEUE))
    .showHelpAfterError()
    .exitOverride() // inherited by the subcommands: runCli maps commander's errors to exit codes
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  for (const command of COMMANDS) command.register(program, ctx);
  return program;
}

export async function runCli(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const ctx = createContext(io);
  const program = buildCli(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.ok;
    if (code?.startsWith('commander.')) return EXIT.usage;
    if (err instanceof ValidationError) {
      io.err(`snapset: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof SnapsetAlreadyRunningError || err instanceof SnapsetError) {
      io.err(`snapset: ${err.message}`);
      return EXIT.failed;
    }
    const cause = (err as { cause?: Error }).cause;
    io.err(`snapset: ${(err as Error).message ?? String(err)}${cause?.message ? `: ${cause.message}` : ''}`);
    return EXIT.failed;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void runCli(process.argv).then((code) => process.exit(code));
}
