/**
 * Volume-aware SnapSets (issue 15), proven from the outside: the simulator's Cinder (through the
 * Block Storage API), its Glance images and request counters, and python-openstackclient.
 * - a snapshot-sno lab (controller + master0 with four data volumes): one snapshot per volume in the
 *   set, with the set's metadata, counted by the images, handed on by `latest`;
 * - a boot-from-volume lab: the snapshots Nova makes with the image are adopted into the set;
 * - a failed capture, a cancel in creating-images, `delete` and `prune --keep 1` leave no image and
 *   no volume snapshot of the removed set;
 * - a snapshot Cinder fails is taken again while the VMs stay SHUTOFF.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { createActivities } from '../src/activities/index.js';
import { readSet, readSnapsets } from '../src/openstack/snapset-store.js';
import type { OpenStackClient } from '../src/openstack/index.js';
import type { VolumeSnapshot } from '../src/openstack/volume.js';
import { blockDeviceSnapshotIds, selectLatest, SNAP_ID_PROPERTY } from '../src/shared/snapset/index.js';
import { progressQuery } from '../src/shared/workflow-api.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import type { ScenarioInput } from '../src/sim/scenario.js';
import { createSnapset, pruneSnapsets } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { ensurePyOpenStack } from './helpers/py-openstack.js';
import { failureOf, simDeps, useTemporal, withSimWorker } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

const STACK = 'hs-vol';
const vol = (n: number) => `0b1e0000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const CONTROLLER = '6f4512de-f744-4979-8ab2-45f5461e3100';
const MASTER0 = '7a5623ef-0855-4a8a-9bc3-56b6572f4100';
/** hotstack's snapshot-sno: master0 with the LVMS volume and three Cinder PV volumes, 20 GiB each. */
const SNO_VOLUMES = {
  'master0-lvms-vol0': { id: vol(1), size: 20, device: '/dev/vdb' },
  'master0-cinder-vol0': { id: vol(2), size: 20, device: '/dev/vdc' },
  'master0-cinder-vol1': { id: vol(3), size: 20, device: '/dev/vdd' },
  'master0-cinder-vol2': { id: vol(4), size: 20, device: '/dev/vde' },
};

function snoLab(over: Partial<ScenarioInput> = {}, master0: Record<string, unknown> = {}): ScenarioInput {
  return {
    stackName: STACK,
    timeScale: 0.01,
    instances: {
      controller: { uuid: CONTROLLER, role: 'controller', mac_address: 'fa:16:9e:81:f7:00' },
      master0: { uuid: MASTER0, role: 'ocp_master', mac_address: 'fa:16:9e:81:f7:10', node: 'master-0', volumes: SNO_VOLUMES, ...master0 },
    },
    ...over,
  } as ScenarioInput;
}

