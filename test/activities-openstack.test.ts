import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { withFailureMapping } from '../src/activities/failures.js';
import { createOpenstackActivities } from '../src/activities/openstack.js';
import { createSnapsetImageActivities } from '../src/activities/snapset-images.js';
import { COMPLETE_TAG } from '../src/shared/snapset/index.js';
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
import { pause, waitFor } from './helpers/wait.js';

let f: SimFixture;
let acts: ReturnType<typeof createOpenstackActivities>;
let sets: ReturnType<typeof createSnapsetImageActivities>;

const ALL = [CONTROLLER_UUID, MASTER0_UUID, MASTER1_UUID];

/** The six seed tags of one instance. */
function seedTags(name: string, snapId: string): string[] {
  const inst = INSTANCES[name]!;
  return ['hotstack', 'hotstack-snapset', `name=${name}`, `role=${inst.role}`, `snap_id=${snapId}`, `mac_address=${inst.mac_address}`];
}

function nameOf(uuid: string): string {
  return Object.entries(INSTANCES).find(([, i]) => i.uuid === uuid)![0];
}

/** createImage calls the simulator has answered so far (this file shares one simulator). */
function createImages(): number {
  return f.sim.counters()['compute.servers.createImage']?.requests ?? 0;
}

/** A captureImages input for these servers (instance names from the scenario). */
function captureInput(snapId: string, uuids: string[]) {
  return {
    snapId,
    properties: metadata(snapId),
    instances: Object.fromEntries(uuids.map((u) => [nameOf(u), { uuid: u, imageName: `hotstack-${nameOf(u)}-snapshot-${snapId}` }])),
    timeoutSeconds: 120,
    maxPollSeconds: 0.05,
  };
}

