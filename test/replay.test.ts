/**
 * Determinism guard: a recorded history of a complete createSnapset run (scripts/record-history.mjs)
 * must replay on the current workflow code without a non-determinism error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../src/dev/bundle.js';
import { fixtures } from './helpers/paths.js';

const bundle = process.env.SNAPSET_TEST_WORKFLOW_BUNDLE;
const replayOptions = bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath };

test('a recorded complete run replays on the current code', async () => {
  const history = JSON.parse(readFileSync(fixtures('histories', 'create-snapset-complete.json'), 'utf8')) as { events: unknown[] };
  assert.ok(history.events.length > 50, 'the fixture is a whole run');
  await Worker.runReplayHistory(replayOptions, history, 'snapset-hs-sno-1');
});

test('the replay check can fail: a history with an activity swapped is refused', async () => {
  const history = JSON.parse(readFileSync(fixtures('histories', 'create-snapset-complete.json'), 'utf8')) as {
    events: { activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }[];
  };
  const first = history.events.find((e) => e.activityTaskScheduledEventAttributes)!;
  first.activityTaskScheduledEventAttributes!.activityType!.name = 'deleteImages';
  await assert.rejects(Worker.runReplayHistory(replayOptions, history, 'snapset-hs-sno-1'), DeterminismViolationError);
});

/**
 * Histories of the retries work (issue #13), recorded by test/workflow-retries.test.ts
 * (SNAPSET_RECORD_HISTORIES=test/fixtures/histories): a run whose killed snapshot was taken again,
 * and a failed run reset to its capture. Never re-recorded: new workflow code must replay them.
 */
for (const [file, what] of [
  ['create-snapset-image-retried.json', 'a run with a snapshot taken again'],
  ['create-snapset-reset.json', 'a failed run reset to its capture (the lock taken again)'],
  // scripts/record-history.mjs: the snapshot-sno lab (master0's four volumes snapshotted), the quick steps as local activities.
  ['create-snapset-volumes-local-steps.json', 'a run with volume snapshots and the quick steps as local activities'],
  // scripts/record-history.mjs: the lock's end looked for once the activation's microtasks drained (PATCHES.lockSettleDrain).
  ['create-snapset-lock-settle-drain.json', 'a run whose lock checks wait for the microtasks to drain'],
  // scripts/record-history.mjs: the stack lock taken and released by local activities (PATCHES.lockByStart), no lock child.
  ['create-snapset-lock-by-start.json', 'a run whose stack lock is a delayed workflow it starts and terminates'],
] as const) {
  test(`${what} replays on the current code`, async () => {
    const history = JSON.parse(readFileSync(fixtures('histories', file), 'utf8')) as { events: { eventType: string }[] };
    const types = history.events.map((e) => e.eventType);
    assert.ok(types.includes('EVENT_TYPE_MARKER_RECORDED'), 'the fixture records the patch');
    await Worker.runReplayHistory(replayOptions, history, 'replayed');
  });
}

// test/workflow-retries.test.ts (SNAPSET_RECORD_HISTORIES): a failed run reset to its capture, its lock (PATCHES.lockByStart) taken again.
test('a failed run reset to its capture replays, taking its lock again where it went on live, and only there', async () => {
  const history = JSON.parse(readFileSync(fixtures('histories', 'create-snapset-reset-started-lock.json'), 'utf8')) as {
    events: {
      eventId: string;
      eventType: string;
      markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> };
    }[];
  };
  const decoded = (e: (typeof history.events)[number], key: string) => {
    const data = e.markerRecordedEventAttributes?.details?.[key]?.payloads?.[0]?.data;
    return data ? Buffer.from(data, 'base64').toString('utf8') : '';
  };
  const resetAt = history.events.findIndex((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED');
  const takes = history.events.flatMap((e, i) => (/"activity_type":"takeStackLock"/.test(decoded(e, 'data')) ? [i] : []));
  const retaken = history.events.findIndex((e) => decoded(e, 'patch-data').includes('stack-lock-retaken-by-reset-run'));
  assert.equal(takes.length, 2, 'taken by the failed run, and again by the reset run');
  assert.ok(takes[0]! < resetAt && retaken > resetAt && takes[1]! > retaken, `reset at ${resetAt}, retake recorded at ${retaken}, lock taken at ${takes}`);
  // A worker replaying the reset run knows its run ID; the replayer takes it from the (copied) start
  // event, which names the failed run: give it the reset run's, as the retake's result records it.
  const result = history.events[takes[1]!]!.markerRecordedEventAttributes!.details!.result!.payloads![0]!.data!;
  const resetRunId = (JSON.parse(Buffer.from(result, 'base64').toString('utf8')) as { holderRunId: string }).holderRunId;
  (
    history.events[0] as { workflowExecutionStartedEventAttributes?: { originalExecutionRunId?: string } }
  ).workflowExecutionStartedEventAttributes!.originalExecutionRunId = resetRunId;
  await Worker.runReplayHistory(replayOptions, history, 'replayed');
  // A replay that ignored the recorded patch would take the lock where the failed run's history replays: refused.
  const tampered = structuredClone(history);
  tampered.events[retaken]!.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]!.data = Buffer.from(
    JSON.stringify({ id: 'another-patch', deprecated: false }),
  ).toString('base64');
  await assert.rejects(Worker.runReplayHistory(replayOptions, tampered, 'replayed'), DeterminismViolationError);
});
