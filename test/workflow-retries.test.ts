/**
 * Retries that keep the capture (issue #13), proven from the outside — the simulator's images,
 * statuses and request counters:
 * - a snapshot the cloud fails is taken again while every VM stays SHUTOFF (capture.imageAttempts);
 * - a VM started between attempts ends the capture (consistency lost), nothing left behind;
 * - a lab a failed capture left SHUTOFF: a new run refuses untouched naming the retry, or captures
 *   the lab as it is when the cluster is known to be old enough;
 * - after verification nothing destroys the set (a failed prune child, a cancel during pruning);
 * - Reset of a failed run to its capture finishes the set, and holds the stack while it does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import Long from 'long';
import { historySteps, type HistoryEventLike } from '../src/cli/retry-plan.js';
import { COMPLETE_TAG, SNAP_ID_PROPERTY } from '../src/shared/snapset/index.js';
import { progressQuery, stackLockWorkflowId } from '../src/shared/workflow-api.js';
import type { Simulator } from '../src/sim/index.js';
import type { ScenarioInput } from '../src/sim/scenario.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { labOf } from './helpers/labs.js';
import { waitFor } from './helpers/wait.js';
import { failureOf, simDeps, toolchain, useTemporal, withSimWorker } from './helpers/temporal.js';

type SimImage = { id: string; name: string; status: string; tags: string[]; [SNAP_ID_PROPERTY]?: string };

const STACK = 'hs-retry';
/** The retries' labs: a stack of their own. */
const lab = (n: number, over: Partial<ScenarioInput> = {}): ScenarioInput => labOf(n, { stackName: STACK, ...over });
const uuidOf = (scenario: ScenarioInput, name: string) => scenario.instances![name]!.uuid;

/** The images of a set as the simulator holds them, deleted ones left out. */
function liveImages(sim: Simulator, snapId: string | undefined): SimImage[] {
  return (sim.cloud.images() as SimImage[]).filter((i) => i[SNAP_ID_PROPERTY] === snapId && !['deleted', 'pending_delete'].includes(i.status));
}

/** One active image per VM, every one marked complete. */
function assertCompleteSet(sim: Simulator, snapId: string, vms: number): void {
  const images = liveImages(sim, snapId);
  assert.equal(images.length, vms, `one image per VM: ${images.map((i) => `${i.name} ${i.status}`).join(', ')}`);
  assert.equal(new Set(images.map((i) => i.name)).size, vms, 'no VM imaged twice');
  for (const i of images) {
    assert.equal(i.status, 'active', `${i.name} active`);
    assert.ok(i.tags.includes(COMPLETE_TAG), `${i.name} marked complete`);
  }
}

const requests = (sim: Simulator, endpoint: string) => sim.cloud.counters()[endpoint]?.requests ?? 0;