const fast = (sim: Simulator, capture: Record<string, unknown> = {}, over: Record<string, unknown> = {}) =>
  simInput(sim, { prepare: { stablePeriod: '1s' }, capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms', ...capture }, ...over });

const client = (sim: Simulator): Promise<OpenStackClient> => simDeps(sim).openstack.client();
const requests = (sim: Simulator, endpoint: string) => sim.cloud.counters()[endpoint]?.requests ?? 0;
const live = (snaps: VolumeSnapshot[]) => snaps.filter((v) => !['deleting', 'deleted'].includes(v.status));

/** The snapshots Cinder holds of a set (by metadata, through the Block Storage API), on their way out left out. */
async function setSnapshots(sim: Simulator, snapId: string | undefined): Promise<VolumeSnapshot[]> {
  if (!snapId) return [];
  const c = await client(sim);
  return live(await c.volume.listAllSnapshots({ metadata: { [SNAP_ID_PROPERTY]: snapId } }));
}

/** Every snapshot Cinder holds, whatever its metadata (a leak has none of ours). */
async function allSnapshots(sim: Simulator): Promise<VolumeSnapshot[]> {
  return live(await (await client(sim)).volume.listAllSnapshots());
}

function liveImages(sim: Simulator, snapId: string | undefined) {
  return (sim.cloud.images() as { id: string; status: string; [SNAP_ID_PROPERTY]?: string }[]).filter(
    (i) => i[SNAP_ID_PROPERTY] === snapId && !['deleted', 'pending_delete'].includes(i.status),
  );
}

describe('volume-aware SnapSets (time-skipping server + simulator)', () => {
  const t = useTemporal('time-skipping');

  test('a snapshot-sno lab: four volume snapshots in the set, with its metadata, counted by its images, handed on by latest', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const r = await t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `vol-sno-${taskQueue}`, args: [fast(sim)] });
        const snaps = await setSnapshots(sim, r.snapId);
        assert.equal(snaps.length, 4, 'one snapshot per data volume');
        assert.deepEqual(snaps.map((s) => s.volumeId).sort(), [1, 2, 3, 4].map(vol));
        for (const s of snaps) {
          assert.equal(s.status, 'available');
          assert.equal(s.metadata.hotstack_stack_name, STACK);
          assert.equal(s.metadata.hotstack_instance, 'master0');
          assert.match(s.metadata.hotstack_device ?? '', /^\/dev\/vd[b-e]$/);
        }
        assert.equal(requests(sim, 'volume.snapshots.create'), 4, 'each volume snapshotted once');
        for (const img of liveImages(sim, r.snapId)) assert.equal((img as Record<string, unknown>).hotstack_set_volumes, '4');
        assert.deepEqual(
          r.images.master0?.volumes?.map((v) => [v.device, v.volumeName, v.size]),
          [
            ['/dev/vdb', 'master0-lvms-vol0', 20],
            ['/dev/vdc', 'master0-cinder-vol0', 20],
            ['/dev/vdd', 'master0-cinder-vol1', 20],
            ['/dev/vde', 'master0-cinder-vol2', 20],
          ],
        );
        assert.equal(r.images.controller?.volumes, undefined, 'the controller has no volume');
        const c = await client(sim);
        const set = await readSet(c, r.snapId);
        assert.deepEqual(set.problems, []);
        assert.equal(set.volumeSnapshots.length, 4);
        const latest = selectLatest(await readSnapsets(c), { stackName: STACK, now: Date.now() });
        assert.ok(latest.found);
        assert.deepEqual(latest.latest.images.master0?.volumes?.map((v) => v.snapshotId).sort(), snaps.map((s) => s.id).sort());

        // The real python-cinderclient finds the set's snapshots by the metadata the capture gave them, filtered
        // on the server (python-openstackclient 10.5 has no metadata filter for snapshots).
        const py = await ensurePyOpenStack();
        if ('skip' in py) return;
        const cloud = sim.cloud.cloud;
        const cli = (args: string[]) =>
          promisify(execFile)(py.python, args, {
            timeout: 120_000,
            env: {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              LANG: 'C.UTF-8',
              OS_AUTH_URL: sim.cloud.endpoints.identity,
              OS_AUTH_TYPE: 'password',
              OS_USERNAME: cloud.username,
              OS_PASSWORD: cloud.password,
              OS_PROJECT_NAME: cloud.projectName,
              OS_USER_DOMAIN_NAME: cloud.domainName,
              OS_PROJECT_DOMAIN_NAME: cloud.domainName,
              OS_REGION_NAME: cloud.region,
            },
          });
        const { stdout } = await cli([
          '-m',
          'cinderclient.shell',
          '--os-volume-api-version',
          '3.50',
          'snapshot-list',
          '--metadata',
          `${SNAP_ID_PROPERTY}=${r.snapId}`,
        ]);
        const listed = [...stdout.matchAll(/^\|\s*([0-9a-f-]{36})\s*\|/gm)].map((m) => m[1]!);
        assert.deepEqual(listed.sort(), snaps.map((s) => s.id).sort());
        // python-openstackclient lists every snapshot with its properties (`--long`; it has no server-side filter).
        const osc = JSON.parse((await cli(['-m', 'openstackclient.shell', 'volume', 'snapshot', 'list', '--long', '-f', 'json'])).stdout) as {
          ID: string;
          Properties: unknown;
        }[];
        const ours = osc.filter((row) => {
          const props = row.Properties;
          return typeof props === 'object' && props !== null
            ? (props as Record<string, unknown>)[SNAP_ID_PROPERTY] === r.snapId
            : String(props).includes(`${SNAP_ID_PROPERTY}='${r.snapId}'`);
        });
        assert.deepEqual(ours.map((row) => row.ID).sort(), snaps.map((s) => s.id).sort(), `openstack volume snapshot list --long: ${JSON.stringify(osc)}`);
      },
      snoLab(),
    );
  });

  test('a boot-from-volume lab: the snapshots Nova makes with the image are adopted into the set', async () => {
    const scenario = snoLab({}, { rootVolume: { id: vol(9), size: 30 }, volumes: { 'master0-lvms-vol0': SNO_VOLUMES['master0-lvms-vol0'] } });
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const r = await t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `vol-bfv-${taskQueue}`, args: [fast(sim)] });
        const image = (sim.cloud.images() as Record<string, unknown>[]).find((i) => i.id === r.images.master0!.imageId)!;
        const named = blockDeviceSnapshotIds(image);
        assert.equal(named.length, 2, 'Nova snapshotted the root and the data volume');
        const snaps = await setSnapshots(sim, r.snapId);
        assert.deepEqual(snaps.map((s) => s.id).sort(), [...named].sort(), 'exactly the snapshots the image names, found by the set metadata');
        assert.equal(requests(sim, 'volume.snapshots.create'), 0, 'the capture made none itself');
        assert.ok(r.images.master0?.volumes?.every((v) => v.adopted));
        assert.deepEqual((await readSet(await client(sim), r.snapId)).problems, []);
      },
      scenario,
    );
  });

  test('a failed capture leaves no image and no volume snapshot', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `vol-fail-${taskQueue}`,
          args: [fast(sim, { imageAttempts: 1 })],
        });
        const f = await failureOf(handle.result());
        assert.equal(f.type, 'OpenStackResourceFailedError');
        const p = await handle.query(progressQuery);
        assert.ok(p.snapId);
        assert.deepEqual(liveImages(sim, p.snapId), []);
        assert.deepEqual(await allSnapshots(sim), [], 'no volume snapshot left in Cinder');
        assert.equal(p.failure?.cleanup?.deletedSnapshots?.length, requests(sim, 'volume.snapshots.create'));
        assert.match(p.details, /every image and volume snapshot of set \S+ deleted/);
      },
      snoLab({ cloud: { faults: { killNextImagesOf: { [MASTER0]: 1 } } } }),
    );
  });

  test('a volume snapshot Cinder fails is taken again while the VMs stay SHUTOFF', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const r = await t.env.client.workflow.execute(createSnapset, {
          taskQueue,
          workflowId: `vol-retry-${taskQueue}`,
          args: [fast(sim, { imageRetryDelay: '1s' })],
        });
        assert.equal(requests(sim, 'volume.snapshots.create'), 5, 'four, and the failed one again');
        assert.deepEqual(
          r.imageRetries?.map((x) => [x.instance, x.attempt]),
          [['master0:/dev/vdc', 2]],
        );
        const snaps = await setSnapshots(sim, r.snapId);
        assert.equal(snaps.length, 4);
        assert.ok(snaps.every((s) => s.status === 'available'));
        assert.deepEqual(await allSnapshots(sim).then((all) => all.length), 4, 'the failed snapshot is gone');
      },
      snoLab({ cloud: { faults: { killNextSnapshotsOf: { [vol(2)]: 1 } } } }),
    );
  });

  test('a cancel in creating-images leaves no image and no volume snapshot', async () => {
    // Slow snapshots (6 s each at this time scale), so the cancel lands while they are being made.
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `vol-cancel-${taskQueue}`, args: [fast(sim)] });
        await waitFor('snapshots to be in the making', async () => (await allSnapshots(sim)).length > 0);
        await handle.cancel();
        await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
        const p = await handle.query(progressQuery);
        assert.equal(p.phase, 'cancelled');
        assert.deepEqual(liveImages(sim, p.snapId), []);
        assert.deepEqual(await allSnapshots(sim), [], 'no volume snapshot left in Cinder');
      },
      snoLab({ cloud: { latencies: { snapshotMs: 600_000, volumeSnapshotMs: 600_000 } } } as Partial<ScenarioInput>),
    );
  });

  test('delete and prune --keep 1 remove the volume snapshots with the images of the sets they remove', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const sets: string[] = [];
        for (let i = 0; i < 3; i++) {
          sim.resetLab(); // the lab running again, for the next capture
          const r = await t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `vol-prune-${i}-${taskQueue}`, args: [fast(sim)] });
          sets.push(r.snapId);
        }
        for (const id of sets) assert.equal((await setSnapshots(sim, id)).length, 4, `set ${id} has its four snapshots`);
        const [oldest, middle, newest] = sets as [string, string, string];
        const deleted = await t.env.client.workflow.execute(pruneSnapsets, {
          taskQueue,
          workflowId: `vol-delete-${taskQueue}`,
          args: [{ cloud: 'sim', snapIds: [oldest] }],
        });
        assert.deepEqual(deleted.deleted, [oldest]);
        assert.deepEqual(liveImages(sim, oldest), []);
        assert.deepEqual(await setSnapshots(sim, oldest), [], 'delete removed its snapshots');
        const pruned = await t.env.client.workflow.execute(pruneSnapsets, {
          taskQueue,
          workflowId: `vol-prune-${taskQueue}`,
          args: [{ cloud: 'sim', stackName: STACK, keep: 1 }],
        });
        assert.deepEqual(pruned.deleted, [middle]);
        assert.deepEqual(liveImages(sim, middle), []);
        assert.deepEqual(await setSnapshots(sim, middle), [], 'prune removed its snapshots');
        assert.equal((await setSnapshots(sim, newest)).length, 4, 'the newest set keeps its four');
        assert.equal((await allSnapshots(sim)).length, 4, 'nothing else is left in Cinder');
      },
      snoLab(),
    );
  });
});

