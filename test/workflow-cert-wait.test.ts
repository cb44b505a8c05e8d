/**
 * createSnapset's certificate-rotation wait on the time-skipping test server: the default 25 h
 * timer really elapses in workflow time while the test takes seconds. Runs go on to a complete
 * SnapSet against the simulator.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { historySteps, type HistoryEventLike } from '../src/cli/retry-plan.js';
import { progressQuery } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { sampleInput, simInput } from './helpers/inputs.js';
import { createTestWorker, FAST_SCENARIO, uniqueTaskQueue, useTemporal, withSimWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const HOUR = 3_600_000;

describe('certificate-rotation wait on the time-skipping server', () => {
  const t = useTemporal('time-skipping');

  test('the default 25 h wait elapses in workflow time, then the SnapSet is made', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const startMs = await t.env.currentTimeMs();
      const clusterCreatedAt = new Date(startMs).toISOString();
      const handle = await t.env.client.workflow.start(createSnapset, {
        taskQueue,
        workflowId: `cert-wait-${taskQueue}`,
        args: [simInput(sim, { prepare: { clusterCreatedAt } })],
      });
      const result = await handle.result();

      const wait = result.certWait!;
      assert.equal(wait.clusterCreatedAtSource, 'input');
      assert.equal(Date.parse(wait.wakeAt) - Date.parse(clusterCreatedAt), 25 * HOUR);
      assert.equal(wait.alreadyOldEnough, false);
      assert.ok(Date.parse(wait.endedAt!) >= Date.parse(wait.wakeAt), 'the wait ended at or after the wake-up time');
      assert.ok((await t.env.currentTimeMs()) - startMs >= 25 * HOUR, 'at least 25 h of workflow time passed');
      assert.ok(Date.parse(result.createdAt) >= Date.parse(wait.wakeAt), 'images were made after the wait');
      assert.deepEqual(Object.keys(result.images).sort(), ['controller', 'master0']);

      const history = await handle.fetchHistory();
      const timers = history.events!.filter((e) => e.timerStartedEventAttributes);
      assert.equal(timers.length, 1, 'one durable timer');
      assert.equal(history.events!.filter((e) => e.timerFiredEventAttributes).length, 1, 'and it fired');
      // Only the stack lock and read-only checks before the timer fired, and the same checks again right after it.
      const fired = history.events!.findIndex((e) => e.timerFiredEventAttributes);
      const scheduled = (from: number, to: number) => historySteps(history.events!.slice(from, to) as HistoryEventLike[]).map((s) => s.name);
      assert.deepEqual(
        scheduled(0, fired),
        ['takeStackLock', 'preflightCloud', 'preflightController'],
        'nothing but the lock and preflight before the wait ended',
      );
      assert.deepEqual(scheduled(fired, history.events!.length).slice(0, 2), ['preflightCloud', 'preflightController'], 'preflight again after the wait');
    });
  });

  test('with the install time read from the cluster over SSH: 1 h old waits the remaining 24 h', async () => {
    // The test server's clock runs ahead of real time once earlier tests skipped it.
    const installed = new Date((await t.env.currentTimeMs()) - HOUR).toISOString();
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const result = await t.env.client.workflow.execute(createSnapset, {
          taskQueue,
          workflowId: `cert-young-${taskQueue}`,
          args: [simInput(sim)],
        });
        const wait = result.certWait!;
        assert.equal(wait.clusterCreatedAtSource, 'cluster');
        assert.equal(wait.alreadyOldEnough, false);
        assert.equal(Date.parse(wait.wakeAt) - Date.parse(wait.clusterCreatedAt), 25 * HOUR);
        assert.ok(Date.parse(wait.endedAt!) >= Date.parse(wait.wakeAt));
        assert.ok(
          sim.controller.commands().some((c) => /oc get clusterversion version/.test(c.command)),
          'asked the cluster over SSH',
        );
      },
      { ...FAST_SCENARIO, controller: { clusterCreatedAt: installed } },
    );
  });

  test('a cluster installed 30 h ago (read from the cluster) does not wait at all', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `cert-old-${taskQueue}`, args: [simInput(sim)] });
      const result = await handle.result();
      assert.equal(result.certWait!.clusterCreatedAtSource, 'cluster');
      assert.equal(result.certWait!.alreadyOldEnough, true);
      const history = await handle.fetchHistory();
      assert.equal(history.events!.filter((e) => e.timerStartedEventAttributes).length, 0);
    });
  });

  test('a custom certRotationWait is honoured', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const now = await t.env.currentTimeMs();
      const result = await t.env.client.workflow.execute(createSnapset, {
        taskQueue,
        workflowId: `cert-custom-${taskQueue}`,
        args: [simInput(sim, { prepare: { clusterCreatedAt: new Date(now).toISOString(), certRotationWait: '30h' } })],
      });
      assert.equal(Date.parse(result.certWait!.wakeAt) - now, 30 * HOUR);
    });
  });

  test('prepare.enabled=false skips the wait and the node preparation (nodes already off, as the seed expects)', async () => {
    const scenario = {
      ...FAST_SCENARIO,
      instances: { ...FAST_SCENARIO.instances, master0: { ...FAST_SCENARIO.instances.master0!, status: 'SHUTOFF' as const } },
    };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const result = await t.env.client.workflow.execute(createSnapset, {
          taskQueue,
          workflowId: `cert-disabled-${taskQueue}`,
          args: [simInput(sim, { prepare: { enabled: false } })],
        });
        assert.deepEqual(result.phasesRun, [
          'validating',
          'preflight',
          'shutting-down',
          'waiting-shutoff',
          'creating-images',
          'tagging',
          'verifying',
          'completed',
        ]);
        assert.equal(result.certWait, undefined);
      },
      scenario,
    );
  });

  test('cancelling during the wait ends the workflow cancelled, nothing outside touched', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const now = await t.env.currentTimeMs();
      const handle = await t.env.client.workflow.start(createSnapset, {
        taskQueue,
        workflowId: `cert-cancel-${taskQueue}`,
        args: [simInput(sim, { prepare: { clusterCreatedAt: new Date(now).toISOString() } })],
      });
      await waitFor('the certificate wait', async () => {
        const p = await handle.query(progressQuery);
        return p.phase === 'waiting-cert-rotation' && p.certWait;
      });
      await handle.cancel();
      await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
      const progress = await handle.query(progressQuery);
      assert.equal(progress.phase, 'cancelled');
      assert.match(progress.details, /nothing outside was changed/);
      // From the outside: no Nova action, no cordon, no shutdown; every VM still running.
      assert.deepEqual(
        sim.cloud.requestLog().filter((r) => r.method !== 'GET' && !r.endpoint.startsWith('identity')),
        [],
      );
      assert.deepEqual(
        sim.controller.commands().filter((c) => /cordon|debug|shutdown/.test(c.command)),
        [],
      );
      for (const s of sim.cloud.servers()) assert.equal(s.status, 'ACTIVE', `${s.name} untouched`);
    });
  });

  test('bad input fails at once with a non-retryable ValidationError naming the field', async () => {
    const taskQueue = uniqueTaskQueue('ts');
    const worker = await createTestWorker(t.env, { taskQueue });
    await worker.runUntil(async () => {
      const handle = await t.env.client.workflow.start(createSnapset, {
        taskQueue,
        workflowId: `bad-input-${taskQueue}`,
        args: [{ ...sampleInput(), stackName: 'has space' }],
      });
      await assert.rejects(handle.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'ValidationError');
        assert.equal(err.cause.nonRetryable, true);
        assert.match(err.cause.message, /stackName/);
        return true;
      });
      const history = await handle.fetchHistory();
      assert.deepEqual(historySteps(history.events! as HistoryEventLike[]), [], 'no step ran');
      assert.equal(history.events!.filter((e) => e.timerStartedEventAttributes).length, 0, 'no timer started');
    });
  });
});