function metadata(snapId: string, setSize = 3): Record<string, string> {
  return { hotstack_snap_id: snapId, hotstack_workflow_id: 'snapset-test', hotstack_set_size: String(setSize) };
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
    sets = withFailureMapping(createSnapsetImageActivities({ openstack: f.provider }));
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
    const p = await rejectsWith(
      runIn(env, sets.captureImages, { snapId: 'bad-in', properties: {}, instances: { master0: { uuid: MASTER0_UUID, imageName: 'x' } }, timeoutSeconds: 10 }),
      'ValidationError',
      true,
    );
    assert.match(p.message, /properties\.hotstack_snap_id: must equal snapId/);
    await rejectsWith(runIn(env, acts.getServerStatuses, { cloud: 'nope', uuids: [MASTER0_UUID] }), 'CloudConfigError', true);
  });

  void test('waitServersShutoff heartbeats until every guest shut down from inside is SHUTOFF', async () => {
    const { env, heartbeats } = activityEnv();
    f.sim.compute.guestShutdown(MASTER0_UUID, 30);
    f.sim.compute.guestShutdown(MASTER1_UUID, 60);
    f.sim.compute.guestShutdown(CONTROLLER_UUID, 10);
    const r = await runIn(env, acts.waitServersShutoff, { uuids: ALL, timeoutSeconds: 120, pollSeconds: 0.01 });
    assert.deepEqual(Object.values(r.statuses), ['SHUTOFF', 'SHUTOFF', 'SHUTOFF']);
    assert.ok(heartbeats.length >= 2);
    assert.ok((heartbeats[0] as { statuses: Record<string, string> }).statuses);
    assert.equal(f.sim.compute.serverStatus(MASTER0_UUID), 'SHUTOFF');
  });

  void test('waitServersShutoff: a missing server fails for good; running out of time too', async () => {
    const { env } = activityEnv();
    await rejectsWith(
      runIn(env, acts.waitServersShutoff, {
        uuids: ['00000000-0000-4000-8000-000000000002'],
        names: { '00000000-0000-4000-8000-000000000002': 'master7' },
        timeoutSeconds: 1,
        pollSeconds: 0.01,
      }),
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
      await runOnce(a2.waitServersShutoff, { uuids: ['11111111-2222-4333-8444-555555555555'], timeoutSeconds: 120, pollSeconds: 0.01 });
      const stop2 = await runOnce(a2.stopServers, { uuids: ['11111111-2222-4333-8444-555555555555'] });
      assert.deepEqual(stop2, { stopped: [], alreadyShutoff: ['11111111-2222-4333-8444-555555555555'] });
      assert.equal(s2.sim.counters()['compute.servers.stop']?.requests, 1);
    } finally {
      await s2.close();
    }
  });

  void test('captureImages retried after the cloud accepted a createImage whose answer was lost makes exactly one image per VM', async () => {
    const snap = 'retry-01';
    // The first createImage takes effect, then its answer is lost (connection reset).
    f.sim.setFaults({ endpoints: { 'compute.servers.createImage': { dropNext: 1 } } });
    const input = captureInput(snap, [MASTER0_UUID]);
    const before = createImages();
    const retries: string[] = [];
    const { result, attempts } = await runWithRetries(sets.captureImages, input, { onRetry: (e) => retries.push(e.type ?? '') });
    assert.equal(attempts, 2);
    assert.deepEqual(retries, ['OpenStackNetworkError']);
    assert.equal(result.images.master0!.created, false, 'the second attempt found the image of the first');
    assert.deepEqual(
      simImagesOf(snap).map((i) => i.id),
      [result.images.master0!.imageId],
    );
    assert.equal(createImages() - before, 1, 'one createImage in all');
    // A re-run activity (a reset workflow) still makes no second image.
    const again = await runOnce(sets.captureImages, input);
    assert.deepEqual([again.images.master0!.imageId, again.images.master0!.created], [result.images.master0!.imageId, false]);
    assert.equal(simImagesOf(snap).length, 1);
  });

  void test('captureImages adopts the image an earlier attempt made (its server still snapshotting) instead of making a second', async () => {
    const snap = 'busy-409';
    const c = await f.provider.client();
    // An earlier attempt's createImage is under way (the server busy) when this attempt starts.
    const earlier = await c.compute.createImage(MASTER1_UUID, `hotstack-master1-snapshot-${snap}`, metadata(snap));
    const before = createImages();
    const r = await runOnce(sets.captureImages, captureInput(snap, [MASTER1_UUID]));
    assert.deepEqual([r.images.master1!.imageId, r.images.master1!.created], [earlier.imageId, false]);
    assert.deepEqual(
      simImagesOf(snap).map((i) => i.status),
      ['active'],
    );
    assert.equal(createImages(), before, 'no second createImage');
  });

  void test('captureImages heartbeats the images and honours cancellation', async () => {
    const s = await startSim({ latencies: { uploadMs: 10_000_000 } }); // 10 s in `saving`
    try {
      const a = withFailureMapping(createSnapsetImageActivities({ openstack: s.provider }));
      const { env, heartbeats } = activityEnv();
      const p = runIn(env, a.captureImages, captureInput('cancel', [MASTER0_UUID]));
      await waitFor('two heartbeats of a saving image', () => heartbeats.filter((h) => JSON.stringify(h).includes('"saving"')).length >= 2, { intervalMs: 5 });
      env.cancel();
      await assert.rejects(p, (err) => err instanceof CancelledFailure);
      const polls = s.sim.counters()['image.images.list']!.requests;
      await pause(500);
      assert.equal(s.sim.counters()['image.images.list']!.requests, polls, 'no poll after the cancellation');
    } finally {
      await s.close();
    }
  });

  void test('tagSnapset adds the six seed tags once; verifySnapset marks a sound set complete and refuses one that is not; cleanupSnapset deletes the set', async () => {
    const snap = 'tags-six';
    const { images } = await runOnce(sets.captureImages, captureInput(snap, ALL));
    const expected = Object.fromEntries(Object.entries(images).map(([name, i]) => [name, { imageId: i.imageId, tags: seedTags(name, snap) }]));
    const first = await runOnce(sets.tagSnapset, { snapId: snap, images: expected });
    assert.deepEqual(first.added, Object.fromEntries(Object.entries(expected).map(([n, e]) => [n, e.tags])));
    const patches = f.sim.counters()['image.images.update']!.requests;
    const second = await runOnce(sets.tagSnapset, { snapId: snap, images: expected });
    assert.deepEqual(Object.values(second.added).flat(), []);
    assert.equal(f.sim.counters()['image.images.update']!.requests, patches, 'nothing sent when every tag is there');

    // A set with one image less than hotstack_set_size says is not complete, whatever its tags.
    const short = { ...expected };
    delete short.controller;
    const c = await f.provider.client();
    await c.image.deleteImage(images.controller!.imageId);
    const refused = await rejectsWith(runOnce(sets.verifySnapset, { snapId: snap, images: short }), 'SnapsetVerificationError', true);
    assert.match(refused.message, /2 of 3 images/);
    assert.ok(
      simImagesOf(snap).every((i) => !(i.tags as string[]).includes(COMPLETE_TAG)),
      'a refused set is never marked',
    );

    const cleaned = await runOnce(sets.cleanupSnapset, { snapId: snap, knownImageIds: [images.controller!.imageId] });
    assert.deepEqual(cleaned.left, []);
    assert.deepEqual(simImagesOf(snap), []);
  });

  void test('with 30 % injected 5xx (some after the cloud acted) capture → tag → verify still ends with one complete image per VM', async () => {
    const snap = 'flaky-30';
    f.sim.setFaults({
      seed: 7,
      endpoints: { '*': { errorRate: 0.3, errorAfterAcceptRate: 0.1, errorStatus: 503 } },
    });
    const retried: Record<string, number> = {};
    const onRetry = (e: ApplicationFailure) => {
      retried[e.type ?? '?'] = (retried[e.type ?? '?'] ?? 0) + 1;
    };
    const { result } = await runWithRetries(sets.captureImages, captureInput(snap, ALL), { onRetry });
    const expected = Object.fromEntries(Object.entries(result.images).map(([name, i]) => [name, { imageId: i.imageId, tags: seedTags(name, snap) }]));
    await runWithRetries(sets.tagSnapset, { snapId: snap, images: expected }, { onRetry });
    await runWithRetries(sets.verifySnapset, { snapId: snap, images: expected }, { onRetry });
    f.sim.setFaults({}, 'replace');
    const counters = f.sim.counters();
    const injected = Object.values(counters).reduce((n, c) => n + c.injected.error + c.injected.errorAfterAccept, 0);
    assert.ok(injected > 0, 'faults were injected');
    assert.ok((retried.OpenStackServerError ?? 0) > 0, JSON.stringify(retried));
    const images = simImagesOf(snap);
    assert.equal(images.length, 3, 'exactly one image per instance');
    for (const [name, { imageId }] of Object.entries(expected)) {
      const img = images.find((i) => i.id === imageId)!;
      assert.equal(img.status, 'active');
      assert.equal(img.name, `hotstack-${name}-snapshot-${snap}`);
      assert.deepEqual([...(img.tags as string[])].sort(), [...seedTags(name, snap), COMPLETE_TAG].sort());
    }
  });
});
