/**
 * `snapset`: the engineer's CLI. Connection like the Temporal CLI (temporal.toml profile,
 * TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY, or the flags below).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import YAML from 'yaml';
import { connectClient, startSnapset, SnapsetAlreadyRunningError } from './client.js';
import { SnapsetError, ValidationError } from './shared/errors.js';
import { fromStackOutputs, parseSnapsetInput, stackNameFromOutputsFile } from './shared/input.js';
import { PHASES } from './shared/types.js';
import { progressQuery, skipCertWaitUpdate, snapsetWorkflowId, TASK_QUEUE, type SnapsetProgress } from './shared/workflow-api.js';

/** Exit codes: 0 done, 1 the operation failed, 2 bad input or usage. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface GlobalOpts {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue: string;
}

async function readInputFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ValidationError([{ path: file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ValidationError([{ path: file, message: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}` }]);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** A stack name or a workflow ID → the workflow ID. */
function workflowIdOf(target: string): string {
  return target.startsWith('snapset-') ? target : snapsetWorkflowId(target);
}

function describeProgress(p: SnapsetProgress): string {
  const wait = p.certWait && p.phase === 'waiting-cert-rotation' && !p.certWait.endedAt ? ` (wakes ${p.certWait.wakeAt})` : '';
  return `${p.phase}${wait}: ${p.details}`;
}

async function watch(client: Client, workflowId: string, out: (line: string) => void): Promise<number> {
  const handle = client.workflow.getHandle(workflowId);
  let last = '';
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name === 'RUNNING') {
      try {
        const line = describeProgress(await handle.query(progressQuery));
        if (line !== last) out(`${new Date().toISOString()}  ${line}`);
        last = line;
      } catch {
        // No worker yet to answer the query: keep waiting.
      }
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (desc.status.name === 'COMPLETED') {
      out(JSON.stringify(await handle.result(), null, 2));
      return 0;
    }
    try {
      await handle.result();
    } catch (err) {
      const cause = (err as { cause?: Error }).cause;
      out(`${desc.status.name}: ${cause?.message ?? (err as Error).message}`);
    }
    return EXIT_FAILED;
  }
}

