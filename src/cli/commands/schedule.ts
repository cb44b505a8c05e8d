/** `snapset schedule …`: Temporal Schedules of createSnapset (the nightly SnapSet of a CI lab). */
import { InvalidArgumentError, type Command } from 'commander';
import { createSnapsetSchedule, describeSnapsetSchedule, listSnapsetSchedules, resolveScheduleId, triggerSnapsetSchedule } from '../../client.js';
import { ValidationError } from '../../shared/errors.js';
import { parseSnapsetInput } from '../../shared/input.js';
import { durationArg, positiveInt } from '../args.js';
import type { CliContext, GlobalOpts } from '../context.js';
import { json, table } from '../format.js';
import { readInputFile } from '../input-file.js';

interface CreateOpts {
  file: string;
  id?: string;
  cron?: string[];
  interval?: string[];
  timezone?: string;
  keep?: number;
  note?: string;
  catchupWindow?: string;
  paused?: boolean;
}

const collect =
  (parse: (v: string) => string) =>
  (value: string, previous: string[] = []) => [...previous, parse(value)];

function cronArg(value: string): string {
  const v = value.trim();
  // Temporal accepts 5 to 7 fields or the @daily-style macros; the server checks the rest.
  if (!/^@\w+$/.test(v) && !/^(\S+\s+){4,6}\S+$/.test(v)) throw new InvalidArgumentError("expected a cron expression such as '0 2 * * *'");
  return v;
}

