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