export function buildCli(io: { out: (s: string) => void; err: (s: string) => void } = { out: console.log, err: console.error }): Command {
  const program = new Command('snapset')
    .description('Consistent SnapSets of Hotstack OpenShift labs on OpenStack, run as Temporal workflows.')
    .addOption(new Option('--address <host:port>', 'Temporal frontend').env('TEMPORAL_ADDRESS'))
    .addOption(new Option('--namespace <ns>', 'Temporal namespace').env('TEMPORAL_NAMESPACE'))
    .addOption(new Option('--profile <name>', 'temporal.toml profile').env('TEMPORAL_PROFILE'))
    .addOption(new Option('--task-queue <name>', 'task queue of the workers').env('SNAPSET_TASK_QUEUE').default(TASK_QUEUE))
    .showHelpAfterError()
    .exitOverride() // inherited by the subcommands: runCli maps commander's errors to exit codes
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  /** Runs fn with a connected client and always closes the connection. */
  const withClient = async <T>(cmd: Command, fn: (client: Client) => Promise<T>): Promise<T> => {
    const g = cmd.optsWithGlobals<GlobalOpts>();
    const client = await connectClient({ ...(g.address ? { address: g.address } : {}), ...(g.namespace ? { namespace: g.namespace } : {}), ...(g.profile ? { profile: g.profile } : {}) });
    try {
      return await fn(client);
    } finally {
      await client.connection.close();
    }
  };

  program
    .command('create')
    .description('start a SnapSet of one stack (workflow ID snapset-<stack>; refused while one runs)')
    .option('-f, --file <file>', 'createSnapset input, JSON or YAML (camelCase or the seed snake_case variables)')
    .option('--from-stack-outputs <file>', "hotstack's <stack_name>-outputs.yaml, used as is")
    .option('--stack-name <name>', 'stack name (default: from the file)')
    .option('--cluster-created-at <iso>', 'when the cluster was installed (default: asked from the cluster)')
    .option('--no-cert-wait', 'skip the 25 h certificate-rotation wait (only for clusters known to have rotated)')
    .option('-w, --watch', 'follow progress until the SnapSet is done')
    .action(async (opts: { file?: string; fromStackOutputs?: string; stackName?: string; clusterCreatedAt?: string; certWait: boolean; watch?: boolean }, cmd: Command) => {
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
      parseSnapsetInput(raw); // bad input is refused before anything is contacted
      await withClient(cmd, async (client) => {
        const { handle, input } = await startSnapset(client, raw, { taskQueue: cmd.optsWithGlobals<GlobalOpts>().taskQueue });
        io.out(`started ${handle.workflowId} for stack ${input.stackName} (${Object.keys(input.snapsetData.instances).length} VMs)`);
        if (opts.watch) process.exitCode = await watch(client, handle.workflowId, io.out);
      });
    });

  program
    .command('watch')
    .argument('<stack>', 'stack name or workflow ID')
    .description('follow the progress of a SnapSet run until it ends; prints the result')
    .action(async (stack: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        process.exitCode = await watch(client, workflowIdOf(stack), io.out);
      });
    });

  program
    .command('show')
    .argument('<stack>', 'stack name or workflow ID')
    .description('status and progress of the latest SnapSet run of a stack, as JSON')
    .action(async (stack: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const handle = client.workflow.getHandle(workflowIdOf(stack));
        const desc = await handle.describe();
        const progress = desc.status.name === 'RUNNING' ? await handle.query(progressQuery).catch(() => undefined) : undefined;
        const result = desc.status.name === 'COMPLETED' ? await handle.result() : undefined;
        io.out(JSON.stringify({ workflowId: desc.workflowId, runId: desc.runId, status: desc.status.name, startTime: desc.startTime, closeTime: desc.closeTime, phase: desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value, progress, result }, null, 2));
      });
    });

  program
    .command('list')
    .description('SnapSet runs, newest first')
    .addOption(new Option('--phase <phase>', 'only runs in this phase').choices([...PHASES]))
    .option('--stack <name>', 'only runs of this stack')
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .action(async (opts: { phase?: string; stack?: string; limit: number }, cmd: Command) => {
      const clauses = [`WorkflowType='createSnapset'`];
      if (opts.phase) clauses.push(`SnapsetPhase='${opts.phase}'`);
      if (opts.stack) {
        if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(opts.stack)) throw new ValidationError([{ path: '--stack', message: 'expected a stack name' }]);
        clauses.push(`StackName='${opts.stack}'`);
      }
      await withClient(cmd, async (client) => {
        let n = 0;
        for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
          const phase = wf.typedSearchAttributes.getAll().find((p) => p.key.name === 'SnapsetPhase')?.value ?? '-';
          io.out(`${wf.workflowId}\t${wf.status.name}\t${String(phase)}\t${wf.startTime.toISOString()}`);
          if (++n >= opts.limit) break;
        }
        if (n === 0) io.out('no SnapSet runs');
      });
    });

  program
    .command('skip-wait')
    .argument('<stack>', 'stack name or workflow ID')
    .requiredOption('--reason <text>', 'why shutting down before the 25 h are over is safe (kept in history)')
    .description('end the certificate-rotation wait now (Update skipCertWait)')
    .action(async (stack: string, opts: { reason: string }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const r = await client.workflow.getHandle(workflowIdOf(stack)).executeUpdate(skipCertWaitUpdate, { args: [{ reason: opts.reason }] });
        io.out(`wait ended (it would have lasted until ${r.wakeAt})`);
      });
    });

  program
    .command('cancel')
    .argument('<stack>', 'stack name or workflow ID')
    .description('cancel a SnapSet run (during the wait nothing outside has been changed)')
    .action(async (stack: string, _opts: unknown, cmd: Command) => {
      await withClient(cmd, async (client) => {
        await client.workflow.getHandle(workflowIdOf(stack)).cancel();
        io.out(`cancellation requested for ${workflowIdOf(stack)}`);
      });
    });

  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return EXIT_USAGE;
    if (err instanceof ValidationError) {
      console.error(`snapset: ${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof SnapsetAlreadyRunningError || err instanceof SnapsetError) {
      console.error(`snapset: ${err.message}`);
      return EXIT_FAILED;
    }
    const cause = (err as { cause?: Error }).cause;
    console.error(`snapset: ${(err as Error).message ?? String(err)}${cause?.message ? `: ${cause.message}` : ''}`);
    return EXIT_FAILED;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void runCli(process.argv).then((code) => process.exit(code));
}