describe('cleanup of a volume-backed image whose snapshots never got the set metadata (simulator, the activity alone)', () => {
  test('the snapshots its block device mapping names are waited for while creating, then deleted: none left, none unreported', async () => {
    // Nova made the image and its snapshots, then the run failed before the capture tagged them: only the image's BDM names them.
    const scenario = snoLab(
      { cloud: { latencies: { volumeSnapshotMs: 300_000 } } }, // 3 s `creating` at this time scale: Cinder refuses to delete them meanwhile
      { rootVolume: { id: vol(9), size: 30 }, volumes: { 'master0-lvms-vol0': SNO_VOLUMES['master0-lvms-vol0'] } },
    );
    const sim = await startSimulator(scenario);
    try {
      const c = await client(sim);
      const snapId = 'bfvClean';
      const { imageId } = await c.compute.createImage(MASTER0, `hotstack-master0-snapshot-${snapId}`, { [SNAP_ID_PROPERTY]: snapId });
      const image = (sim.cloud.images() as Record<string, unknown>[]).find((i) => i.id === imageId)!;
      const named = blockDeviceSnapshotIds(image);
      assert.equal(named.length, 2, 'Nova snapshotted the root and the data volume');
      assert.deepEqual(await setSnapshots(sim, snapId), [], 'no snapshot carries the set metadata');
      assert.ok(
        live(await c.volume.listAllSnapshots()).every((v) => v.status === 'creating'),
        'the snapshots are still creating when cleanup starts',
      );

      const { cleanupSnapset } = createActivities(simDeps(sim));
      const cleaned = (await new MockActivityEnvironment().run(cleanupSnapset, { snapId })) as Awaited<ReturnType<typeof cleanupSnapset>>;
      assert.deepEqual(cleaned.left, [], `nothing left: ${JSON.stringify(cleaned.left)}`);
      assert.deepEqual(cleaned.deleted, [imageId]);
      assert.deepEqual([...(cleaned.deletedSnapshots ?? [])].sort(), [...named].sort(), 'both BDM snapshots deleted');
      await waitFor('Cinder to finish deleting them', async () => (await allSnapshots(sim)).length === 0, { seen: () => sim.cloud.snapshots() });
      assert.ok(requests(sim, 'volume.snapshots.get') > 0, 'found by ID: no listing by metadata shows them');
    } finally {
      await sim.close();
    }
  });
});