/** Fast polls and no preparation wait beyond a second: the runs here are about the capture. */
const fast = (sim: Simulator, capture: Record<string, unknown> = {}, over: Record<string, unknown> = {}) =>
  simInput(sim, { prepare: { stablePeriod: '1s' }, capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms', ...capture }, ...over });

/** Writes a run's history for the replay tests when SNAPSET_RECORD_HISTORIES names a directory. */
async function recordHistory(workflowId: string, runId: string, file: string): Promise<void> {
  const dir = process.env.SNAPSET_RECORD_HISTORIES;
  if (!dir) return;
  const { temporalCli } = await toolchain();
  const address = process.env.SNAPSET_TEST_TEMPORAL_ADDRESS!;
  const { stdout } = await promisify(execFile)(
    temporalCli,
    ['workflow', 'show', '--workflow-id', workflowId, '--run-id', runId, '--address', address, '--output', 'json'],
    { maxBuffer: 64 << 20 },
  );
  // Recorded histories are never re-recorded: new workflow code must replay them.
  await writeFile(join(dir, file), stdout, { flag: 'wx' });
}

describe('a failed snapshot is taken again (time-skipping server + simulator)', () => {
  const t = useTemporal('time-skipping');

  test('capture.imageAttempts 1: the first killed snapshot fails the run, and no image is left', async () => {
    const scenario = lab(3, { cloud: { faults: { killNextImagesOf: { [uuidOf(lab(3), 'master1')]: 1 } } } });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `retry-off-${taskQueue}`,
          args: [fast(sim, { imageAttempts: 1 })],
        });
        const f = await failureOf(handle.result());
        assert.equal(f.type, 'OpenStackResourceFailedError');
        assert.match(f.message, /the image of master1 .* is killed/);
        const p = await handle.query(progressQuery);
        assert.deepEqual(liveImages(sim, p.snapId), [], 'no image of the set is left');
        assert.equal(requests(sim, 'compute.servers.createImage'), 3, 'nothing taken again');
        assert.equal(p.imageRetries?.length ?? 0, 0);
      },
      scenario,
    );
  });

  test('a VM started between two attempts: the run fails saying consistency is lost, and no image is left', async () => {
    const scenario = lab(3, { cloud: { faults: { killNextImagesOf: { [uuidOf(lab(3), 'master2')]: 1 } } } });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        // A long backoff: time only skips while the test awaits the result, so the VM is started during it.
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `retry-boot-${taskQueue}`,
          args: [fast(sim, { imageRetryDelay: '1h' })],
        });
        await waitFor('the retry of master2 to be scheduled', async () => ((await handle.query(progressQuery)).imageRetries?.length ?? 0) > 0, {
          retryErrors: true,
        });
        const client = await simDeps(sim).openstack.client();
        await client.compute.startServer(uuidOf(scenario, 'master1'));
        await waitFor('master1 to be ACTIVE in Nova', () => sim.cloud.servers().find((s) => s.id === uuidOf(scenario, 'master1'))?.status === 'ACTIVE');
        const createsBefore = requests(sim, 'compute.servers.createImage');
        const f = await failureOf(handle.result());
        assert.equal(f.type, 'ConsistencyLostError');
        assert.match(f.message, /consistency lost: master1 is ACTIVE/);
        const p = await handle.query(progressQuery);
        assert.equal(p.phase, 'failed');
        assert.deepEqual(liveImages(sim, p.snapId), [], 'cleanup deleted every image of the set');
        assert.equal(requests(sim, 'compute.servers.createImage'), createsBefore, 'no snapshot taken after the VM was started');
        assert.equal(p.failure?.finalServerStatus?.master1, 'ACTIVE', 'the report reads the real state from Nova');
      },
      scenario,
    );
  });

  test('a lab a failed capture left SHUTOFF: a new run refuses untouched naming the retry, or captures it as it is when the cluster is old enough', async () => {
    const scenario = lab(3, { cloud: { faults: { killImagesOfServers: [uuidOf(lab(3), 'master1')] } } });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const first = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `left-off-1-${taskQueue}`,
          args: [fast(sim, { imageAttempts: 1 })],
        });
        await failureOf(first.result());
        for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF');
        sim.cloud.setFaults({ killImagesOfServers: [] });
        sim.cloud.resetCounters();
        const commandsBefore = sim.controller.commands().length;

        const refused = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `left-off-2-${taskQueue}`, args: [fast(sim)] });
        const f = await failureOf(refused.result());
        assert.equal(f.type, 'PreflightError');
        assert.match(f.message, /every VM of the lab is SHUTOFF/);
        assert.match(f.message, new RegExp(`snapset retry ${STACK}`), 'names the retry');
        assert.match(f.message, /prepare\.clusterCreatedAt/, 'and the other way');
        assert.equal(requests(sim, 'compute.servers.createImage'), 0, 'nothing imaged');
        assert.equal(sim.controller.commands().length, commandsBefore, 'no SSH command');

        const asItIs = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `left-off-3-${taskQueue}`,
          args: [fast(sim, {}, { prepare: { stablePeriod: '1s', clusterCreatedAt: '2026-01-01T00:00:00Z' } })],
        });
        const r = await asItIs.result();
        assertCompleteSet(sim, r.snapId, 3);
        assert.ok(
          r.warnings?.some((w) => /capturing the lab as it is/.test(w)),
          `says so: ${JSON.stringify(r.warnings)}`,
        );
        assert.ok(!r.phasesRun.includes('preparing-cluster'), 'the nodes were not prepared');
        assert.equal(sim.controller.commands().length, commandsBefore, 'nothing sent to the controller');
      },
      scenario,
    );
  });
});

