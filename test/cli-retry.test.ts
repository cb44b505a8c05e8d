/**
 * `snapset retry` (issue #13): the reset point it chooses (recorded histories), and end to end — a
 * run failed by a killed snapshot, the fault fixed, `snapset retry <stack> --yes` as a separate
 * process: the set is finished, as the simulator shows; runs it must not reset are refused (exit 2).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { planRetry, type HistoryEventLike } from '../src/cli/retry-plan.js';
import { COMPLETE_TAG, SNAP_ID_PROPERTY } from '../src/shared/snapset/index.js';
import { progressQuery, snapsetWorkflowId } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { fixtures } from './helpers/paths.js';
import { snapsetAt } from './helpers/processes.js';
import { FAST_SCENARIO, uniqueTaskQueue, useTemporal, withSimWorker } from './helpers/temporal.js';

const history = (file: string) =>
  (JSON.parse(readFileSync(fixtures('histories', file), 'utf8')) as { events: (HistoryEventLike & { eventType: string })[] }).events;

describe('the reset point snapset retry chooses', () => {
  test('a createSnapset that got to the capture: the workflow task that scheduled the first captureImages', () => {
    for (const file of ['create-snapset-complete.json', 'create-snapset-image-retried.json']) {
      const events = history(file);
      const plan = planRetry('createSnapset', events);
      assert.equal(plan.from, 'captureImages');
      const at = events.find((e) => Number(e.eventId) === plan.eventId);
      assert.equal(at?.eventType, 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED', `${file}: event ${plan.eventId} is a WorkflowTaskCompleted`);
      const next = events.find(
        (e) => e.activityTaskScheduledEventAttributes && Number(e.activityTaskScheduledEventAttributes.workflowTaskCompletedEventId) === plan.eventId,
      );
      assert.equal(next?.activityTaskScheduledEventAttributes?.activityType?.name, 'captureImages');
    }
  });

  test('a run that stopped before the capture: the step it stopped in; nothing scheduled: the start', () => {
    const events = history('create-snapset-complete.json');
    const cut = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'captureImages');
    const beforeCapture = planRetry('createSnapset', events.slice(0, cut));
    assert.equal(beforeCapture.from, 'waitServersShutoff');
    const firstActivity = events.findIndex((e) => e.activityTaskScheduledEventAttributes);
    const start = planRetry('createSnapset', events.slice(0, firstActivity));
    assert.equal(start.from, 'start');
    assert.equal(events.find((e) => Number(e.eventId) === start.eventId)?.eventType, 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED');
  });

  test('local activities (the quick steps) are steps too: the workflow task that ran the one it stopped in', () => {
    const events = history('create-snapset-volumes-local-steps.json');
    assert.equal(planRetry('createSnapset', events).from, 'captureImages');
    const marker = (type: string) =>
      events.findIndex(
        (e) =>
          e.markerRecordedEventAttributes?.markerName === 'core_local_activity' &&
          Buffer.from(String(e.markerRecordedEventAttributes.details?.data?.payloads?.[0]?.data), 'base64').toString().includes(`"activity_type":"${type}"`),
      );
    const at = marker('shutdownController');
    assert.ok(at > 0, 'the fixture ran shutdownController as a local activity');
    const plan = planRetry('createSnapset', events.slice(0, at + 1));
    assert.equal(plan.from, 'shutdownController');
    assert.equal(plan.eventId, Number(events[at]!.markerRecordedEventAttributes!.workflowTaskCompletedEventId));
    assert.equal(events.find((e) => Number(e.eventId) === plan.eventId)?.eventType, 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED');
    assert.equal(planRetry('createSnapset', events.slice(0, marker('preflightCloud') + 1)).from, 'preflightCloud');
  });

  test('the stack lock released after a failure is never the step to go back to', () => {
    const events = history('create-snapset-lock-by-start.json');
    const isLocal = (e: HistoryEventLike, type: string) =>
      e.markerRecordedEventAttributes?.markerName === 'core_local_activity' &&
      Buffer.from(String(e.markerRecordedEventAttributes.details?.data?.payloads?.[0]?.data), 'base64').toString().includes(`"activity_type":"${type}"`);
    const release = events.find((e) => isLocal(e, 'releaseStackLock'));
    assert.ok(release, 'the fixture released its lock by local activity');
    const shutoff = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitServersShutoff');
    // A run that failed waiting for SHUTOFF, then released its lock.
    const plan = planRetry('createSnapset', [...events.slice(0, shutoff + 1), release]);
    assert.equal(plan.from, 'waitServersShutoff');
  });

  test('a revive: the last step it scheduled', () => {
    const plan = planRetry('reviveSnapset', history('revive-snapset-complete.json'));
    assert.notEqual(plan.from, 'start');
    assert.notEqual(plan.from, 'captureImages');
  });
});

describe('snapset retry end to end (dev server + simulator)', () => {
  const t = useTemporal('dev-server');

  test('a failed capture is finished by snapset retry <stack> --yes; a completed or running run is refused', async () => {
    const stackName = `hs-cliretry-${randomUUID().slice(0, 6)}`;
    const scenario = { ...FAST_SCENARIO, stackName, cloud: { faults: { killImagesOfServers: [FAST_SCENARIO.instances.master0!.uuid] } } };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const workflowId = snapsetWorkflowId(stackName);
        const failed = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId,
          args: [simInput(sim, { stackName, prepare: { stablePeriod: '1s' }, capture: { imageAttempts: 1 } })],
        });
        await assert.rejects(failed.result(), WorkflowFailedError);
        const failedSet = (await failed.query(progressQuery)).snapId;

        // Off a terminal without --yes: refused, nothing reset.
        const asked = await snapsetAt(t.env.address, ['retry', stackName]);
        assert.equal(asked.code, 2, asked.stderr);
        assert.match(asked.stdout, /retry from captureImages \(reset to event \d+\)/, 'says what it would redo');
        assert.match(asked.stderr, /add --yes/);
        assert.equal((await t.env.client.workflow.getHandle(workflowId).describe()).runId, failed.firstExecutionRunId, 'nothing reset');

        sim.cloud.setFaults({ killImagesOfServers: [] });
        const retried = await snapsetAt(t.env.address, ['retry', stackName, '--yes', '--reason', 'test: the snapshot fault is fixed']);
        assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
        assert.match(retried.stdout, /new run [0-9a-f-]{36}/);
        const result = JSON.parse(retried.stdout.slice(retried.stdout.indexOf('{'))) as { snapId: string };
        // From the simulator: one active, complete image per VM; the failed run's images are gone.
        const images = (sim.cloud.images() as { status: string; tags: string[]; [SNAP_ID_PROPERTY]?: string }[]).filter((i) => i.status !== 'deleted');
        const set = images.filter((i) => i[SNAP_ID_PROPERTY] === result.snapId);
        assert.equal(set.length, 2);
        for (const i of set) assert.ok(i.status === 'active' && i.tags.includes(COMPLETE_TAG));
        assert.deepEqual(
          images.filter((i) => i[SNAP_ID_PROPERTY] === failedSet && failedSet !== result.snapId),
          [],
        );

        const again = await snapsetAt(t.env.address, ['retry', stackName, '--yes']);
        assert.equal(again.code, 2);
        assert.match(again.stderr, /completed: nothing to retry/);
      },
      scenario,
    );

    // A run still running (no worker on its queue): refused, untouched.
    const runningId = snapsetWorkflowId(`hs-running-${randomUUID().slice(0, 6)}`);
    const running = await t.env.client.workflow.start(createSnapset, { taskQueue: uniqueTaskQueue('noworker'), workflowId: runningId, args: [{}] });
    try {
      const r = await snapsetAt(t.env.address, ['retry', runningId, '--yes']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /still running: nothing to retry/);
    } finally {
      await running.terminate('test done');
    }
  });
});
