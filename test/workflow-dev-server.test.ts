/**
 * createSnapset on the real dev server (Temporal CLI): progress query, skipCertWait Update and the
 * SnapsetPhase search attribute through visibility.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { historySteps, type HistoryEventLike } from '../src/cli/retry-plan.js';
import { progressQuery, skipCertWaitUpdate, snapsetWorkflowId } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { sampleInput, simInput } from './helpers/inputs.js';
import { useTemporal, withSimWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const eventually = <T>(fn: () => Promise<T | undefined>, what: string) => waitFor(what, fn, { intervalMs: 200 });

describe('createSnapset on the dev server', () => {
  const t = useTemporal('dev-server', { worker: true });
  const { taskQueue } = t;

  test('progress query, SnapsetPhase visibility and skipCertWait ending the wait, then a complete SnapSet', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue: simQueue }) => {
      const stackName = `hs-${simQueue}`;
      const handle = await t.env.client.workflow.start(createSnapset, {
        taskQueue: simQueue,
        workflowId: snapsetWorkflowId(stackName),
        args: [simInput(sim, { stackName, prepare: { clusterCreatedAt: new Date().toISOString() } })],
      });

      const progress = await eventually(async () => {
        const p = await handle.query(progressQuery);
        return p.phase === 'waiting-cert-rotation' && p.certWait ? p : undefined;
      }, 'the wait to start');
      assert.equal(progress.stackName, stackName);
      assert.deepEqual(progress.phasesRun, ['validating', 'preflight', 'waiting-cert-rotation']);
      const wakeIn = Date.parse(progress.certWait!.wakeAt) - Date.now();
      assert.ok(wakeIn > 24 * 3_600_000 && wakeIn <= 25 * 3_600_000, `wake-up in ${wakeIn} ms`);
      assert.match(progress.details, /Update skipCertWait/);

      const listed = await eventually(async () => {
        for await (const wf of t.env.client.workflow.list({ query: `SnapsetPhase='waiting-cert-rotation' AND StackName='${stackName}'` })) {
          if (wf.workflowId === handle.workflowId) return wf;
        }
        return undefined;
      }, 'the workflow to be listed by SnapsetPhase');
      assert.equal(listed.status.name, 'RUNNING');

      // A reason is required.
      await assert.rejects(handle.executeUpdate(skipCertWaitUpdate, { args: [{ reason: 'ok' }] }), (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError);
        assert.match(String(err.cause?.message), /reason: required/);
        return true;
      });
      // The rejected update left no trace in history and the wait goes on.
      assert.equal((await handle.query(progressQuery)).phase, 'waiting-cert-rotation');

      const reason = 'lab cluster rotated its certificates manually (test)';
      const skipped = await handle.executeUpdate(skipCertWaitUpdate, { args: [{ reason }] });
      assert.equal(skipped.skipped, true);
      assert.equal(skipped.wakeAt, progress.certWait!.wakeAt);

      const result = await handle.result();
      assert.equal(result.certWait!.skipped!.reason, reason);
      assert.deepEqual(result.phasesRun, [
        'validating',
        'preflight',
        'waiting-cert-rotation',
        'preparing-cluster',
        'shutting-down',
        'waiting-shutoff',
        'creating-images',
        'tagging',
        'verifying',
        'completed',
      ]);
      const done = await eventually(async () => {
        for await (const wf of t.env.client.workflow.list({ query: `SnapsetPhase='completed' AND StackName='${stackName}'` })) return wf;
        return undefined;
      }, 'the completed phase to be visible');
      assert.equal(done.workflowId, handle.workflowId);

      // Once the wait is over, skipping again is refused.
      await assert.rejects(handle.executeUpdate(skipCertWaitUpdate, { args: [{ reason }] }), (err: unknown) => {
        assert.ok(err instanceof Error, String(err));
        assert.match(`${err.message} ${String((err as { cause?: Error }).cause?.message)}`, /not waiting for certificate rotation|already completed/i);
        return true;
      });
    });
  });

  test('a second run for the same stack is refused while one is running', async () => {
    const stackName = `hs-dup-${taskQueue}`;
    const opts = {
      taskQueue,
      workflowId: snapsetWorkflowId(stackName),
      args: [sampleInput({ stackName, prepare: { clusterCreatedAt: new Date().toISOString() } })] as [unknown],
    };
    const first = await t.env.client.workflow.start(createSnapset, opts);
    await assert.rejects(t.env.client.workflow.start(createSnapset, { ...opts, workflowIdConflictPolicy: 'FAIL' }), /already started|AlreadyStarted/i);
    await first.cancel();
  });
  test('tags a flaky Glance refuses for longer than the local try: the step goes on as a regular activity and the set completes', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue: simQueue }) => {
      const stackName = `hs-flaky-${simQueue}`;
      // Every tag PATCH answers 503 until the fault is lifted: the local try (a quarter of the 40 s budget) runs out first.
      sim.cloud.setFaults({ endpoints: { 'image.images.update': { errorRate: 1, errorStatus: 503 } } });
      const handle = await t.env.client.workflow.start(createSnapset, {
        taskQueue: simQueue,
        workflowId: snapsetWorkflowId(stackName),
        args: [
          simInput(sim, {
            stackName,
            prepare: { stablePeriod: '1s' },
            capture: { imageTimeout: '3m', imagePollInterval: '100ms', shutoffPollInterval: '100ms' },
          }),
        ],
      });
      let seen = '';
      const regular = async () => {
        const p = await handle.query(progressQuery);
        const steps = historySteps(((await handle.fetchHistory()).events ?? []) as HistoryEventLike[]);
        seen = `${p.phase}: ${p.details}; steps ${steps.map((s) => `${s.name}${s.local ? ' (local)' : ''}`).join(', ')}`;
        return steps.some((s) => s.name === 'tagSnapset' && !s.local);
      };
      await waitFor('tagging to go on as a regular activity', regular, { timeoutMs: 60_000, intervalMs: 500, seen: () => seen });
      sim.cloud.setFaults({ endpoints: { 'image.images.update': { errorRate: 0 } } });
      const result = await handle.result();
      const steps = historySteps(((await handle.fetchHistory()).events ?? []) as HistoryEventLike[]).filter((s) => s.name === 'tagSnapset');
      assert.deepEqual(
        steps.map((s) => s.local),
        [true, false],
        'one local try that ran out, then one regular activity',
      );
      const ours = (sim.cloud.images() as { hotstack_snap_id?: string; tags?: string[] }[]).filter((i) => i.hotstack_snap_id === result.snapId);
      assert.equal(ours.length, Object.keys(result.images).length);
      assert.ok(
        ours.every((i) => i.tags?.includes('hotstack-snapset')),
        'every image tagged',
      );
    });
  });
});
