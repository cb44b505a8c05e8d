/**
 * pruneSnapsets on the dev server against the simulator: a store holding a set made by the real
 * createSnapset plus seeded ones (older complete, expired, incomplete, killed, half-made, another
 * stack, a stack known only from its workflow ID). Every outcome is read from the simulator's Glance.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { snapsetWorkflowId } from '../src/shared/workflow-api.js';
import { createSnapset, pruneSnapsets } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { DAY, HOUR, scenarioWithSets, setsInGlance, type SeedSet } from './helpers/snapset-store.js';
import { useTemporal, withSimWorker } from './helpers/temporal.js';

/** A stack of its own: test files share the dev server, and the per-stack lock is real. */
const STACK = `hs-prune-${randomUUID().slice(0, 8)}`;

const SEEDED: SeedSet[] = [
  { snapId: 'Cold1___', ago: 3 * DAY },
  { snapId: 'Cold2___', ago: 5 * DAY },
  { snapId: 'Cexpired', ago: 40 * DAY },
  { snapId: 'Iold____', ago: 5 * HOUR, tags: 'seed' },
  { snapId: 'Kkilled_', ago: 3 * HOUR, status: { master0: 'killed' } },
  { snapId: 'Iyoung__', ago: 10 * 60_000, tags: 'none' },
  { snapId: 'Bonly___', ago: 50 * DAY, stack: 'hs-other' },
  { snapId: 'Legacy__', ago: 2 * DAY, stack: null, workflowId: 'snapset-hs-legacy' },
];

describe('pruneSnapsets', () => {
  const t = useTemporal('dev-server');

  test('keep 2 after a real capture: deletes exactly the older, expired, stale incomplete and killed sets; never the newest complete one', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const made = await t.env.client.workflow.execute(createSnapset, {
          taskQueue,
          workflowId: snapsetWorkflowId(STACK),
          args: [simInput(sim, { stackName: STACK, prepare: { clusterCreatedAt: new Date(Date.now() - 2 * DAY).toISOString() } })],
        });
        const fresh = made.snapId;
        assert.equal(setsInGlance(sim.cloud.images())[fresh], 2);

        const prune = (input: Record<string, unknown>, id: string) =>
          t.env.client.workflow.execute(pruneSnapsets, { taskQueue, workflowId: `prune-${id}-${taskQueue}`, args: [{ cloud: 'sim', ...input }] });

        const dry = await prune({ keep: 2, dryRun: true }, 'dry');
        assert.deepEqual([...dry.delete].sort(), ['Cexpired', 'Cold2___', 'Iold____', 'Kkilled_']);
        assert.deepEqual([...dry.keep].sort(), ['Bonly___', 'Cold1___', 'Iyoung__', 'Legacy__', fresh].sort());
        assert.match(dry.reasons.Kkilled_!, /master0: image \S+ is killed/);
        assert.match(dry.reasons.Bonly___!, /newest complete set of stack hs-other/);
        assert.match(dry.reasons.Legacy__!, /stack hs-legacy/);
        assert.deepEqual(dry.deleted, []);
        const before = setsInGlance(sim.cloud.images());
        assert.equal(Object.keys(before).length, 9, 'a dry run deletes nothing');

        const done = await prune({ keep: 2 }, 'real');
        assert.deepEqual([...done.deleted].sort(), [...dry.delete].sort());
        assert.deepEqual(done.left, []);
        const after = setsInGlance(sim.cloud.images());
        assert.deepEqual(Object.keys(after).sort(), ['Bonly___', 'Cold1___', 'Iyoung__', 'Legacy__', fresh].sort());
        assert.ok(
          sim.cloud.images().some((i) => i.name === 'hotstack-base'),
          'images of no set are never touched',
        );

        // Deleting by snap_id: exactly those, but never the newest complete set of the stack.
        const del = await prune({ snapIds: [fresh, 'Cold1___'] }, 'delete');
        assert.deepEqual(del.deleted, ['Cold1___']);
        assert.match(del.reasons[fresh]!, /newest complete set of stack .*never deleted/);
        assert.deepEqual(Object.keys(setsInGlance(sim.cloud.images())).sort(), ['Bonly___', 'Iyoung__', 'Legacy__', fresh].sort());

        // Run again: idempotent, nothing more to delete.
        const again = await prune({ keep: 2 }, 'again');
        assert.deepEqual(again.delete, []);
      },
      scenarioWithSets(SEEDED.map((s) => ({ stack: STACK, ...s }))),
    );
  });

  test('a set whose capture run is still open is never deleted; older sets made under the same workflow ID are', async () => {
    // A createSnapset run on a task queue no worker polls: RUNNING, as a capture in progress is.
    const runId = `snapset-open-${Date.now()}`;
    const open = await t.env.client.workflow.start(createSnapset, { taskQueue: `nobody-${runId}`, workflowId: runId, args: [{}] });
    try {
      await withSimWorker(
        t.env,
        async ({ sim, taskQueue }) => {
          await new Promise((r) => setTimeout(r, 2500)); // both half-made sets are now older than the 1 s grace
          const r = await t.env.client.workflow.execute(pruneSnapsets, {
            taskQueue,
            workflowId: `prune-open-${taskQueue}`,
            args: [{ cloud: 'sim', keep: 1, incompleteGrace: '1s' }],
          });
          assert.deepEqual(r.deleted, ['Stale___']);
          assert.match(r.reasons.Open____!, new RegExp(`capture run ${runId} is still open`));
          assert.deepEqual(Object.keys(setsInGlance(sim.cloud.images())).sort(), ['Cdone___', 'Open____']);
        },
        scenarioWithSets([
          { snapId: 'Cdone___', ago: DAY },
          { snapId: 'Open____', ago: 0, tags: 'none', workflowId: runId },
          { snapId: 'Stale___', ago: 3 * HOUR, tags: 'none', workflowId: runId },
        ]),
      );
    } finally {
      await open.terminate('test over');
    }
  });

  test('bad input fails at once naming the fields, nothing deleted', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        await assert.rejects(
          t.env.client.workflow.execute(pruneSnapsets, { taskQueue, workflowId: `prune-bad-${taskQueue}`, args: [{ keep: 0, maxAge: 'soon' }] }),
          (err: unknown) =>
            err instanceof WorkflowFailedError &&
            err.cause instanceof ApplicationFailure &&
            err.cause.type === 'ValidationError' &&
            /keep: expected a whole number/.test(err.cause.message) &&
            /maxAge/.test(err.cause.message),
        );
        assert.equal(setsInGlance(sim.cloud.images()).Cold2___, 2);
      },
      scenarioWithSets([{ snapId: 'Cold2___', ago: 5 * DAY }]),
    );
  });
});
