/**
 * The per-stack lock as a delayed workflow its holder starts and terminates (src/stack-lock.ts,
 * PATCHES.lockByStart): what it costs, what a holder that ended abruptly leaves, and how such a
 * stale lock is taken over or ends by itself. On the dev server (the time-skipping server does not
 * run a delayed start when it skips time).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { createTemporalActivities } from '../src/activities/temporal.js';
import { findStackHolder } from '../src/client.js';
import { describeStackLock, takeStackLock } from '../src/stack-lock.js';
import { progressQuery, StackNameKey, stackLockWorkflowId } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { waitFor } from './helpers/wait.js';
import { createTestWorker, uniqueTaskQueue, useTemporal, withSimWorker } from './helpers/temporal.js';

type Client = ReturnType<typeof useTemporal>['env']['client'];

/** A running workflow no worker ever runs: a stand-in for a lock's holder. */
async function standIn(client: Client, name: string) {
  return client.workflow.start('holderStandIn', {
    taskQueue: `nobody-${randomUUID().slice(0, 8)}`,
    workflowId: `${name}-${randomUUID().slice(0, 8)}`,
    args: [],
  });
}

/** The kinds of a history's events, by their attributes' names (`workflowExecutionStarted`, …). */
async function eventKinds(client: Client, workflowId: string, runId?: string): Promise<string[]> {
  const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  return events.map(
    (e) =>
      Object.keys(e)
        .find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k])
        ?.replace(/EventAttributes$/, '') ?? '?',
  );
}

async function terminationReason(client: Client, workflowId: string, runId: string): Promise<string | undefined> {
  const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
  return events.find((e) => e.workflowExecutionTerminatedEventAttributes)?.workflowExecutionTerminatedEventAttributes?.reason ?? undefined;
}