describe('Reset is a retry (dev server + simulator)', () => {
  const t = useTemporal('dev-server');

  /** A run of `scenario`'s stack failed by a killed snapshot (imageAttempts 1): the lab is left SHUTOFF. */
  async function failedCapture(sim: Simulator, taskQueue: string, stackName: string) {
    const workflowId = `snapset-${stackName}-${taskQueue}`;
    const failed = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId, args: [fast(sim, { imageAttempts: 1 })] });
    await failureOf(failed.result());
    return { workflowId, failed };
  }

  /** What the Web UI's Reset does: a new run of `workflowId` from the workflow task `eventId`. */
  async function resetTo(workflowId: string, runId: string, eventId: number, reason: string): Promise<string> {
    const r = await t.env.client.workflowService.resetWorkflowExecution({
      namespace: t.env.namespace ?? 'default',
      workflowExecution: { workflowId, runId },
      reason,
      workflowTaskFinishEventId: Long.fromNumber(eventId),
      requestId: randomUUID(),
    });
    return r.runId!;
  }

  /** The ID of the WorkflowTaskCompleted event whose commands scheduled the first `captureImages`. */
  async function captureResetPoint(handle: WorkflowHandle): Promise<number> {
    const history = await handle.fetchHistory();
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'captureImages');
    assert.ok(scheduled, 'the failed run got to the capture');
    return Number(scheduled.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId);
  }

  test('one snapshot killed once: taken again, the run completes with exactly one active image per VM', async () => {
    const scenario = lab(6, { stackName: `hs-once-${randomUUID().slice(0, 6)}`, cloud: { faults: { killNextImagesOf: { [uuidOf(lab(6), 'master3')]: 1 } } } });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `retry-once-${taskQueue}`,
          args: [fast(sim, { imageRetryDelay: '1s' })],
        });
        const result = await handle.result();
        await recordHistory(handle.workflowId, handle.firstExecutionRunId, 'create-snapset-image-retried.json');
        assertCompleteSet(sim, result.snapId, 6);
        // From the cloud's side: 7 snapshots (one of them killed), the killed image deleted.
        assert.equal(requests(sim, 'compute.servers.createImage'), 7);
        assert.equal(requests(sim, 'image.images.delete'), 1, 'only the killed image was deleted');
        const killed = (sim.cloud.images() as SimImage[]).filter(
          (i) => i[SNAP_ID_PROPERTY] === result.snapId && i.name === `hotstack-master3-snapshot-${result.snapId}` && i.id !== result.images.master3!.imageId,
        );
        assert.ok(
          killed.every((i) => i.status === 'deleted'),
          `the killed image is gone: ${JSON.stringify(killed.map((i) => i.status))}`,
        );
        for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF', `${s.name} stayed SHUTOFF`);
        // The retry is recorded in the result and the progress.
        assert.equal(result.imageRetries?.length, 1);
        assert.equal(result.imageRetries![0]!.instance, 'master3');
        assert.equal(result.imageRetries![0]!.attempt, 2);
        assert.equal(result.imageRetries![0]!.of, 3);
        assert.match(result.imageRetries![0]!.reason, /killed/);
        const p = await handle.query(progressQuery);
        assert.equal(p.phase, 'completed');
        assert.deepEqual(p.imageRetries, result.imageRetries);
      },
      scenario,
    );
  });

  test('reset of a failed run to its capture finishes the set, and a second run meanwhile is refused naming the reset run', async () => {
    const scenario = lab(4, {
      stackName: `hs-reset-${randomUUID().slice(0, 6)}`,
      cloud: { latencies: { snapshotMs: 300_000 }, faults: { killImagesOfServers: [uuidOf(lab(4), 'master2')] } },
    });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const { workflowId, failed } = await failedCapture(sim, taskQueue, scenario.stackName!);
        const before = await failed.query(progressQuery);
        assert.deepEqual(liveImages(sim, before.snapId), [], 'the failed run left no image');
        for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF', 'and the lab shut down');

        // The cause is fixed; the run is reset to the task that scheduled the capture (the Web UI's Reset).
        sim.cloud.setFaults({ killImagesOfServers: [] });
        const eventId = await captureResetPoint(failed);
        const runId = await resetTo(workflowId, failed.firstExecutionRunId, eventId, 'test: the snapshot fault is fixed');
        const reset = t.env.client.workflow.getHandle(workflowId, runId);

        // The reset run holds the stack before it changes anything…
        const lock = t.env.client.workflow.getHandle(stackLockWorkflowId(scenario.stackName!));
        await waitFor(
          'the reset run to hold the stack lock',
          async () => {
            const d = await lock.describe();
            return d.status.name === 'RUNNING' && (d.memo as { holderRunId?: string } | undefined)?.holderRunId === runId;
          },
          { retryErrors: true },
        );
        // …so a second run of the stack is refused, untouched, naming it.
        const second = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `second-${taskQueue}`, args: [fast(sim)] });
        const refused = await failureOf(second.result());
        assert.equal(refused.type, 'StackLockedError');
        assert.match(refused.message, new RegExp(`workflow ${workflowId}`), `names the reset run: ${refused.message}`);

        const result = await reset.result();
        await recordHistory(workflowId, runId, 'create-snapset-reset-started-lock.json');
        // In the reset run's history, the lock is taken again before the capture is scheduled.
        const events = (await reset.fetchHistory()).events!;
        const resetAt = events.findIndex((e) => e.workflowTaskFailedEventAttributes);
        const steps = historySteps(events as HistoryEventLike[]);
        const relock = steps.find((s) => s.index > resetAt && s.name === 'takeStackLock')?.index ?? -1;
        const capture = steps.find((s) => s.index > resetAt && s.name === 'captureImages')?.index ?? -1;
        assert.ok(resetAt > 0 && relock > resetAt && capture > relock, `lock taken again (event ${relock}) before the capture (event ${capture})`);
        assertCompleteSet(sim, result.snapId, 4);
        assert.equal(requests(sim, 'compute.servers.createImage'), 8, 'the failed run and the reset run: 4 each');
        const p = await reset.query(progressQuery);
        assert.equal(p.phase, 'completed');
        assert.equal((await lock.describe()).status.name, 'TERMINATED', 'the lock released at the end');
      },
      scenario,
      // No workflow cache: every workflow task replays the run's whole history on a real worker, with
      // the reset run's own run ID — where it took the lock again must replay at the same point.
      { maxCachedWorkflows: 0 },
    );
  });

  test('reset of a failed capture to its first workflow task: preflight refuses untouched and names the reset point to use', async () => {
    const scenario = lab(3, { stackName: `hs-reset0-${randomUUID().slice(0, 6)}`, cloud: { faults: { killImagesOfServers: [uuidOf(lab(3), 'master1')] } } });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const { workflowId, failed } = await failedCapture(sim, taskQueue, scenario.stackName!);
        const events = (await failed.fetchHistory()).events!;
        const first = Number(events.find((e) => e.workflowTaskCompletedEventAttributes)!.eventId);
        const creates = requests(sim, 'compute.servers.createImage');
        const commands = sim.controller.commands().length;
        const runId = await resetTo(workflowId, failed.firstExecutionRunId, first, 'test: reset to the start');
        const f = await failureOf(t.env.client.workflow.getHandle(workflowId, runId).result());
        assert.equal(f.type, 'PreflightError');
        assert.match(f.message, /every VM of the lab is SHUTOFF/);
        assert.match(f.message, /the Web UI's Reset to the workflow task that scheduled captureImages/);
        assert.equal(requests(sim, 'compute.servers.createImage'), creates, 'nothing imaged');
        assert.equal(sim.controller.commands().length, commands, 'nothing sent to the controller');
        for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF');
        assert.equal(
          (await t.env.client.workflow.getHandle(stackLockWorkflowId(scenario.stackName!)).describe()).status.name,
          'TERMINATED',
          'the stack is free again: the lock released',
        );
      },
      scenario,
    );
  });

  test('the prune child fails after verification: the run completes with a warning and the set stays', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        // An older set, then a run whose prune child deletes it slowly and is terminated meanwhile.
        const old = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `prune-old-${taskQueue}`, args: [fast(sim)] });
        await old.result();
        sim.cloud.setFaults({ endpoints: { 'image.images.delete': { latencyMs: 500_000 } } });
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `prune-fails-${taskQueue}`,
          args: [fast(sim, {}, { prepare: { enabled: false }, retention: { keep: 1 } })],
        });
        await waitFor('verification to pass', async () => (await handle.query(progressQuery)).phasesRun.includes('pruning'), { retryErrors: true });
        const pruneId = `${handle.workflowId}-prune`;
        await waitFor('the prune child to start', async () => (await t.env.client.workflow.getHandle(pruneId).describe()).status.name === 'RUNNING', {
          retryErrors: true,
        });
        await t.env.client.workflow.getHandle(pruneId).terminate('test: a retention child that fails');
        const r = await handle.result();
        assertCompleteSet(sim, r.snapId, 2);
        assert.match(r.retention?.error ?? '', /terminated|a retention child that fails/i);
        assert.ok(
          r.warnings?.some((w) => /retention failed/.test(w)),
          `the warning is in the result: ${JSON.stringify(r.warnings)}`,
        );
      },
      lab(2, { stackName: `hs-prune-${randomUUID().slice(0, 6)}` }),
    );
  });
  test('cancelled during pruning: the run ends cancelled, and the verified set is kept', async () => {
    const scenario = lab(2, { stackName: `hs-cancel-${randomUUID().slice(0, 6)}` });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        // An older complete set, then a run whose prune deletes it slowly.
        const old = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `old-${taskQueue}`, args: [fast(sim)] });
        const oldSet = (await old.result()).snapId;
        sim.cloud.setFaults({ endpoints: { 'image.images.delete': { latencyMs: 500_000 } } });
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `cancel-prune-${taskQueue}`,
          args: [fast(sim, {}, { prepare: { enabled: false }, retention: { keep: 1 } })],
        });
        await waitFor('the run to be pruning', async () => (await handle.query(progressQuery)).phase === 'pruning', { retryErrors: true });
        await handle.cancel();
        await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
        const p = await handle.query(progressQuery);
        assert.equal(p.phase, 'cancelled');
        assert.match(p.details, /the set is complete and kept/);
        assertCompleteSet(sim, p.snapId!, 2);
        assert.ok(liveImages(sim, oldSet).length <= 2, 'the older set is as prune left it');
      },
      scenario,
    );
  });
});
