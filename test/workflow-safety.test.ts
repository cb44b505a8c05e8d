/**
 * Safe on a real lab (issue #7), proven from the outside — the simulator's servers, images, request
 * counters and SSH command log — on the time-skipping server: check before touching, one run per
 * stack, nothing left behind, failures that say what went wrong.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { createActivities } from '../src/activities/index.js';
import { CloudsYamlClientProvider } from '../src/openstack/index.js';
import { SshConnector } from '../src/cluster/index.js';
import { COMPLETE_TAG } from '../src/shared/snapset/index.js';
import { progressQuery, type SnapsetProgress } from '../src/shared/workflow-api.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { historySteps, type HistoryEventLike } from '../src/cli/retry-plan.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { labOf } from './helpers/labs.js';
import { pause, waitFor } from './helpers/wait.js';
import { createTestWorker, failureOf, FAST_SCENARIO, simDeps, uniqueTaskQueue, useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';

type SimImage = { id: string; name: string; status: string; tags: string[]; hotstack_snap_id?: string };

/** What the lab saw that changes anything: Nova actions, Glance writes, cordon/debug/shutdown over SSH. */
function changesSeen(sim: Simulator): string[] {
  const counters = sim.cloud.counters();
  const writes = Object.entries(counters)
    .filter(([ep, c]) => c.requests > 0 && /servers\.(createImage|stop|start|action)|images\.delete|tags\.(add|delete)/.test(ep))
    .map(([ep, c]) => `${ep} x${c.requests}`);
  const ssh = sim.controller
    .commands()
    .map((c) => c.command)
    .filter((c) => /cordon|uncordon|debug|shutdown/.test(c));
  return [...writes, ...ssh];
}

function allActive(sim: Simulator): void {
  for (const s of sim.cloud.servers()) assert.equal(s.status, 'ACTIVE', `${s.name} untouched`);
}

/** Waits until the run's progress satisfies `ok`; the query itself may fail until a worker picked the run up. */
function waitForPhase(
  handle: { query: (q: typeof progressQuery) => Promise<SnapsetProgress> },
  ok: (p: SnapsetProgress) => boolean,
  what: string,
): Promise<SnapsetProgress> {
  let last: SnapsetProgress | undefined;
  return waitFor(
    what,
    async () => {
      last = await handle.query(progressQuery);
      return ok(last) ? last : undefined;
    },
    { retryErrors: true, seen: () => (last ? `phase ${last.phase}: ${last.details}` : 'no progress yet') },
  );
}

/** Every string in a history, payloads (JSON bytes) decoded. */
function historyText(value: unknown, out: string[] = []): string {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const v of value) historyText(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) historyText(v, out);
  return out.join('\n');
}

