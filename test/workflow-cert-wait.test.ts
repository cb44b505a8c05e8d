/**
 * createSnapset's certificate-rotation wait on the time-skipping test server: the default 25 h
 * timer really elapses in workflow time while the test takes seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { progressQuery } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { sampleInput } from './helpers/inputs.js';
import { createActivities } from '../src/activities/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { DEFAULT_SCENARIO } from '../src/sim/scenario.js';
import { createTestWorker, registerSearchAttributes, simDeps, timeSkippingEnv, uniqueTaskQueue } from './helpers/temporal.js';

const HOUR = 3_600_000;

describe('createSnapset on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let run: Promise<void>;
  const taskQueue = uniqueTaskQueue('ts');

  before(async () => {
    env = await timeSkippingEnv();
    await registerSearchAttributes(env);
    worker = await createTestWorker(env, { taskQueue });
    run = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await run;
    await env?.teardown();
  });

  test('the default 25 h wait elapses in workflow time', async () => {
    const startMs = await env.currentTimeMs();
    const clusterCreatedAt = new Date(startMs).toISOString();
    const handle = await env.client.workflow.start(createSnapset, {
      taskQueue,
      workflowId: `cert-wait-${taskQueue}`,
      args: [sampleInput({ prepare: { clusterCreatedAt } })],
    });
    const result = await handle.result();

    assert.deepEqual(result.phasesRun, ['validating', 'waiting-cert-rotation', 'completed']);
    assert.ok(result.phasesNotRun.includes('creating-images'), 'the result says which phases did not run');
    const wait = result.certWait!;
    assert.equal(wait.clusterCreatedAtSource, 'input');
    assert.equal(Date.parse(wait.wakeAt) - Date.parse(clusterCreatedAt), 25 * HOUR);
    assert.equal(wait.alreadyOldEnough, false);
    assert.ok(Date.parse(wait.endedAt!) >= Date.parse(wait.wakeAt), 'the wait ended at or after the wake-up time');
    assert.ok((await env.currentTimeMs()) - startMs >= 25 * HOUR, 'at least 25 h of workflow time passed');

    const history = await handle.fetchHistory();
    const timers = history.events!.filter((e) => e.timerStartedEventAttributes);
    assert.equal(timers.length, 1, 'one durable timer');
    const fired = history.events!.filter((e) => e.timerFiredEventAttributes);
    assert.equal(fired.length, 1, 'and it fired');
  });

  test('a cluster installed more than 25 h ago does not wait at all', async () => {
    const now = await env.currentTimeMs();
    const handle = await env.client.workflow.start(createSnapset, {
      taskQueue,
      workflowId: `cert-old-${taskQueue}`,
      args: [sampleInput({ prepare: { clusterCreatedAt: new Date(now - 26 * HOUR).toISOString() } })],
    });
    const result = await handle.result();
    assert.equal(result.certWait!.alreadyOldEnough, true);
    const history = await handle.fetchHistory();
    assert.equal(history.events!.filter((e) => e.timerStartedEventAttributes).length, 0);
  });

  test('a custom certRotationWait is honoured', async () => {
    const now = await env.currentTimeMs();
    const handle = await env.client.workflow.start(createSnapset, {
      taskQueue,
      workflowId: `cert-custom-${taskQueue}`,
      args: [sampleInput({ prepare: { clusterCreatedAt: new Date(now).toISOString(), certRotationWait: '30h' } })],
    });
    const result = await handle.result();
    assert.equal(Date.parse(result.certWait!.wakeAt) - now, 30 * HOUR);
  });

  test('prepare.enabled=false skips the wait', async () => {
    const result = await env.client.workflow.execute(createSnapset, {
      taskQueue,
      workflowId: `cert-disabled-${taskQueue}`,
      args: [sampleInput({ prepare: { enabled: false } })],
    });
    assert.deepEqual(result.phasesRun, ['validating', 'completed']);
    assert.equal(result.certWait, undefined);
  });

  test('cancelling during the wait ends the workflow cancelled with phase "cancelled"', async () => {
    const now = await env.currentTimeMs();
    const handle = await env.client.workflow.start(createSnapset, {
      taskQueue,
      workflowId: `cert-cancel-${taskQueue}`,
      args: [sampleInput({ prepare: { clusterCreatedAt: new Date(now).toISOString() } })],
    });
    // Wait until the workflow is in its timer, then cancel.
    for (let i = 0; i < 100; i++) {
      const p = await handle.query(progressQuery);
      if (p.phase === 'waiting-cert-rotation' && p.certWait) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
    const progress = await handle.query(progressQuery);
    assert.equal(progress.phase, 'cancelled');
    const history = await handle.fetchHistory();
    assert.equal(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length, 0, 'nothing outside was touched');
  });

  test('bad input fails at once with a non-retryable ValidationError naming the field', async () => {
    const handle = await env.client.workflow.start(createSnapset, {
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
    assert.equal(history.events!.filter((e) => e.activityTaskScheduledEventAttributes || e.timerStartedEventAttributes).length, 0);
  });
});

describe('createSnapset reads the install time from the cluster (simulated controller over SSH)', () => {
  let env: TestWorkflowEnvironment;
  let young: Simulator;
  let old: Simulator;

  before(async () => {
    env = await timeSkippingEnv();
    await registerSearchAttributes(env);
    young = await startSimulator({ ...DEFAULT_SCENARIO, timeScale: 0.01, controller: { clusterAgeHours: 1 } });
    old = await startSimulator({ ...DEFAULT_SCENARIO, timeScale: 0.01, controller: { clusterAgeHours: 30 } });
  });
  after(async () => {
    await young?.close();
    await old?.close();
    await env?.teardown();
  });

  async function runOn(sim: Simulator) {
    const taskQueue = uniqueTaskQueue('ts-sim');
    const worker = await createTestWorker(env, { taskQueue, activities: createActivities(simDeps(sim)) });
    return worker.runUntil(
      env.client.workflow.execute(createSnapset, {
        taskQueue,
        workflowId: `cert-sim-${taskQueue}`,
        args: [{ ...sim.snapsetInput(), stackName: `sim-${taskQueue}` }],
      }),
    );
  }

  test('a cluster installed 1 h ago waits the remaining 24 h', async () => {
    const result = await runOn(young);
    const wait = result.certWait!;
    assert.equal(wait.clusterCreatedAtSource, 'cluster');
    assert.equal(wait.alreadyOldEnough, false);
    const remainingAtStart = Date.parse(wait.wakeAt) - Date.parse(wait.clusterCreatedAt);
    assert.equal(remainingAtStart, 25 * HOUR);
    assert.ok(Date.parse(wait.endedAt!) >= Date.parse(wait.wakeAt));
    assert.ok(young.controller.commands().some((c) => /oc get clusterversion version/.test(c.command)), 'asked the cluster over SSH');
  });

  test('a cluster installed 30 h ago does not wait', async () => {
    const result = await runOn(old);
    assert.equal(result.certWait!.clusterCreatedAtSource, 'cluster');
    assert.equal(result.certWait!.alreadyOldEnough, true);
  });
});
