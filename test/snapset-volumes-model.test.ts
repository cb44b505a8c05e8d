/**
 * Volume snapshots in the one SnapSet model (issue 15): which volumes a capture takes, when a set
 * with volumes is complete, sets whose images are gone but whose snapshots are not, Nova's block
 * device mapping of a volume-backed image, and what `snapset latest` hands on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  blockDeviceSnapshots,
  groupSnapsets,
  latestYaml,
  planVolumes,
  selectLatest,
  setProblems,
  snapsetImageProperties,
  snapsetOf,
  summary,
  volumeKey,
  volumeSnapshotMetadata,
  volumeSnapshotName,
  type AttachedVolume,
  type StoreImage,
  type StoreVolumeSnapshot,
} from '../src/shared/snapset/index.js';

const SNAP = 'VolSet01';
const T = '2026-11-01T10:00:00Z';
const vol = (n: number, over: Partial<AttachedVolume> = {}): AttachedVolume => ({
  volumeId: `00000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`,
  device: `/dev/vd${String.fromCharCode(97 + n)}`,
  volumeName: `master0-vol${n}`,
  size: 20,
  bootable: false,
  ...over,
});
const img = (name: string, over: Partial<StoreImage> = {}, volumes = 4): StoreImage => ({
  id: `img-${name}`,
  name: `hotstack-${name}-snapshot-${SNAP}`,
  status: 'active',
  tags: ['hotstack', 'hotstack-snapset', `name=${name}`, 'role=r', `snap_id=${SNAP}`, 'mac_address=fa:16:3e:00:00:01', 'snapset_complete'],
  created_at: T,
  properties: snapsetImageProperties({ snapId: SNAP, stackName: 's', workflowId: 'snapset-s', setSize: 2, volumes }),
  ...over,
});
const snap = (v: AttachedVolume, over: Partial<StoreVolumeSnapshot> = {}): StoreVolumeSnapshot => ({
  id: `snap-${v.device!.slice(-3)}`,
  name: volumeSnapshotName('master0', v, SNAP),
  status: 'available',
  volumeId: v.volumeId,
  size: v.size,
  metadata: volumeSnapshotMetadata(snapsetImageProperties({ snapId: SNAP, stackName: 's', workflowId: 'snapset-s', setSize: 2, volumes: 4 }), 'master0', v),
  createdAt: T,
  ...over,
});
const four = [1, 2, 3, 4].map((n) => vol(n));

describe('which volumes a capture takes', () => {
  test('an image-backed server: every attached data volume, or the listed ones, or none with ignore', () => {
    const all = planVolumes({ volumes: { master0: four, controller: [] }, volumeBacked: {}, mode: 'snapshot' });
    assert.deepEqual(all.snapshot, { master0: four });
    assert.deepEqual(all.adopt, {});
    assert.equal(all.count, 4);
    const listed = planVolumes({ volumes: { master0: four }, volumeBacked: {}, mode: 'snapshot', explicit: { master0: [four[1]!.volumeId.toUpperCase()] } });
    assert.deepEqual(listed.snapshot, { master0: [four[1]] }, 'UUIDs compare case-insensitively');
    assert.deepEqual(listed.skipped.master0?.length, 3);
    assert.equal(listed.count, 1);
    const ignored = planVolumes({ volumes: { master0: four }, volumeBacked: {}, mode: 'ignore' });
    assert.deepEqual(ignored.snapshot, {});
    assert.equal(ignored.count, 0);
    assert.equal(ignored.skipped.master0?.length, 4);
  });

  test('a volume-backed server: Nova snapshots every volume with its image, so they are adopted even with ignore', () => {
    const root = vol(0, { device: '/dev/vda', bootable: true });
    for (const mode of ['snapshot', 'ignore'] as const) {
      const plan = planVolumes({ volumes: { master0: [root, four[0]!] }, volumeBacked: { master0: true }, mode });
      assert.deepEqual(plan.adopt, { master0: [root, four[0]] }, mode);
      assert.deepEqual(plan.snapshot, {}, mode);
      assert.equal(plan.count, 2, mode);
    }
  });

  test('names and metadata: one key per device, metadata without the set-size properties', () => {
    assert.equal(volumeKey('master0', four[0]!), 'master0:/dev/vdb');
    assert.equal(volumeKey('master0', { device: null, volumeId: 'v1' }), 'master0:v1');
    assert.equal(volumeSnapshotName('master0', four[0]!, SNAP), `hotstack-master0-master0-vol1-snapshot-${SNAP}`);
    assert.equal(volumeSnapshotName('master0', { ...four[0]!, volumeName: null }, SNAP), `hotstack-master0-vdb-snapshot-${SNAP}`);
    const meta = snap(four[0]!).metadata;
    assert.deepEqual(meta, {
      hotstack_snap_id: SNAP,
      hotstack_stack_name: 's',
      hotstack_workflow_id: 'snapset-s',
      hotstack_instance: 'master0',
      hotstack_device: '/dev/vdb',
      hotstack_volume_name: 'master0-vol1',
    });
  });
});

describe('a set with volume snapshots is complete only with all of them', () => {
  const images = [img('controller'), img('master0')];
  test('four available snapshots, as many as the images count: complete', () => {
    const set = snapsetOf(
      SNAP,
      images,
      four.map((v) => snap(v)),
    );
    assert.deepEqual(set.problems, []);
    assert.equal(set.complete, true);
    assert.equal(set.volumeCount, 4);
    assert.deepEqual(
      set.volumeSnapshots.map((v) => [v.instance, v.device, v.volumeName, v.status]),
      four.map((v) => ['master0', v.device, v.volumeName, 'available']),
    );
    assert.equal(summary(set).volumeSnapshots, 4);
  });

  test('a missing, failed or doubled snapshot, or one the capture made that is gone, is a problem each', () => {
    assert.deepEqual(
      snapsetOf(
        SNAP,
        images,
        four.slice(0, 3).map((v) => snap(v)),
      ).problems,
      ['3 of 4 volume snapshots'],
    );
    assert.deepEqual(snapsetOf(SNAP, images, [...four.slice(0, 3).map((v) => snap(v)), snap(four[3]!, { status: 'error' })]).problems, [
      'master0:/dev/vde: volume snapshot snap-vde is error',
    ]);
    assert.deepEqual(snapsetOf(SNAP, images, [...four.map((v) => snap(v)), snap(four[0]!, { id: 'snap-vdb-2' })]).problems, [
      'master0:/dev/vdb: 2 volume snapshots (snap-vdb, snap-vdb-2)',
      '5 of 4 volume snapshots',
    ]);
    assert.deepEqual(
      setProblems(SNAP, images, { snapshots: four.map((v) => snap(v)), expectedSnapshots: { 'master0:/dev/vdb': 'snap-other' }, requireMarker: false }),
      ['master0:/dev/vdb: volume snapshot snap-other not found'],
    );
  });

  test('a set from before volumes were captured (no hotstack_set_volumes) is complete without snapshots', () => {
    const old = [img('controller', { properties: { hotstack_snap_id: SNAP, hotstack_set_size: '2', hotstack_stack_name: 's' } })];
    old.push({
      ...old[0]!,
      id: 'img-master0',
      name: `hotstack-master0-snapshot-${SNAP}`,
      tags: old[0]!.tags.map((t) => t.replace('name=controller', 'name=master0')),
    });
    assert.deepEqual(snapsetOf(SNAP, old).problems, []);
    assert.equal(snapsetOf(SNAP, old).volumeCount, null);
  });

  test('snapshots whose images are gone still form a set: incomplete, of its stack, dated by the snapshots', () => {
    const [set] = groupSnapsets([], [snap(four[0]!, { createdAt: '2026-11-02T00:00:00Z' })]);
    assert.equal(set?.snapId, SNAP);
    assert.equal(set?.complete, false);
    assert.equal(set?.stackName, 's');
    assert.equal(set?.createdAt, '2026-11-02T00:00:00Z');
    assert.deepEqual(set?.problems, ['no image of this set exists']);
  });
});

describe("Nova's block device mapping of a volume-backed image", () => {
  test('the snapshot entries of the JSON string Nova writes; anything unreadable is none', () => {
    const bdm = JSON.stringify([
      { source_type: 'snapshot', destination_type: 'volume', snapshot_id: 's-root', device_name: '/dev/vda', boot_index: 0, volume_size: 10 },
      { source_type: 'snapshot', destination_type: 'volume', snapshot_id: 's-data', device_name: '/dev/vdb', boot_index: null, volume_size: 20 },
      { source_type: 'blank', destination_type: 'local', boot_index: -1 },
    ]);
    assert.deepEqual(blockDeviceSnapshots({ block_device_mapping: bdm }), [
      { snapshotId: 's-root', deviceName: '/dev/vda', bootIndex: 0, volumeSize: 10 },
      { snapshotId: 's-data', deviceName: '/dev/vdb', bootIndex: null, volumeSize: 20 },
    ]);
    assert.deepEqual(blockDeviceSnapshots({ block_device_mapping: '[not json' }), []);
    assert.deepEqual(blockDeviceSnapshots({}), []);
  });
});

describe('snapset latest hands the volume snapshots on', () => {
  test('JSON: per instance its volumes; YAML: a snapset_volumes block beside stack_parameters, which is unchanged', () => {
    const images = [
      img('controller', { tags: img('controller').tags.map((t) => (t === 'role=r' ? 'role=controller' : t)) }),
      img('master0', { tags: img('master0').tags.map((t) => (t === 'role=r' ? 'role=ocp_master' : t)) }),
    ];
    const answer = selectLatest(
      groupSnapsets(
        images,
        four.map((v) => snap(v)),
      ),
      { now: Date.parse(T) + 1000 },
    );
    assert.ok(answer.found);
    assert.deepEqual(
      answer.latest.images.master0?.volumes,
      four.map((v) => ({ device: v.device, volumeName: v.volumeName, size: 20, snapshotId: snap(v).id })),
    );
    assert.equal(answer.latest.images.controller?.volumes, undefined);
    const doc = parse(latestYaml(answer.latest)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc.stack_parameters as object), ['controller_params', 'ocp_master_params']);
    assert.deepEqual((doc.snapset_volumes as Record<string, Record<string, unknown>>).master0?.vdb, {
      snapshot_id: 'snap-vdb',
      size: 20,
      volume_name: 'master0-vol1',
    });
  });
});
