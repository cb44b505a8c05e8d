/**
 * `snapset schedule …` as engineers run it (a separate process) against the dev server: a Schedule
 * made by the CLI fires and its run completes against the simulator; a second firing while it runs
 * is skipped (overlap SKIP); a manual create of that stack is refused naming the scheduled run —
 * by the CLI first, and by the workflow's per-stack lock when started another way.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { findStackHolder, type SnapsetScheduleView } from '../src/client.js';
import { FailureTypes } from '../src/shared/errors.js';
import { COMPLETE_TAG } from '../src/shared/snapset/index.js';
import { progressQuery, skipCertWaitUpdate } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { snapsetAt } from './helpers/processes.js';
import { useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const eventually = <T>(fn: () => Promise<T | undefined>, what: string) => waitFor(what, fn, { intervalMs: 250 });

describe('snapset schedule (dev server + simulator)', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-schedule-');

  test('create → trigger → a second trigger skipped → a manual create refused → the scheduled run completes; describe, list, pause, unpause, delete', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const snapset = (...args: string[]) => snapsetAt(t.env.address, ['--task-queue', taskQueue, ...args]);
      const ok = async (r: Promise<{ code: number; stderr: string }>) => {
        const { code, stderr } = await r;
        assert.equal(code, 0, stderr);
      };
      const stackName = `sched-${taskQueue}`;
      const scheduleId = `nightly-${taskQueue}`;
      const file = join(tmp.path, 'nightly.yaml');
      // A cluster installed just now: the run waits for the certificate rotation, so it is still going when fired again.
      await writeFile(file, JSON.stringify(simInput(sim, { stackName, prepare: { clusterCreatedAt: new Date().toISOString() } })));
      const describeJson = async () => {
        const r = await snapset('schedule', 'describe', scheduleId, '--json');
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as SnapsetScheduleView;
      };

      // Once a year, so the schedule never fires by itself during the test.
      const created = await snapset('schedule', 'create', '-f', file, '--id', scheduleId, '--cron', '0 3 1 1 *', '--note', 'nightly test lab');
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`created schedule ${scheduleId} for stack ${stackName}; next run \\d{4}-01-01T03:00:00`));
      const badCron = await snapset('schedule', 'create', '-f', file, '--cron', 'every night');
      assert.equal(badCron.code, 2);

      await ok(snapset('schedule', 'trigger', scheduleId));
      const running = await eventually(async () => (await describeJson()).running[0], 'the scheduled run');
      assert.match(running.workflowId, new RegExp(`^snapset-${stackName}-\\d{4}-`), 'workflow ID snapset-<stack> plus the scheduled time');
      const scheduled = t.env.client.workflow.getHandle(running.workflowId);
      await eventually(
        async () => ((await scheduled.query(progressQuery)).phase === 'waiting-cert-rotation' ? true : undefined),
        'the scheduled run to hold the stack',
      );

      // A second firing while the run goes on is skipped.
      await ok(snapset('schedule', 'trigger', scheduleId));
      const afterSecond = await eventually(async () => {
        const v = await describeJson();
        return v.skippedOverlap >= 1 ? v : undefined;
      }, 'the second firing to be skipped');
      assert.equal(afterSecond.actionsTaken, 1);
      assert.equal(afterSecond.overlap, 'SKIP');
      assert.equal(afterSecond.note, 'nightly test lab');
      assert.deepEqual(afterSecond.cron, ['0 3 1 1 *']);
      let runs = 0;
      for await (const wf of t.env.client.workflow.list({ query: `StackName = '${stackName}' AND WorkflowType = 'createSnapset'` })) runs += wf ? 1 : 0;
      assert.equal(runs, 1, 'one createSnapset run of the stack');

      // A manual create is refused by the CLI before any workflow starts, naming the scheduled run…
      const manual = await snapset('create', '-f', file);
      assert.equal(manual.code, 1);
      assert.match(manual.stderr, new RegExp(`already in progress \\(workflow ${running.workflowId} \\(createSnapset, started by schedule ${scheduleId}\\)`));
      // …and by the workflow's lock when started some other way.
      await assert.rejects(
        t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `manual-${taskQueue}`, args: [simInput(sim, { stackName })] }),
        (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
          assert.equal(err.cause.type, FailureTypes.stackLocked);
          assert.match(err.cause.message, new RegExp(`workflow ${running.workflowId} \\(createSnapset\\)`));
          return true;
        },
      );

      // The scheduled run completes against the simulator.
      await scheduled.executeUpdate(skipCertWaitUpdate, { args: [{ reason: 'test lab: certificates do not matter here' }] });
      const result = await scheduled.result();
      const images = sim.cloud.images() as { status: string; tags: string[] }[];
      const set = images.filter((i) => i.tags.includes(`snap_id=${result.snapId}`));
      assert.equal(set.length, 2);
      assert.ok(set.every((i) => i.status === 'active' && i.tags.includes(COMPLETE_TAG)));

      const done = await eventually(async () => {
        const v = await describeJson();
        return v.running.length === 0 && v.recentRuns[0]?.status === 'COMPLETED' ? v : undefined;
      }, 'describe to show the completed run');
      assert.equal(done.recentRuns.length, 1);
      assert.equal(done.recentRuns[0]!.workflowId, running.workflowId);
      // Once the run is over the stack is free again, though its schedule still names it.
      await eventually(async () => ((await findStackHolder(t.env.client, stackName)) === undefined ? true : undefined), 'visibility to show the stack free');

      const listed = await snapset('schedule', 'list', '--json');
      const mine = (JSON.parse(listed.stdout) as { scheduleId: string; stackName: string; paused: boolean }[]).find((s) => s.scheduleId === scheduleId);
      assert.deepEqual({ stackName: mine?.stackName, paused: mine?.paused }, { stackName, paused: false });

      await ok(snapset('schedule', 'pause', scheduleId, '--note', 'lab under maintenance'));
      assert.deepEqual([(await describeJson()).paused, (await describeJson()).note], [true, 'lab under maintenance']);
      await ok(snapset('schedule', 'unpause', scheduleId));
      assert.equal((await describeJson()).paused, false);
      await ok(snapset('schedule', 'delete', scheduleId));
      const gone = await snapset('schedule', 'describe', scheduleId);
      assert.equal(gone.code, 1);
    });
  });
});
