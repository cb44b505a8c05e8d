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
] as const) {
  test(`${what} replays on the current code`, async () => {
    const history = JSON.parse(readFileSync(fixtures('histories', file), 'utf8')) as { events: { eventType: string }[] };
    const types = history.events.map((e) => e.eventType);
    assert.ok(types.includes('EVENT_TYPE_MARKER_RECORDED'), 'the fixture records the patch');
    await Worker.runReplayHistory(replayOptions, history, 'replayed');
  });
}
