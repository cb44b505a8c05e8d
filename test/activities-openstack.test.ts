import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { withFailureMapping } from '../src/activities/failures.js';
import { createOpenstackActivities } from '../src/activities/openstack.js';
import {
  activityEnv,
  CONTROLLER_UUID,
  INSTANCES,
  MASTER0_UUID,
  MASTER1_UUID,
  runIn,
  runOnce,
  runWithRetries,
  startSim,
  type SimFixture,
} from './fixtures/openstack/sim.js';
import { waitFor } from './helpers/wait.js';

let f: SimFixture;
let acts: ReturnType<typeof createOpenstackActivities>;

const ALL = [CONTROLLER_UUID, MASTER0_UUID, MASTER1_UUID];

/** The six seed tags of one instance. */
function seedTags(name: string, snapId: string): string[] {
  const inst = INSTANCES[name]!;
  return ['hotstack', 'hotstack-snapset', `name=${name}`, `role=${inst.role}`, `snap_id=${snapId}`, `mac_address=${inst.mac_address}`];
}

function nameOf(uuid: string): string {
  return Object.entries(INSTANCES).find(([, i]) => i.uuid === uuid)![0];
}

function metadata(snapId: string) {
  return { hotstack_snap_id: snapId, hotstack_workflow_id: 'snapset-test', hotstack_set_size: '3' };
}

async function rejectsWith(p: Promise<unknown>, type: string, nonRetryable: boolean): Promise<ApplicationFailure> {
  let caught: unknown;
  await assert.rejects(p, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.type, type, caught.message);
  assert.equal(caught.nonRetryable, nonRetryable);
  return caught;
}

/** All images of a snap id, straight from the simulator (not through the code under test). */
function simImagesOf(snapId: string) {
  return f.sim.images().filter((i) => i.hotstack_snap_id === snapId);
}

