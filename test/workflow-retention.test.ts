/**
 * createSnapset's `retention` (DESIGN §5 step 9): after a good capture the `pruneSnapsets` child
 * deletes the stack's older sets beyond `keep`, and nothing of another stack — read from Glance.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { DAY, HOUR, scenarioWithSets, setsInGlance } from './helpers/snapset-store.js';
import { useTemporal, withSimWorker } from './helpers/temporal.js';

describe('createSnapset retention (dev server + simulator)', () => {
  const t = useTemporal('dev-server');

  test('keep: 2 — the new set and the newest older one stay, older ones of the stack go, other stacks are untouched', async () => {
    const stack = 'hs-retain';
    const scenario = {
      ...scenarioWithSets([
        { snapId: 'keep0001', stack, ago: 2 * DAY },
        { snapId: 'drop0001', stack, ago: 5 * DAY },
        { snapId: 'drop0002', stack, ago: 40 * DAY },
        { snapId: 'other001', stack: 'hs-other', ago: 50 * DAY },
        { snapId: 'young001', stack, ago: HOUR, tags: 'none' },
      ]),
      stackName: stack,
    };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const result = await t.env.client.workflow.execute(createSnapset, {
          taskQueue,
          workflowId: `retain-${taskQueue}`,
          args: [simInput(sim, { stackName: stack, retention: { keep: 2 } })],
        });
        assert.ok(result.phasesRun.includes('pruning'));
        assert.deepEqual([...(result.retention?.deleted ?? [])].sort(), ['drop0001', 'drop0002']);
        const left = setsInGlance(sim.cloud.images());
        assert.deepEqual(
          Object.keys(left).sort(),
          [result.snapId, 'keep0001', 'other001', 'young001'].sort(),
          'from Glance: the two older sets are gone; another stack and an incomplete set inside its grace stay',
        );
        assert.equal(left[result.snapId], 2);
      },
      scenario,
    );
  });
});