describe('safe on a real lab (time-skipping server + simulator)', () => {
  const t = useTemporal('time-skipping');
  const tmp = useTempDir('snapset-safety-');

  test('a UUID that is not in Nova: preflight names the instance, and the lab is untouched', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const input = simInput(sim);
      const bad = '00000000-0000-4000-8000-00000000dead';
      input.snapsetData.instances.master0 = { ...input.snapsetData.instances.master0!, uuid: bad };
      const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `bad-uuid-${taskQueue}`, args: [input] });
      const f = await failureOf(handle.result());
      assert.equal(f.type, 'PreflightError');
      assert.match(f.message, new RegExp(`instance master0: no server ${bad} in Nova`));
      assert.match(f.message, /check snapsetData\.instances\.master0\.uuid/, 'says what to do');
      const p = await handle.query(progressQuery);
      assert.equal(p.phase, 'failed');
      assert.match(p.details, /nothing outside was changed/);
      assert.deepEqual(changesSeen(sim), []);
      allActive(sim);
    });
  });

  test('a wrong password in clouds.yaml: preflight says the cloud refused it, before any SSH', async () => {
    const sim = await startSimulator(FAST_SCENARIO);
    try {
      const wrong = join(tmp.path, 'clouds-wrong.yaml');
      await writeFile(wrong, (await readFile(sim.cloud.cloudsYamlPath, 'utf8')).replaceAll(sim.cloud.cloud.password, 'not-the-password'));
      const taskQueue = uniqueTaskQueue('ts');
      const worker = await createTestWorker(t.env, {
        taskQueue,
        activities: createActivities({
          ...simDeps(sim),
          openstack: new CloudsYamlClientProvider({ timeoutMs: 10_000, lookup: { env: { OS_CLIENT_CONFIG_FILE: wrong, OS_CLOUD: sim.cloud.cloudName } } }),
        }),
      });
      await worker.runUntil(async () => {
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `bad-pw-${taskQueue}`, args: [simInput(sim)] });
        const f = await failureOf(handle.result());
        assert.equal(f.type, 'PreflightError');
        assert.match(f.message, /cloud auth: Keystone refused the credentials of cloud sim/);
        assert.ok(!f.message.includes('not-the-password'), 'the password is not echoed');
      });
      assert.deepEqual(changesSeen(sim), []);
      assert.equal(sim.controller.connectionCount(), 0, 'not even an SSH connection before the cloud passed');
      allActive(sim);
    } finally {
      await sim.close();
    }
  });

  test('no clouds.yaml on the worker: preflight names the search path problem and what to do', async () => {
    const sim = await startSimulator(FAST_SCENARIO);
    try {
      const taskQueue = uniqueTaskQueue('ts');
      const worker = await createTestWorker(t.env, {
        taskQueue,
        activities: createActivities({
          openstack: new CloudsYamlClientProvider({ lookup: { env: {}, cwd: tmp.path, home: tmp.path } }),
          ssh: new SshConnector(),
        }),
      });
      await worker.runUntil(async () => {
        const f = await failureOf(t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `no-clouds-${taskQueue}`, args: [simInput(sim)] }));
        assert.equal(f.type, 'PreflightError');
        assert.match(f.message, /clouds\.yaml: .*OS_CLIENT_CONFIG_FILE/);
      });
      assert.deepEqual(changesSeen(sim), []);
    } finally {
      await sim.close();
    }
  });

  test('a second run for the same stack under another workflow ID is refused at once, naming the first', async () => {
    // Nodes take a while to power off, so the first run is still busy when the second starts.
    const scenario = { ...FAST_SCENARIO, controller: { nodes: { 'master-0': { shutdownDelaySeconds: 300 } } } };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const first = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `snapset-first-${taskQueue}`, args: [simInput(sim)] });
        await waitForPhase(first, (p) => p.phasesRun.includes('preparing-cluster'), 'the first run to start preparing');
        const commandsBefore = sim.controller.commands().length;
        const second = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `schedule-like-${taskQueue}-2026-12-01T02:00:00Z`,
          args: [simInput(sim)],
        });
        const f = await failureOf(second.result());
        assert.equal(f.type, 'StackLockedError');
        assert.match(f.message, new RegExp(`stack hs-sno-1 is busy: workflow snapset-first-${taskQueue} \\(createSnapset\\)`));
        const history = await second.fetchHistory();
        const scheduled = historySteps(history.events! as HistoryEventLike[]).map((s) => s.name);
        assert.deepEqual(scheduled, ['takeStackLock'], 'the refused run only tried to take the lock');
        const result = await first.result();
        assert.ok(sim.controller.commands().length >= commandsBefore);
        const sets = new Set((sim.cloud.images() as SimImage[]).flatMap((i) => (i.hotstack_snap_id ? [i.hotstack_snap_id] : [])));
        assert.deepEqual([...sets], [result.snapId], 'one set, made by the first run');
        // The lock is free again: a third run of the (now SHUTOFF) lab takes a second set.
        const third = await t.env.client.workflow.execute(createSnapset, {
          taskQueue,
          workflowId: `third-${taskQueue}`,
          args: [simInput(sim, { prepare: { enabled: false } })],
        });
        assert.notEqual(third.snapId, result.snapId);
        assert.ok(third.warnings?.some((w) => /controller controller is already SHUTOFF/.test(w)));
      },
      scenario,
    );
  });

  test('a killed image with maxParallelImages 4 of 12 and imageAttempts 1: no new snapshot starts, every image of the set is deleted', async () => {
    const lab = labOf(12);
    const victim = Object.values(lab.instances!).find((i) => i.node === 'master-1')!.uuid;
    for (const i of Object.values(lab.instances!)) if (i.role !== 'controller') i.status = 'SHUTOFF';
    lab.cloud = { faults: { killImagesOfServers: [victim] } };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `kill-bounded-${taskQueue}`,
          args: [simInput(sim, { prepare: { enabled: false }, capture: { maxParallelImages: 4, shutoffPollInterval: '100ms', imageAttempts: 1 } })],
        });
        const f = await failureOf(handle.result());
        assert.equal(f.type, 'OpenStackResourceFailedError');
        assert.match(f.message, /the image of master1 .* is killed/);
        const created = sim.cloud.counters()['compute.servers.createImage']?.requests ?? 0;
        assert.ok(created >= 1 && created < 12, `the fan-out stopped launching (${created} createImage of 12)`);
        const p = await handle.query(progressQuery);
        const left = (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === p.snapId);
        assert.deepEqual(left, [], 'no image of the failed set is left');
        assert.equal(p.failure?.cleanup?.left.length, 0);
        assert.equal(p.failure?.cleanup?.deleted.length, created, 'the failure lists what it deleted');
        assert.match(p.details, /every image of set .* deleted/);
      },
      lab,
    );
  });

  test('cancelled while snapshots are in flight: in-flight calls settle, every image is deleted, polling stops', async () => {
    const lab = labOf(6, { cloud: { latencies: { uploadMs: 500_000 } } }); // 5 s of "saving" per image
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `cancel-fanout-${taskQueue}`, args: [simInput(sim)] });
        const p0 = await waitForPhase(
          handle,
          (p) => p.phase === 'creating-images' && (sim.cloud.counters()['compute.servers.createImage']?.requests ?? 0) === 6,
          'every snapshot to start',
        );
        await handle.cancel();
        await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
        const closed = sim.cloud.counters()['image.images.list']!.requests;
        const p = await handle.query(progressQuery);
        assert.equal(p.phase, 'cancelled');
        assert.deepEqual(
          (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === p0.snapId),
          [],
          'no image left',
        );
        assert.equal(sim.cloud.counters()['compute.servers.createImage']!.requests, 6, 'nothing new was created after the cancel');
        assert.match(p.details, /cancelled; changed before it stopped: .*; every image of set .* deleted \(6\); VMs now: 6 SHUTOFF/);
        await pause(3000);
        assert.equal(sim.cloud.counters()['image.images.list']!.requests, closed, 'no poll after the workflow closed');
      },
      lab,
    );
  });

  test('cancelled while waiting for SHUTOFF: no image, and the report reads the VMs from Nova', async () => {
    const scenario = { ...FAST_SCENARIO, controller: { nodes: { 'master-0': { shutdownDelaySeconds: 1000 } } } };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `cancel-shutoff-${taskQueue}`, args: [simInput(sim)] });
        await waitForPhase(handle, (p) => p.phase === 'waiting-shutoff', 'the SHUTOFF wait');
        await handle.cancel();
        await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
        const p = await handle.query(progressQuery);
        assert.equal(p.phase, 'cancelled');
        assert.equal(p.snapId, undefined);
        assert.equal(sim.cloud.counters()['compute.servers.createImage']?.requests ?? 0, 0);
        const actual = Object.fromEntries(sim.cloud.servers().map((s) => [s.name, s.status]));
        const byName = Object.fromEntries(
          Object.entries(sim.snapsetInput().snapsetData.instances).map(([n, i]) => [n, sim.cloud.servers().find((s) => s.id === i.uuid)!.status]),
        );
        assert.deepEqual(p.failure?.finalServerStatus, byName, `reported states are Nova's (${JSON.stringify(actual)})`);
        assert.match(p.details, /changed before it stopped: cordoned master-0; shutting down nodes master-0; controller controller shutdown sent/);
      },
      scenario,
    );
  });

  for (const c of [
    {
      phase: 'preparing-cluster' as const,
      scenario: { ...FAST_SCENARIO, controller: { stability: { unstableForSeconds: 100_000 } } },
      details: /cancelled; nothing outside was changed|cancelled; changed before it stopped: (uncordoned|cordoned)/,
    },
    {
      // Tagging held up by a slow Glance PATCH: the images exist, so cancelling deletes them. Tagging is a
      // local activity: the phase shows once its workflow task heartbeats (~8 s), so each PATCH takes 30 s.
      phase: 'tagging' as const,
      scenario: labOf(3, { cloud: { faults: { endpoints: { 'image.images.update': { latencyMs: 3_000_000 } } } } }),
      details: /cancelled; changed before it stopped: .*every image of set \S+ deleted \(3\)/,
    },
  ]) {
    test(`cancelled in ${c.phase}: the documented end state, no image left`, async () => {
      await withSimWorker(
        t.env,
        async ({ sim, taskQueue }) => {
          const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `cancel-${c.phase}-${taskQueue}`, args: [simInput(sim)] });
          await waitForPhase(handle, (p) => p.phase === c.phase, `phase ${c.phase}`);
          await pause(300);
          await handle.cancel();
          await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
          const p = await handle.query(progressQuery);
          assert.equal(p.phase, 'cancelled');
          assert.match(p.details, c.details);
          assert.deepEqual(
            (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id),
            [],
            'no image of any set is left',
          );
        },
        c.scenario,
      );
    });
  }

  test('a fault storm — 5xx, a 409 burst, expired tokens, lost answers — still ends with exactly one complete image per VM', async () => {
    const lab = labOf(6, {
      cloud: {
        faults: {
          seed: 11,
          endpoints: {
            'compute.*': { errorRate: 0.2 },
            'image.*': { errorRate: 0.2 },
            'compute.servers.createImage': { conflictNext: 3, dropNext: 2 },
            'image.tags.add': { dropNext: 3 },
          },
        },
      },
    });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `storm-${taskQueue}`, args: [simInput(sim)] });
        await waitForPhase(handle, (p) => p.phasesRun.includes('creating-images'), 'the capture to start');
        sim.cloud.expireTokens();
        const result = await handle.result();
        const ours = (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === result.snapId);
        assert.equal(ours.length, 6, 'retries and lost answers made no second image');
        assert.ok(ours.every((i) => i.status === 'active' && i.tags.includes(COMPLETE_TAG) && i.tags.length === 7));
        const c = sim.cloud.counters();
        const injected = Object.values(c).reduce((n, e) => n + e.injected.error + e.injected.conflict + e.injected.drop, 0);
        assert.ok(
          c['compute.servers.createImage']!.injected.drop === 2 && c['compute.servers.createImage']!.injected.conflict === 3,
          'the lost answers and the 409 burst really happened',
        );
        assert.ok(injected >= 10, `faults were injected (${injected})`);
      },
      lab,
    );
  });

  test('no secret in the history of a complete run: not the cloud password, not the SSH key', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `secrets-${taskQueue}`, args: [simInput(sim)] });
      await handle.result();
      const decoded = historyText(await handle.fetchHistory());
      assert.ok(decoded.includes(sim.snapsetInput().snapsetData.instances.master0!.uuid), 'payloads were decoded');
      const key = (await readFile(sim.controller.privateKeyFile, 'utf8')).split('\n').find((l) => l.length > 40 && !l.startsWith('-----'))!;
      for (const secret of [sim.cloud.cloud.password, sim.cloud.cloud.applicationCredential.secret, key]) {
        assert.ok(!decoded.includes(secret), 'a secret reached the history');
      }
    });
  });
});