export function register(program: Command, ctx: CliContext): void {
  const schedule = program.command('schedule').description('Temporal Schedules of createSnapset: create, list, describe, trigger, pause, unpause, delete');
  /** A schedule ID, or the stack name of the default ID `snapset-<stack>`. */
  const idArg = ['<id>', 'schedule ID or stack name (default IDs are snapset-<stack>)'] as const;

  schedule
    .command('create')
    .description('a Schedule that starts createSnapset with the file’s input (overlap SKIP, workflow ID snapset-<stack>-<time>)')
    .requiredOption('-f, --file <file>', 'createSnapset input, JSON or YAML (validated now)')
    .option('--id <id>', 'schedule ID (default snapset-<stack>)')
    .option('--cron <expr>', "cron expression, e.g. '0 2 * * *' (repeatable)", collect(cronArg))
    .option('--interval <duration>', 'a fixed interval, e.g. 24h (repeatable)', collect(durationArg(60_000, '24h or 30m')))
    .option('--timezone <tz>', 'IANA time zone of the cron expressions (default UTC)')
    .option('--keep <n>', 'retention.keep of every run: the newest N complete sets stay', positiveInt)
    .option('--note <text>', 'a note shown with the schedule')
    .option('--catchup-window <duration>', 'a firing missed while Temporal was down still runs within this window (default 1h)', durationArg(1))
    .option('--paused', 'create it paused')
    .action(
      ctx.action(async (opts: CreateOpts, cmd: Command) => {
        if (!opts.cron?.length && !opts.interval?.length) throw new ValidationError([{ path: '--cron', message: 'give --cron or --interval' }]);
        const data = await readInputFile(opts.file);
        if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ValidationError([{ path: opts.file, message: 'expected a mapping' }]);
        const raw: Record<string, unknown> = { ...(data as Record<string, unknown>) };
        if (opts.keep) raw.retention = { ...((raw.retention as Record<string, unknown>) ?? {}), keep: opts.keep };
        parseSnapsetInput(raw); // a bad file is refused before the schedule exists
        return ctx.withClient(cmd, async (client) => {
          const { scheduleId, input } = await createSnapsetSchedule(client, raw, {
            ...(opts.id ? { scheduleId: opts.id } : {}),
            cron: opts.cron ?? [],
            interval: opts.interval ?? [],
            ...(opts.timezone ? { timezone: opts.timezone } : {}),
            ...(opts.note ? { note: opts.note } : {}),
            ...(opts.catchupWindow ? { catchupWindow: opts.catchupWindow } : {}),
            paused: !!opts.paused,
            inputFile: opts.file,
            taskQueue: cmd.optsWithGlobals<GlobalOpts>().taskQueue,
          });
          const view = await describeSnapsetSchedule(client, scheduleId);
          ctx.io.out(
            `created schedule ${scheduleId} for stack ${input.stackName}${view.nextRuns[0] ? `; next run ${view.nextRuns[0]}` : ''}${opts.paused ? ' (paused)' : ''}`,
          );
        });
      }),
    );

  schedule
    .command('list')
    .description('every schedule of createSnapset in the namespace')
    .option('--json', 'JSON: [{scheduleId, stackName, paused, note, nextRun, lastRun}]')
    .action(
      ctx.action(async (opts: { json?: boolean }, cmd: Command) =>
        ctx.withClient(cmd, async (client) => {
          const all = await listSnapsetSchedules(client);
          if (opts.json) ctx.io.out(json(all));
          else if (all.length === 0) ctx.io.out('no SnapSet schedules (snapset schedule create makes one)');
          else
            for (const line of table([
              ['SCHEDULE', 'STACK', 'STATE', 'NEXT RUN', 'LAST RUN'],
              ...all.map((s) => [s.scheduleId, s.stackName ?? '', s.paused ? 'paused' : 'active', s.nextRun ?? '', s.lastRun ?? '']),
            ]))
              ctx.io.out(line);
        }),
      ),
    );

  schedule
    .command('describe')
    .argument(...idArg)
    .description('spec, state, next runs and recent runs (with their status) of a schedule')
    .option('--json', 'JSON (shape in the README)')
    .action(
      ctx.action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        ctx.withClient(cmd, async (client) => {
          const v = await describeSnapsetSchedule(client, await resolveScheduleId(client, id), { withStatus: true });
          if (opts.json) return void ctx.io.out(json(v));
          ctx.io.out(`schedule ${v.scheduleId}${v.stackName ? ` (stack ${v.stackName})` : ''}: ${v.paused ? 'paused' : 'active'}, overlap ${v.overlap}`);
          if (v.note) ctx.io.out(`  note: ${v.note}`);
          if (v.inputFile) ctx.io.out(`  input: ${v.inputFile}`);
          ctx.io.out(
            `  spec: ${[...v.cron.map((c) => `cron '${c}'`), ...v.intervals.map((i) => `every ${i}`)].join(', ')}${v.timezone ? ` (${v.timezone})` : ''}`,
          );
          ctx.io.out(`  runs: ${v.actionsTaken} started, ${v.skippedOverlap} skipped (a run was still going), ${v.missedCatchupWindow} missed`);
          ctx.io.out(`  next: ${v.nextRuns.slice(0, 3).join(', ') || 'none'}`);
          for (const r of v.running) ctx.io.out(`  running: ${r.workflowId}`);
          for (const r of v.recentRuns) ctx.io.out(`  recent: ${r.takenAt} ${r.workflowId} ${r.status ?? ''}`.trimEnd());
        }),
      ),
    );

  schedule
    .command('trigger')
    .argument(...idArg)
    .description('start the scheduled run now (skipped, like a timed firing, while a run of it is going)')
    .option('--allow-overlap', 'start it even while a run is going (the stack lock still refuses a second run of one stack)')
    .action(
      ctx.action(async (id: string, opts: { allowOverlap?: boolean }, cmd: Command) =>
        ctx.withClient(cmd, async (client) => {
          const scheduleId = await resolveScheduleId(client, id);
          await triggerSnapsetSchedule(client, scheduleId, { allowOverlap: !!opts.allowOverlap });
          ctx.io.out(`triggered ${scheduleId} (snapset schedule describe ${scheduleId} shows the run)`);
        }),
      ),
    );

  for (const [verb, what] of [
    ['pause', 'stop firing until unpaused'],
    ['unpause', 'fire again'],
    ['delete', 'delete the schedule (its runs are left alone)'],
  ] as const) {
    schedule
      .command(verb)
      .argument(...idArg)
      .description(what)
      .option(verb === 'delete' ? '--quiet' : '--note <text>', verb === 'delete' ? 'print nothing' : 'why (shown with the schedule)')
      .action(
        ctx.action(async (id: string, opts: { note?: string; quiet?: boolean }, cmd: Command) =>
          ctx.withClient(cmd, async (client) => {
            const scheduleId = await resolveScheduleId(client, id);
            const handle = client.schedule.getHandle(scheduleId);
            if (verb === 'pause') await handle.pause(opts.note ?? 'paused with snapset schedule pause');
            else if (verb === 'unpause') await handle.unpause(opts.note ?? 'unpaused with snapset schedule unpause');
            else await handle.delete();
            if (!opts.quiet) ctx.io.out(`${verb === 'delete' ? 'deleted' : `${verb}d`} schedule ${scheduleId}`);
          }),
        ),
      );
  }
}