describe('the stack lock (dev server + simulator)', () => {
  const t = useTemporal('dev-server');

  test('a run holds its stack with a lock no worker runs: two events, its memo names the run, released at the end', async () => {
    const stackName = `hs-lock-${randomUUID().slice(0, 6)}`;
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const run = await t.env.client.workflow.start(createSnapset, {
        taskQueue,
        workflowId: `snapset-${stackName}`,
        args: [simInput(sim, { stackName, prepare: { stablePeriod: '1s' } })],
      });
      const lock = t.env.client.workflow.getHandle(stackLockWorkflowId(stackName));
      const held = await waitFor(
        'the run to hold its stack',
        async () => {
          const d = await lock.describe();
          return d.status.name === 'RUNNING' ? d : undefined;
        },
        { retryErrors: true },
      );
      assert.deepEqual(held.memo, { holderType: 'createSnapset', holderWorkflowId: run.workflowId, holderRunId: run.firstExecutionRunId });
      assert.equal(held.type, 'stackLock');
      assert.equal(held.parentExecution, undefined, 'not a child of the run');
      assert.equal(held.typedSearchAttributes.get(StackNameKey), stackName, 'the Web UI lists it under its stack');
      const holder = await findStackHolder(t.env.client, stackName);
      assert.equal(holder?.workflowId, run.workflowId, 'the CLI sees the run holding the stack');

      await run.result();
      assert.deepEqual(await eventKinds(t.env.client, lock.workflowId, held.runId), ['workflowExecutionStarted', 'workflowExecutionTerminated']);
      assert.equal(await terminationReason(t.env.client, lock.workflowId, held.runId), `released by ${run.workflowId}: the stack is free`);
      assert.equal((await describeStackLock(t.env.client, lock.workflowId)).held, false);
      assert.equal(await findStackHolder(t.env.client, stackName), undefined);
    });
  });

  test('a run terminated while it holds the stack leaves a stale lock: the stack reads free, and the next run takes it over', async () => {
    const stackName = `hs-stale-${randomUUID().slice(0, 6)}`;
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      // A cluster an hour old: the run waits for the certificate rotation, holding the stack, having changed nothing.
      const young = new Date(Date.now() - 3_600_000).toISOString();
      const first = await t.env.client.workflow.start(createSnapset, {
        taskQueue,
        workflowId: `first-${stackName}`,
        args: [simInput(sim, { stackName, prepare: { clusterCreatedAt: young } })],
      });
      await waitFor('the first run to wait for the certificate rotation', async () => (await first.query(progressQuery)).phase === 'waiting-cert-rotation', {
        retryErrors: true,
      });
      const lockId = stackLockWorkflowId(stackName);
      const stale = await t.env.client.workflow.getHandle(lockId).describe();
      await first.terminate('test: the holder ends without releasing its lock');

      assert.equal((await t.env.client.workflow.getHandle(lockId).describe()).status.name, 'RUNNING', 'the lock outlives its holder');
      const seen = await describeStackLock(t.env.client, lockId);
      assert.equal(seen.held, false, 'but holds nothing');
      assert.equal(seen.workflowId, first.workflowId);
      assert.equal(await findStackHolder(t.env.client, stackName), undefined, 'the CLI sees the stack free');

      const next = await t.env.client.workflow.start(createSnapset, {
        taskQueue,
        workflowId: `next-${stackName}`,
        args: [simInput(sim, { stackName, prepare: { stablePeriod: '1s' } })],
      });
      const result = await next.result();
      assert.equal(result.stackName, stackName);
      assert.equal((await t.env.client.workflow.getHandle(lockId, stale.runId).describe()).status.name, 'TERMINATED');
      assert.match(
        (await terminationReason(t.env.client, lockId, stale.runId)) ?? '',
        new RegExp(
          `^stale: its holder ${first.workflowId} \\(run ${first.firstExecutionRunId}\\) ended without releasing it; taken over by ${next.workflowId}$`,
        ),
      );
      assert.equal((await describeStackLock(t.env.client, lockId)).held, false, 'the next run released it in turn');
    });
  });

  test('two runs racing for a stale lock: one takes it, the other is told the winner', async () => {
    const stackName = `hs-race-${randomUUID().slice(0, 6)}`;
    const taskQueue = uniqueTaskQueue('lock');
    const gone = await standIn(t.env.client, 'gone');
    await takeStackLock(t.env.client, {
      stackName,
      taskQueue,
      holder: { workflowId: gone.workflowId, runId: gone.firstExecutionRunId, workflowType: 'createSnapset' },
    });
    await gone.terminate('test: the holder ends');
    const [a, b] = await Promise.all([standIn(t.env.client, 'a'), standIn(t.env.client, 'b')]);
    try {
      const holderOf = (h: typeof a) => ({ workflowId: h.workflowId, runId: h.firstExecutionRunId, workflowType: 'reviveSnapset' });
      const [ra, rb] = await Promise.all([
        takeStackLock(t.env.client, { stackName, taskQueue, holder: holderOf(a) }),
        takeStackLock(t.env.client, { stackName, taskQueue, holder: holderOf(b) }),
      ]);
      const winners = [ra, rb].filter((r) => r.taken);
      assert.equal(winners.length, 1, JSON.stringify([ra, rb]));
      const loser = [ra, rb].find((r) => !r.taken)!;
      assert.ok(!loser.taken);
      const lock = await t.env.client.workflow.getHandle(stackLockWorkflowId(stackName)).describe();
      assert.equal(loser.holder.workflowId, (lock.memo as { holderWorkflowId: string }).holderWorkflowId, 'the loser is told who won');
      assert.equal(loser.holder.workflowType, 'reviveSnapset');
      // Taking it again for the winner is a no-op (an attempt whose answer was lost).
      const winner = ra.taken ? a : b;
      const again = await takeStackLock(t.env.client, { stackName, taskQueue, holder: holderOf(winner) });
      assert.ok(again.taken && again.lockRunId === lock.runId);
    } finally {
      await Promise.all([
        a.terminate('test over'),
        b.terminate('test over'),
        t.env.client.workflow.getHandle(stackLockWorkflowId(stackName)).terminate('test over'),
      ]);
    }
  });

  test('a lock whose start delay elapsed ends once its holder has ended, and keeps the stack while the holder runs', async () => {
    const taskQueue = uniqueTaskQueue('lock');
    const worker = await createTestWorker(t.env, { taskQueue, activities: createTemporalActivities() });
    await worker.runUntil(async () => {
      const alive = await standIn(t.env.client, 'alive');
      const gone = await standIn(t.env.client, 'gone');
      // The product's locks wake after LOCK_WAKE and look daily; here after a second, every second.
      const take = (stackName: string, h: typeof alive) =>
        takeStackLock(t.env.client, {
          stackName,
          taskQueue,
          holder: { workflowId: h.workflowId, runId: h.firstExecutionRunId, workflowType: 'createSnapset' },
          wake: { after: '1s', every: '1s' },
        });
      const suffix = randomUUID().slice(0, 6);
      const [a, g] = await Promise.all([take(`hs-alive-${suffix}`, alive), take(`hs-gone-${suffix}`, gone)]);
      assert.ok(a.taken && g.taken);
      await gone.terminate('test: ends without releasing its lock');

      const staleLock = t.env.client.workflow.getHandle(g.lockWorkflowId, g.lockRunId);
      assert.deepEqual(await staleLock.result(), { stackName: `hs-gone-${suffix}`, released: false });
      const keptLock = t.env.client.workflow.getHandle(a.lockWorkflowId, a.lockRunId);
      await waitFor('the kept lock to have looked at its holder twice', async () => {
        const kinds = await eventKinds(t.env.client, a.lockWorkflowId, a.lockRunId);
        return kinds.filter((k) => k === 'activityTaskCompleted').length >= 2;
      });
      assert.equal((await keptLock.describe()).status.name, 'RUNNING', 'its holder still runs');
      assert.equal((await describeStackLock(t.env.client, a.lockWorkflowId)).held, true);

      await alive.terminate('test: now this holder ends too');
      assert.deepEqual(await keptLock.result(), { stackName: `hs-alive-${suffix}`, released: false });
    });
  });
});