void describe('OpenStack activities (MockActivityEnvironment, simulator over HTTP)', () => {
  before(async () => {
    // A snapshot takes ~120 ms: long enough for a second attempt to find the server busy.
    f = await startSim({ latencies: { snapshotMs: 60_000, pendingUploadMs: 20_000, uploadMs: 40_000 } });
    // As the worker wires them: typed errors become ApplicationFailures.
    acts = withFailureMapping(createOpenstackActivities({ openstack: f.provider }));
  });
  after(async () => {
    await f.close();
  });
  beforeEach(() => {
    f.sim.setFaults({}, 'replace');
  });

  void test('getServerStatuses: statuses, and NOT_FOUND for a missing server', async () => {
    const { env } = activityEnv();
    const missing = '00000000-0000-4000-8000-000000000001';
    const r = await runIn(env, acts.getServerStatuses, { uuids: [MASTER0_UUID, missing] });
    assert.equal(r.statuses[MASTER0_UUID], 'ACTIVE');
    assert.equal(r.statuses[missing], 'NOT_FOUND');
    assert.equal(r.servers[MASTER0_UUID]!.vmState, 'active');
  });

  void test('bad input is a non-retryable ValidationError naming the field', async () => {
    const { env } = activityEnv();
    const e = await rejectsWith(runIn(env, acts.getServerStatuses, { uuids: ['not-a-uuid'] }), 'ValidationError', true);
    assert.match(e.message, /uuids\[0\]: expected a UUID/);
    await rejectsWith(
      runIn(env, acts.createServerImage, { uuid: MASTER0_UUID, imageName: 'x', metadata: {} }),
      'ValidationError',
      true,
    );
    await rejectsWith(runIn(env, acts.getServerStatuses, { cloud: 'nope', uuids: [MASTER0_UUID] }), 'CloudConfigError', true);
  });

  void test('waitServersShutoff heartbeats until every guest shut down from inside is SHUTOFF', async () => {
    const { env, heartbeats } = activityEnv();
    f.sim.compute.guestShutdown(MASTER0_UUID, 30);
    f.sim.compute.guestShutdown(MASTER1_UUID, 60);
    f.sim.compute.guestShutdown(CONTROLLER_UUID, 10);
    const r = await runIn(env, acts.waitServersShutoff, { uuids: ALL, timeoutSeconds: 10, pollSeconds: 0.01 });
    assert.deepEqual(Object.values(r.statuses), ['SHUTOFF', 'SHUTOFF', 'SHUTOFF']);
    assert.ok(heartbeats.length >= 2);
    assert.ok((heartbeats[0] as { statuses: Record<string, string> }).statuses);
    assert.equal(f.sim.compute.serverStatus(MASTER0_UUID), 'SHUTOFF');
  });

  void test('waitServersShutoff: a missing server fails for good; running out of time too', async () => {
    const { env } = activityEnv();
    await rejectsWith(
      runIn(env, acts.waitServersShutoff, { uuids: ['00000000-0000-4000-8000-000000000002'], names: { '00000000-0000-4000-8000-000000000002': 'master7' }, timeoutSeconds: 1, pollSeconds: 0.01 }),
      'OpenStackResourceFailedError',
      true,
    ).then((e) => assert.match(e.message, /master7 \(server 00000000-0000-4000-8000-000000000002\) is gone from Nova/));
    const s2 = await startSim({}, { instances: { solo: { uuid: '11111111-2222-4333-8444-555555555555', role: 'worker', mac_address: 'fa:16:3e:00:00:01' } } });
    try {
      const a2 = withFailureMapping(createOpenstackActivities({ openstack: s2.provider }));
      const e = await rejectsWith(
        runOnce(a2.waitServersShutoff, { uuids: ['11111111-2222-4333-8444-555555555555'], timeoutSeconds: 0.05, pollSeconds: 0.01 }),
        'OpenStackWaitTimeoutError',
        true,
      );
      assert.deepEqual(e.details?.[0], {
        resource: 'server',
        lastStatuses: { '11111111-2222-4333-8444-555555555555': 'ACTIVE' },
        timeoutSeconds: 0.05,
        wanted: 'SHUTOFF',
      });
      // stopServers is idempotent: a second call skips the stopped server.
      const stop1 = await runOnce(a2.stopServers, { uuids: ['11111111-2222-4333-8444-555555555555'] });
      assert.deepEqual(stop1.stopped, ['11111111-2222-4333-8444-555555555555']);
      await runOnce(a2.waitServersShutoff, { uuids: ['11111111-2222-4333-8444-555555555555'], timeoutSeconds: 5, pollSeconds: 0.01 });
      const stop2 = await runOnce(a2.stopServers, { uuids: ['11111111-2222-4333-8444-555555555555'] });
      assert.deepEqual(stop2, { stopped: [], alreadyShutoff: ['11111111-2222-4333-8444-555555555555'] });
      assert.equal(s2.sim.counters()['compute.servers.stop']?.requests, 1);
      // startServers likewise.
      const solo = '11111111-2222-4333-8444-555555555555';
      assert.deepEqual(await runOnce(a2.startServers, { uuids: [solo] }), { started: [solo], alreadyActive: [] });
      await runOnce(a2.getServerStatuses, { uuids: [solo] });
      await waitFor('the server ACTIVE again', () => s2.sim.compute.serverStatus(solo) === 'ACTIVE', { intervalMs: 5 });
      assert.deepEqual(await runOnce(a2.startServers, { uuids: [solo] }), { started: [], alreadyActive: [solo] });
    } finally {
      await s2.close();
    }
  });

  void test('createServerImage retried after the cloud accepted the first request creates exactly one image', async () => {
    const snap = 'retry-01';
    // The first createImage takes effect, then its answer is lost (connection reset).
    f.sim.setFaults({ endpoints: { 'compute.servers.createImage': { dropNext: 1 } } });
    const input = { uuid: MASTER0_UUID, imageName: `hotstack-master0-snapshot-${snap}`, metadata: metadata(snap) };
    const retries: string[] = [];
    const { result, attempts } = await runWithRetries(acts.createServerImage, input, { onRetry: (e) => retries.push(e.type ?? '') });
    assert.equal(attempts, 2);
    assert.deepEqual(retries, ['OpenStackNetworkError']);
    assert.equal(result.created, false);
    const images = simImagesOf(snap);
    assert.equal(images.length, 1);
    assert.equal(images[0]!.id, result.imageId);
    assert.equal(f.sim.counters()['compute.servers.createImage']?.requests, 1);
    // A third run (a re-run activity) still makes no second image.
    const again = await runOnce(acts.createServerImage, input);
    assert.deepEqual([again.imageId, again.created], [result.imageId, false]);
    assert.equal(simImagesOf(snap).length, 1);
    await runOnce(acts.waitImageActive, { imageId: result.imageId, timeoutSeconds: 10, pollSeconds: 0.01 });
  });

  void test('createServerImage: a 409 from a busy server (an earlier attempt snapshotting) finds that image', async () => {
    const snap = 'busy-409';
    const input = { uuid: MASTER1_UUID, imageName: `hotstack-master1-snapshot-${snap}`, metadata: metadata(snap) };
    const c = await f.provider.client();
    // An earlier attempt's createImage is still on its way when this attempt looks (and finds nothing).
    f.sim.setFaults({ endpoints: { 'compute.servers.createImage': { latencyMs: 50_000 } } }); // 50 ms
    const earlier = c.compute.createImage(MASTER1_UUID, input.imageName, input.metadata);
    await new Promise((r) => setTimeout(r, 5));
    const r = await runOnce(acts.createServerImage, input);
    const { imageId } = await earlier;
    assert.equal(f.sim.counters()['compute.servers.createImage']?.byStatus['409'], 1);
    assert.deepEqual([r.imageId, r.created], [imageId, false]);
    assert.equal(simImagesOf(snap).length, 1);
    f.sim.setFaults({}, 'replace');
    await runOnce(acts.waitImageActive, { imageId, timeoutSeconds: 10, pollSeconds: 0.01 });
  });

  void test('waitImageActive fails fast and for good on a killed image', async () => {
    const snap = 'killed-1';
    f.sim.setFaults({ killImagesOfServers: [CONTROLLER_UUID] });
    const { env } = activityEnv();
    const created = await runIn(env, acts.createServerImage, {
      uuid: CONTROLLER_UUID,
      imageName: `hotstack-controller-snapshot-${snap}`,
      metadata: metadata(snap),
    });
    const started = Date.now();
    const e = await rejectsWith(
      runIn(env, acts.waitImageActive, { imageId: created.imageId, timeoutSeconds: 600, pollSeconds: 0.01 }),
      'OpenStackResourceFailedError',
      true,
    );
    assert.ok(Date.now() - started < 60_000);
    assert.deepEqual(e.details?.[0], { resource: 'image', id: created.imageId, status: 'killed' });
    // A deleted image (404) is a failure too, not a retry.
    await runOnce(acts.deleteImages, { imageIds: [created.imageId] });
    await rejectsWith(
      runOnce(acts.waitImageActive, { imageId: created.imageId, timeoutSeconds: 5, pollSeconds: 0.01 }),
      'OpenStackResourceFailedError',
      true,
    );
  });

  void test('waitImageActive heartbeats the status and honours cancellation', async () => {
    const s = await startSim({ latencies: { uploadMs: 10_000_000 } }); // 10 s in `saving`
    try {
      const a = withFailureMapping(createOpenstackActivities({ openstack: s.provider }));
      const created = await runOnce(a.createServerImage, {
        uuid: MASTER0_UUID,
        imageName: 'hotstack-master0-snapshot-cancel',
        metadata: metadata('cancel'),
      });
      const { env, heartbeats } = activityEnv();
      const p = runIn(env, a.waitImageActive, { imageId: created.imageId, timeoutSeconds: 600, pollSeconds: 0.01 });
      await waitFor('three heartbeats', () => heartbeats.length >= 3, { intervalMs: 5 });
      env.cancel();
      await assert.rejects(p, (err) => err instanceof CancelledFailure);
      const statuses = heartbeats.map((h) => (h as { status: string }).status);
      assert.ok(statuses.every((st) => ['queued', 'saving'].includes(st)), statuses.join());
    } finally {
      await s.close();
    }
  });

  void test('tagImage: the six seed tags, idempotent; listSnapsetImages and deleteImages', async () => {
    const snap = 'tags-six';
    const created = await runOnce(acts.createServerImage, {
      uuid: MASTER1_UUID,
      imageName: `hotstack-master1-snapshot-${snap}`,
      metadata: metadata(snap),
    });
    const tags = seedTags('master1', snap);
    const first = await runOnce(acts.tagImage, { imageId: created.imageId, tags });
    assert.deepEqual(first.added, tags);
    const puts = f.sim.counters()['image.tags.add']!.requests;
    const second = await runOnce(acts.tagImage, { imageId: created.imageId, tags });
    assert.deepEqual(second.added, []);
    assert.equal(f.sim.counters()['image.tags.add']!.requests, puts);
    assert.deepEqual([...simImagesOf(snap)[0]!.tags as string[]].sort(), [...tags].sort());

    const listed = await runOnce(acts.listSnapsetImages, { snapId: snap });
    assert.equal(listed.images.length, 1);
    assert.deepEqual(listed.images[0]!.properties, metadata(snap));
    assert.equal(listed.images[0]!.id, created.imageId);
    assert.ok(listed.images[0]!.created_at);
    const all = await runOnce(acts.listSnapsetImages, {});
    assert.ok(all.images.some((i) => i.id === created.imageId));

    const del = await runOnce(acts.deleteImages, { imageIds: [created.imageId, '00000000-0000-4000-8000-00000000dead'] });
    assert.deepEqual(del, { deleted: [created.imageId], alreadyGone: ['00000000-0000-4000-8000-00000000dead'] });
    const again = await runOnce(acts.deleteImages, { imageIds: [created.imageId] });
    assert.deepEqual(again, { deleted: [], alreadyGone: [created.imageId] });
  });

  void test('with 30 % injected 5xx (some after the cloud acted) create → wait → tag still ends with the right images', async () => {
    const snap = 'flaky-30';
    f.sim.setFaults({
      seed: 7,
      endpoints: { '*': { errorRate: 0.3, errorAfterAcceptRate: 0.1, errorStatus: 503 } },
    });
    const retried: Record<string, number> = {};
    const onRetry = (e: ApplicationFailure) => {
      retried[e.type ?? '?'] = (retried[e.type ?? '?'] ?? 0) + 1;
    };
    const results = await Promise.all(
      ALL.map(async (uuid) => {
        const name = nameOf(uuid);
        const { result: img } = await runWithRetries(
          acts.createServerImage,
          { uuid, imageName: `hotstack-${name}-snapshot-${snap}`, metadata: metadata(snap) },
          { onRetry },
        );
        await runWithRetries(acts.waitImageActive, { imageId: img.imageId, timeoutSeconds: 30, pollSeconds: 0.01 }, { onRetry });
        await runWithRetries(acts.tagImage, { imageId: img.imageId, tags: seedTags(name, snap) }, { onRetry });
        return { name, imageId: img.imageId };
      }),
    );
    f.sim.setFaults({}, 'replace');
    const counters = f.sim.counters();
    const injected = Object.values(counters).reduce((n, c) => n + c.injected.error + c.injected.errorAfterAccept, 0);
    assert.ok(injected > 0, 'faults were injected');
    assert.ok((retried.OpenStackServerError ?? 0) > 0, JSON.stringify(retried));
    const images = simImagesOf(snap);
    assert.equal(images.length, 3, 'exactly one image per instance');
    for (const { name, imageId } of results) {
      const img = images.find((i) => i.id === imageId)!;
      assert.equal(img.status, 'active');
      assert.equal(img.name, `hotstack-${name}-snapshot-${snap}`);
      assert.deepEqual([...(img.tags as string[])].sort(), [...seedTags(name, snap)].sort());
    }
    const listed = await runOnce(acts.listSnapsetImages, { snapId: snap });
    assert.deepEqual(listed.images.map((i) => i.id).sort(), results.map((r) => r.imageId).sort());
  });
});
