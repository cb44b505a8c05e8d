/**
 * Determinism guard for reviveSnapset: a recorded complete run (scripts/record-revive-history.mjs)
 * replays on the current workflow code; and the check can fail.
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
type History = { events: { activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }[] };
const load = () => JSON.parse(readFileSync(fixtures('histories', 'revive-snapset-complete.json'), 'utf8')) as History;

test('a recorded complete revive replays on the current code', async () => {
  const history = load();
  const activities = history.events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name] : []));
  assert.ok(activities.includes('findReviveSet') && activities.includes('waitNodesReady'), `a whole run: ${activities.join(', ')}`);
  await Worker.runReplayHistory(replayOptions, history, 'snapset-revive-hs-sno-1');
});

test('the revive replay check can fail: a history with an activity swapped is refused', async () => {
  const history = load();
  const first = history.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'findReviveSet')!;
  first.activityTaskScheduledEventAttributes!.activityType!.name = 'uncordonNodes';
  await assert.rejects(Worker.runReplayHistory(replayOptions, history, 'snapset-revive-hs-sno-1'), DeterminismViolationError);
});
