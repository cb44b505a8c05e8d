/**
 * The simulator's Cinder v3 and the Nova/Glance sides of volumes, over raw HTTP (no client of ours),
 * checked against the Block Storage v3 and Compute API references: volumes and attachments seen from
 * both services, snapshots' state machine, metadata, filters and pages, delete, faults and counters,
 * and `createImage` of a volume-backed server as Nova does it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario, snapshotSnoVolumes } from '../src/sim/scenario.js';
import { startCloudSimulator, type CloudSimulator } from '../src/sim/cloud/index.js';
import { parseMetadataFilter } from '../src/sim/cloud/cinder.js';
import { rawSession, type RawResponse } from './helpers/sim-http.js';
import { pause, waitFor } from './helpers/wait.js';

const CONTROLLER = '6f4512de-f744-4979-8ab2-45f5461e304c';
const MASTER0 = '7a5623ef-0855-4a8a-9bc3-56b6572f415d';
const BFV = '9c7845a1-2a77-4cac-9de5-78d8b80b937f';
const VOL = [
  'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a20',
  'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a21',
  'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a22',
  'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a23',
] as const;
const ROOT = 'b8f2d4e6-1c3a-4f7b-9d2e-4a6c8e0f2b31';
const BFV_DATA = 'b8f2d4e6-1c3a-4f7b-9d2e-4a6c8e0f2b32';

let sim: CloudSimulator;
const s = rawSession(() => sim);
let v3 = '';
const MV = (v: string) => ({ 'OpenStack-API-Version': `volume ${v}` });
const NOVA = { 'X-OpenStack-Nova-API-Version': '2.60' };

const snapshotOf = (r: RawResponse) => r.body.snapshot as Record<string, unknown>;
const statusOf = (id: string) => sim.snapshots().find((x) => x.id === id)?.status;

async function createSnapshot(volumeId: string, extra: Record<string, unknown> = {}, version = '3.50'): Promise<Record<string, unknown>> {
  const r = await s.call('POST', `${v3}/snapshots`, { headers: MV(version), body: { snapshot: { volume_id: volumeId, force: true, ...extra } } });
  assert.equal(r.status, 202, r.text);
  return snapshotOf(r);
}

async function available(id: string): Promise<void> {
  await waitFor(`snapshot ${id} available`, () => statusOf(id) === 'available', { seen: () => statusOf(id) });
}

void describe('cloud simulator: Cinder v3, volume attachments, volume-backed createImage', () => {
  before(async () => {
    sim = await startCloudSimulator(
      parseScenario({
        timeScale: 0.001,
        instances: {
          controller: { uuid: CONTROLLER, role: 'controller', mac_address: 'fa:16:9e:81:f6:05' },
          master0: { uuid: MASTER0, role: 'ocp_master', mac_address: 'fa:16:9e:81:f6:10', node: 'master-0', volumes: snapshotSnoVolumes('master0', VOL) },
          bfv0: {
            uuid: BFV,
            role: 'ocp_master',
            mac_address: 'fa:16:9e:81:f6:12',
            rootVolume: { id: ROOT, size: 40 },
            volumes: { 'bfv0-data': { id: BFV_DATA, size: 10, device: '/dev/vdb' } },
          },
        },
        // 400 ms creating and deleting at this time scale: long enough to see both states after an answer on a loaded machine.
        cloud: { latencies: { volumeSnapshotMs: 400_000, volumeSnapshotDeleteMs: 400_000 } },
      }),
    );
    await s.login();
    v3 = `/volume/v3/${sim.cloud.projectId}`;
  });
  after(async () => {
    await sim.close();
  });

  void test('catalog: block-storage and volumev3 at /volume/v3/{project_id}; GET / is 300 and /v3/ 200 with the versions', async () => {
    const r = await s.call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'hotstack', domain: { name: 'Default' }, password: sim.cloud.password } } },
          scope: { project: { name: 'hotstack', domain: { id: 'default' } } },
        },
      },
    });
    const catalog = (r.body.token as { catalog: { type: string; name: string; endpoints: { interface: string; url: string }[] }[] }).catalog;
    for (const [type, name] of [
      ['block-storage', 'cinder'],
      ['volumev3', 'cinderv3'],
    ] as const) {
      const svc = catalog.find((c) => c.type === type);
      assert.equal(svc?.name, name);
      assert.equal(svc.endpoints.find((e) => e.interface === 'public')?.url, `${sim.baseUrl}${v3}`);
      assert.equal(svc.endpoints.find((e) => e.interface === 'internal')?.url, `${sim.baseUrl}/internal${v3}`);
    }
    assert.equal(sim.endpoints.volume, `${sim.baseUrl}${v3}`);
    const root = await s.call('GET', '/volume/', { auth: false });
    assert.equal(root.status, 300);
    const versions = root.body.versions as { id: string; version: string; min_version: string }[];
    assert.deepEqual(
      versions.map((v) => [v.id, v.version, v.min_version]),
      [['v3.0', '3.71', '3.0']],
    );
    assert.equal((await s.call('GET', '/volume/v3/', { auth: false })).status, 200);
  });

  void test('volumes: detail/summary/show, in-use with attachments, filters; project and token checks; microversion headers', async () => {
    const detail = await s.call('GET', `${v3}/volumes/detail`, { headers: MV('3.50') });
    assert.equal(detail.status, 200);
    assert.equal(detail.headers.get('openstack-api-version'), 'volume 3.50');
    const vols = detail.body.volumes as Record<string, unknown>[];
    assert.deepEqual(vols.map((v) => v.id).sort(), [...VOL, ROOT, BFV_DATA].sort());
    const lvms = vols.find((v) => v.id === VOL[0])!;
    assert.deepEqual([lvms.name, lvms.status, lvms.size, lvms.bootable, lvms.shared_targets], ['master0-lvms-vol0', 'in-use', 20, 'false', true]);
    const [att] = lvms.attachments as Record<string, unknown>[];
    assert.deepEqual([att!.server_id, att!.device, att!.volume_id, att!.id], [MASTER0, '/dev/vdb', VOL[0], VOL[0]]);
    assert.match(att!.attachment_id as string, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      vols
        .filter((v) => (v.attachments as { server_id: string }[])[0]!.server_id === MASTER0)
        .map((v) => [v.name, (v.attachments as { device: string }[])[0]!.device])
        .sort(),
      [
        ['master0-cinder-vol0', '/dev/vdc'],
        ['master0-cinder-vol1', '/dev/vdd'],
        ['master0-cinder-vol2', '/dev/vde'],
        ['master0-lvms-vol0', '/dev/vdb'],
      ],
    );
    const root = await s.call('GET', `${v3}/volumes/${ROOT}`, { headers: MV('3.50') });
    assert.deepEqual([(root.body.volume as Record<string, unknown>).bootable, (root.body.volume as Record<string, unknown>).size], ['true', 40]);
    // The summary list: id, name, links only.
    const summary = await s.call('GET', `${v3}/volumes`, { headers: MV('3.50') });
    assert.deepEqual(Object.keys((summary.body.volumes as Record<string, unknown>[])[0]!).sort(), ['id', 'links', 'name']);
    const byName = await s.call('GET', `${v3}/volumes/detail?name=master0-cinder-vol1`, { headers: MV('3.50') });
    assert.deepEqual(
      (byName.body.volumes as { id: string }[]).map((v) => v.id),
      [VOL[2]],
    );
    const bootable = await s.call('GET', `${v3}/volumes/detail?bootable=true`, { headers: MV('3.50') });
    assert.deepEqual(
      (bootable.body.volumes as { id: string }[]).map((v) => v.id),
      [ROOT],
    );
    // No project in the URL (3.67 made it optional) reaches the same volume; another project is refused.
    assert.equal((await s.call('GET', `/volume/v3/volumes/${VOL[1]}`, { headers: MV('3.67') })).status, 200);
    const other = await s.call('GET', `/volume/v3/${'0'.repeat(32)}/volumes/${VOL[1]}`, { headers: MV('3.50') });
    assert.deepEqual([other.status, other.body], [400, { badRequest: { code: 400, message: 'Malformed request url' } }]);
    const missing = await s.call('GET', `${v3}/volumes/00000000-0000-4000-8000-000000000000`, { headers: MV('3.50') });
    assert.deepEqual(missing.body, { itemNotFound: { code: 404, message: 'Volume 00000000-0000-4000-8000-000000000000 could not be found.' } });
    const noToken = await s.call('GET', `${v3}/volumes/${VOL[1]}`, { auth: false, headers: MV('3.50') });
    assert.equal(noToken.status, 401);
    const tooNew = await s.call('GET', `${v3}/volumes/${VOL[1]}`, { headers: MV('3.99') });
    assert.equal(tooNew.status, 406);
    // ≥ 3.31 a filter the resource does not allow is refused.
    const badFilter = await s.call('GET', `${v3}/volumes/detail?colour=red`, { headers: MV('3.50') });
    assert.deepEqual([badFilter.status, badFilter.body], [400, { badRequest: { code: 400, message: 'Invalid filters colour are found in query options.' } }]);
  });

  void test('attachments from Nova: os-volume_attachments by microversion, volumes_attached, a volume-backed server has image ""', async () => {
    const r = await s.call('GET', `/compute/v2.1/servers/${MASTER0}/os-volume_attachments`, { headers: NOVA });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.volumeAttachments, [
      { device: '/dev/vdb', serverId: MASTER0, volumeId: VOL[0], id: VOL[0] },
      { device: '/dev/vdc', serverId: MASTER0, volumeId: VOL[1], id: VOL[1] },
      { device: '/dev/vdd', serverId: MASTER0, volumeId: VOL[2], id: VOL[2] },
      { device: '/dev/vde', serverId: MASTER0, volumeId: VOL[3], id: VOL[3] },
    ]);
    // 2.89: `id` gone, Cinder's attachment id and the BDM uuid instead.
    const latest = await s.call('GET', `/compute/v2.1/servers/${BFV}/os-volume_attachments`, { headers: { 'X-OpenStack-Nova-API-Version': '2.89' } });
    const atts = latest.body.volumeAttachments as Record<string, unknown>[];
    assert.deepEqual(
      atts.map((a) => [a.device, a.volumeId, 'id' in a, a.tag, a.delete_on_termination]),
      [
        ['/dev/vda', ROOT, false, null, false],
        ['/dev/vdb', BFV_DATA, false, null, false],
      ],
    );
    const cinderSide = (await s.call('GET', `${v3}/volumes/${ROOT}`, { headers: MV('3.50') })).body.volume as { attachments: { attachment_id: string }[] };
    assert.equal(atts[0]!.attachment_id, cinderSide.attachments[0]!.attachment_id);
    const one = await s.call('GET', `/compute/v2.1/servers/${MASTER0}/os-volume_attachments/${VOL[2]}`, { headers: NOVA });
    assert.deepEqual(one.body, { volumeAttachment: { device: '/dev/vdd', serverId: MASTER0, volumeId: VOL[2], id: VOL[2] } });
    assert.equal((await s.call('GET', `/compute/v2.1/servers/${CONTROLLER}/os-volume_attachments/${VOL[2]}`, { headers: NOVA })).status, 404);
    assert.deepEqual((await s.call('GET', `/compute/v2.1/servers/${CONTROLLER}/os-volume_attachments`, { headers: NOVA })).body, { volumeAttachments: [] });
    assert.equal((await s.call('GET', `/compute/v2.1/servers/00000000-0000-4000-8000-000000000000/os-volume_attachments`, { headers: NOVA })).status, 404);

    const server = (await s.call('GET', `/compute/v2.1/servers/${MASTER0}`, { headers: NOVA })).body.server as Record<string, unknown>;
    assert.deepEqual(
      server['os-extended-volumes:volumes_attached'],
      VOL.map((id) => ({ id, delete_on_termination: false })),
    );
    assert.equal(typeof server.image, 'object');
    const bfv = (await s.call('GET', `/compute/v2.1/servers/${BFV}`, { headers: NOVA })).body.server as Record<string, unknown>;
    assert.equal(bfv.image, '');
    assert.deepEqual(
      (bfv['os-extended-volumes:volumes_attached'] as { id: string }[]).map((v) => v.id),
      [ROOT, BFV_DATA],
    );
  });

  void test('snapshot create: 400 for an in-use volume without force (< 3.66), 202 creating → available with force; 3.66 rules; validation', async () => {
    const refused = await s.call('POST', `${v3}/snapshots`, { headers: MV('3.50'), body: { snapshot: { volume_id: VOL[1], name: 'no-force' } } });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body, {
      badRequest: { code: 400, message: `Invalid volume: Volume ${VOL[1]} status must be available, but current status is: in-use.` },
    });
    const created = await s.call('POST', `${v3}/snapshots`, {
      headers: MV('3.50'),
      body: { snapshot: { volume_id: VOL[1], name: 'forced', description: 'd', force: true, metadata: { hotstack_snap_id: 'create-1' } } },
    });
    assert.equal(created.status, 202);
    const snap = snapshotOf(created);
    assert.deepEqual(
      [snap.status, snap.volume_id, snap.size, snap.name, snap.description, snap.metadata, snap['os-extended-snapshot-attributes:progress'], snap.user_id],
      ['creating', VOL[1], 20, 'forced', 'd', { hotstack_snap_id: 'create-1' }, '0%', sim.cloud.userId],
    );
    assert.match(snap.created_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const seen: string[] = [];
    await waitFor('creating → available', async () => {
      const st = (snapshotOf(await s.call('GET', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50') })).status as string) ?? '';
      if (seen.at(-1) !== st) seen.push(st);
      return st === 'available';
    });
    assert.deepEqual(
      seen.filter((x) => x !== 'creating'),
      ['available'],
    );
    assert.equal(
      snapshotOf(await s.call('GET', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50') }))['os-extended-snapshot-attributes:progress'],
      '100%',
    );
    // 3.66: in-use without force is fine; force=false is refused; force=true is silently accepted.
    assert.equal((await s.call('POST', `${v3}/snapshots`, { headers: MV('3.66'), body: { snapshot: { volume_id: VOL[1], name: 'mv366' } } })).status, 202);
    const forceFalse = await s.call('POST', `${v3}/snapshots`, { headers: MV('3.66'), body: { snapshot: { volume_id: VOL[1], force: false } } });
    assert.equal(forceFalse.status, 400);
    assert.match(JSON.stringify(forceFalse.body), /Since microversion 3.66 the 'force' flag is invalid/);
    // Validation and a missing volume.
    assert.equal(
      (await s.call('POST', `${v3}/snapshots`, { headers: MV('3.50'), body: { snapshot: { volume_id: VOL[1], force: true, size: 3 } } })).status,
      400,
    );
    assert.equal((await s.call('POST', `${v3}/snapshots`, { headers: MV('3.50'), body: { snapshot: { volume_id: VOL[1], force: 'maybe' } } })).status, 400);
    assert.equal((await s.call('POST', `${v3}/snapshots`, { headers: MV('3.50'), body: { snapshot: { force: true } } })).status, 400);
    const gone = await s.call('POST', `${v3}/snapshots`, {
      headers: MV('3.50'),
      body: { snapshot: { volume_id: '00000000-0000-4000-8000-000000000000', force: true } },
    });
    assert.deepEqual(gone.body, { itemNotFound: { code: 404, message: 'Volume 00000000-0000-4000-8000-000000000000 could not be found.' } });
  });

  void test('snapshot metadata: created with it, GET, POST merges, PUT replaces, one key GET/PUT/DELETE', async () => {
    const snap = await createSnapshot(VOL[2], { name: 'meta', metadata: { a: '1', b: '2' } });
    const path = `${v3}/snapshots/${String(snap.id)}/metadata`;
    assert.deepEqual((await s.call('GET', path, { headers: MV('3.50') })).body, { metadata: { a: '1', b: '2' } });
    const merged = await s.call('POST', path, { headers: MV('3.50'), body: { metadata: { b: '3', c: '4' } } });
    assert.deepEqual([merged.status, merged.body], [200, { metadata: { a: '1', b: '3', c: '4' } }]);
    const replaced = await s.call('PUT', path, { headers: MV('3.50'), body: { metadata: { z: '9' } } });
    assert.deepEqual([replaced.status, replaced.body], [200, { metadata: { z: '9' } }]);
    assert.deepEqual((await s.call('GET', `${path}/z`, { headers: MV('3.50') })).body, { meta: { z: '9' } });
    assert.deepEqual((await s.call('PUT', `${path}/y`, { headers: MV('3.50'), body: { meta: { y: '8' } } })).body, { meta: { y: '8' } });
    assert.equal((await s.call('PUT', `${path}/y`, { headers: MV('3.50'), body: { meta: { x: '8' } } })).status, 400);
    assert.equal((await s.call('DELETE', `${path}/z`, { headers: MV('3.50') })).status, 200);
    assert.equal((await s.call('GET', `${path}/z`, { headers: MV('3.50') })).status, 404);
    assert.deepEqual((await s.call('GET', path, { headers: MV('3.50') })).body, { metadata: { y: '8' } });
    assert.equal((await s.call('POST', path, { headers: MV('3.50'), body: { metadata: { k: 5 } } })).status, 400);
    assert.equal((await s.call('GET', `${v3}/snapshots/00000000-0000-4000-8000-000000000000/metadata`, { headers: MV('3.50') })).status, 404);
    // PUT /snapshots/{id}: name and description; metadata is not part of it.
    const renamed = await s.call('PUT', `${v3}/snapshots/${String(snap.id)}`, {
      headers: MV('3.50'),
      body: { snapshot: { name: 'renamed', description: 'x' } },
    });
    assert.deepEqual(
      [renamed.status, snapshotOf(renamed).name, snapshotOf(renamed).description, snapshotOf(renamed).metadata],
      [200, 'renamed', 'x', { y: '8' }],
    );
    assert.equal((await s.call('PUT', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50'), body: { snapshot: { metadata: {} } } })).status, 400);
  });

  void test('snapshot lists: metadata filter (Python repr and JSON), status/volume_id/name, pages with snapshots_links, summary vs detail', async () => {
    const tagged: string[] = [];
    for (let i = 0; i < 5; i++)
      tagged.push(String((await createSnapshot(VOL[3], { name: `paged-${i}`, metadata: { hotstack_snap_id: 'LIST1', n: String(i) } })).id));
    await createSnapshot(VOL[3], { name: 'other', metadata: { hotstack_snap_id: 'LIST2' } });
    const ids = (r: RawResponse) => (r.body.snapshots as { id: string }[]).map((x) => x.id);
    const pyRepr = encodeURIComponent("{'hotstack_snap_id': 'LIST1'}");
    const byRepr = await s.call('GET', `${v3}/snapshots/detail?metadata=${pyRepr}`, { headers: MV('3.50') });
    assert.deepEqual(ids(byRepr).sort(), [...tagged].sort());
    const json = encodeURIComponent(JSON.stringify({ hotstack_snap_id: 'LIST1', n: '3' }));
    assert.deepEqual(ids(await s.call('GET', `${v3}/snapshots/detail?metadata=${json}`, { headers: MV('3.50') })), [tagged[3]]);
    assert.deepEqual(ids(await s.call('GET', `${v3}/snapshots/detail?metadata=${pyRepr}&availability_zone=nova`, { headers: MV('3.50') })).length, 5);
    assert.deepEqual(ids(await s.call('GET', `${v3}/snapshots/detail?metadata=${pyRepr}&availability_zone=az9`, { headers: MV('3.50') })), []);
    // Before 3.22 Cinder drops the metadata filter: every snapshot comes back.
    const old = await s.call('GET', `${v3}/snapshots/detail?metadata=${pyRepr}`, { headers: MV('3.21') });
    assert.ok(ids(old).length > tagged.length, String(ids(old).length));
    // A value that is no dict matches nothing.
    assert.deepEqual(ids(await s.call('GET', `${v3}/snapshots/detail?metadata=LIST1`, { headers: MV('3.50') })), []);
    assert.deepEqual(ids(await s.call('GET', `${v3}/snapshots/detail?name=other&volume_id=${VOL[3]}`, { headers: MV('3.50') })).length, 1);

    // Pages of 2, newest first, following the next links as given.
    const pages: string[][] = [];
    let next: string | undefined = `${v3}/snapshots/detail?metadata=${pyRepr}&limit=2`;
    while (next) {
      const r = await s.call('GET', next, { headers: MV('3.50') });
      assert.equal(r.status, 200);
      pages.push(ids(r));
      const href = (r.body.snapshots_links as { rel: string; href: string }[] | undefined)?.find((l) => l.rel === 'next')?.href;
      if (href) assert.ok(href.startsWith(`${sim.baseUrl}${v3}/snapshots/detail?`), href);
      next = href?.slice(sim.baseUrl.length);
    }
    // Cinder links whenever the page is full: 2 + 2 + 1, no link after the short page.
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.deepEqual(pages.flat(), [...tagged].reverse());
    const summary = await s.call('GET', `${v3}/snapshots?metadata=${pyRepr}&limit=1`, { headers: MV('3.50') });
    const first = (summary.body.snapshots as Record<string, unknown>[])[0]!;
    assert.ok(!('os-extended-snapshot-attributes:progress' in first) && 'metadata' in first, JSON.stringify(first));
    assert.ok((summary.body.snapshots_links as { href: string }[])[0]!.href.includes(`${v3}/snapshots?`));
    assert.equal((await s.call('GET', `${v3}/snapshots/detail?marker=00000000-0000-4000-8000-000000000000`, { headers: MV('3.50') })).status, 404);
    assert.equal((await s.call('GET', `${v3}/snapshots/detail?limit=-1`, { headers: MV('3.50') })).status, 400);
    assert.equal((await s.call('GET', `${v3}/snapshots/detail?project=x`, { headers: MV('3.50') })).status, 400);
    assert.deepEqual(parseMetadataFilter(`{"a": "b", 'c': 'd\\'e'}`), { a: 'b', c: "d'e" });
    assert.equal(parseMetadataFilter('{"a": 1}'), undefined);
  });

  void test('snapshot delete: 400 while creating, 202 → deleting → gone (404)', async () => {
    const snap = await createSnapshot(VOL[0], { name: 'to-delete' });
    const busy = await s.call('DELETE', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50') });
    assert.deepEqual(busy.body, {
      badRequest: { code: 400, message: 'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.' },
    });
    await available(String(snap.id));
    const del = await s.call('DELETE', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50') });
    assert.equal(del.status, 202);
    assert.equal(del.text, '');
    assert.equal(statusOf(String(snap.id)), 'deleting');
    await waitFor('the snapshot gone', async () => (await s.call('GET', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50') })).status === 404);
    const again = await s.call('DELETE', `${v3}/snapshots/${String(snap.id)}`, { headers: MV('3.50') });
    assert.deepEqual(again.body, { itemNotFound: { code: 404, message: `Snapshot ${String(snap.id)} could not be found.` } });
  });

  void test('faults and counters: killNextSnapshotsOf / killNextSnapshots end snapshots in error; injected 503s and 409s; every Cinder endpoint counted', async () => {
    // The one-shot faults hit the next snapshot to finish: none of the earlier tests' may still be creating.
    await waitFor('no snapshot creating', () => sim.snapshots().every((x) => x.status !== 'creating'));
    sim.resetCounters();
    sim.setFaults({ killNextSnapshotsOf: { [VOL[0]]: 1 } });
    const killed = await createSnapshot(VOL[0], { name: 'killed' });
    const other = await createSnapshot(VOL[1], { name: 'not-killed' });
    await waitFor('the killed snapshot in error', () => statusOf(String(killed.id)) === 'error', { seen: () => statusOf(String(killed.id)) });
    await available(String(other.id));
    assert.deepEqual(sim.faults().killNextSnapshotsOf, {});
    const next = await createSnapshot(VOL[0], { name: 'after' });
    await available(String(next.id));
    sim.setFaults({ killNextSnapshots: 1 });
    const any = await createSnapshot(VOL[2], { name: 'any' });
    await waitFor('killNextSnapshots hit', () => statusOf(String(any.id)) === 'error');
    assert.equal(sim.faults().killNextSnapshots, 0);
    // An error snapshot can be deleted.
    assert.equal((await s.call('DELETE', `${v3}/snapshots/${String(killed.id)}`, { headers: MV('3.50') })).status, 202);

    sim.setFaults({ endpoints: { 'volume.snapshots.create': { failNext: 1 }, 'volume.snapshots.list': { conflictNext: 1 } } });
    const failed = await s.call('POST', `${v3}/snapshots`, { headers: MV('3.50'), body: { snapshot: { volume_id: VOL[2], force: true } } });
    assert.equal(failed.status, 503);
    const conflict = await s.call('GET', `${v3}/snapshots/detail`, { headers: MV('3.50') });
    assert.deepEqual([conflict.status, Object.keys(conflict.body)], [409, ['conflictingRequest']]);
    await s.call('GET', `${v3}/snapshots/${String(next.id)}/metadata`, { headers: MV('3.50') });
    await s.call('GET', `${v3}/volumes/detail`, { headers: MV('3.50') });
    await s.call('GET', `${v3}/volumes/${VOL[0]}`, { headers: MV('3.50') });
    await s.call('GET', `${v3}/snapshots/${String(next.id)}`, { headers: MV('3.50') });
    await s.call('GET', `/compute/v2.1/servers/${MASTER0}/os-volume_attachments`, { headers: NOVA });
    await s.call('GET', '/volume/', { auth: false });
    const c = sim.counters();
    assert.deepEqual(c['volume.snapshots.create']!.byStatus, { '202': 4, '503': 1 });
    assert.equal(c['volume.snapshots.create']!.injected.error, 1);
    assert.deepEqual(c['volume.snapshots.list']!.byStatus, { '409': 1 });
    assert.deepEqual(c['volume.snapshots.delete']!.byStatus, { '202': 1 });
    for (const e of [
      'volume.snapshots.metadata',
      'volume.volumes.list',
      'volume.volumes.get',
      'volume.snapshots.get',
      'compute.servers.volumeAttachments',
      'volume.versions',
    ]) {
      assert.equal(c[e]?.requests, 1, e);
    }
    const state = (await (await fetch(`${sim.baseUrl}/_sim/state`)).json()) as { volumes: { id: string }[]; snapshots: { id: string; status: string }[] };
    assert.equal(state.volumes.length, 6);
    assert.ok(state.snapshots.some((x) => x.id === String(any.id) && x.status === 'error'));
  });

  void test('createImage of a volume-backed server: snapshots of every volume by Nova, a zero-size active image with block_device_mapping', async () => {
    const before = new Set(sim.snapshots().map((x) => x.id));
    const r = await s.call('POST', `/compute/v2.1/servers/${BFV}/action`, {
      headers: NOVA,
      body: { createImage: { name: 'bfv-snap', metadata: { hotstack_snap_id: 'BFV1' } } },
    });
    assert.equal(r.status, 202);
    const imageId = r.body.image_id as string;
    const img = (await s.call('GET', `/image/v2/images/${imageId}`)).body;
    // nova/image/glance.py force-activates a size-0 image: raw/bare, zero bytes uploaded.
    assert.deepEqual(
      [img.status, img.size, img.disk_format, img.container_format, img.checksum, img.visibility],
      ['active', 0, 'raw', 'bare', 'd41d8cd98f00b204e9800998ecf8427e', 'private'],
    );
    assert.deepEqual([img.hotstack_snap_id, img.bdm_v2, img.root_device_name], ['BFV1', 'True', '/dev/vda']);
    assert.equal(typeof img.block_device_mapping, 'string');
    assert.match(img.block_device_mapping as string, /^\[\{"source_type": "snapshot", "destination_type": "volume", "snapshot_id": /);
    const bdms = JSON.parse(img.block_device_mapping as string) as Record<string, unknown>[];
    assert.deepEqual(
      bdms.map((b) => [b.device_name, b.boot_index, b.volume_size, b.source_type, b.destination_type]),
      [
        ['/dev/vda', 0, 40, 'snapshot', 'volume'],
        ['/dev/vdb', -1, 10, 'snapshot', 'volume'],
      ],
    );
    const made = sim.snapshots().filter((x) => !before.has(x.id as string));
    assert.deepEqual(made.map((x) => x.id).sort(), bdms.map((b) => b.snapshot_id).sort());
    assert.deepEqual(made.map((x) => [x.volume_id, x.name]).sort(), [
      [ROOT, 'snapshot for bfv-snap'],
      [BFV_DATA, 'snapshot for bfv-snap'],
    ]);
    for (const b of bdms) await available(String(b.snapshot_id));
    // Nova snapshots a volume-backed server inside the API call: no task_state left behind.
    assert.equal(sim.servers().find((x) => x.id === BFV)!.taskState, null);
    // Deleting the image leaves the snapshots (as on a real cloud).
    assert.equal((await s.call('DELETE', `/image/v2/images/${imageId}`)).status, 204);
    assert.ok(bdms.every((b) => statusOf(String(b.snapshot_id)) === 'available'));
  });

  void test('createImage of an image-backed server with attached volumes: the root disk only, no Cinder snapshot', async () => {
    const before = sim.snapshots().length;
    const r = await s.call('POST', `/compute/v2.1/servers/${MASTER0}/action`, { headers: NOVA, body: { createImage: { name: 'm0-snap' } } });
    assert.equal(r.status, 202);
    const img = (await s.call('GET', `/image/v2/images/${r.body.image_id as string}`)).body;
    assert.equal(img.block_device_mapping, undefined);
    assert.equal(img.instance_uuid, MASTER0);
    assert.equal(sim.snapshots().length, before);
    await waitFor('the image active', () => sim.images().find((i) => i.id === r.body.image_id)?.status === 'active');
    assert.equal(sim.snapshots().length, before);
  });

  void test('Glance: an image created without data stays queued (POST /v2/images)', async () => {
    const r = await s.call('POST', '/image/v2/images', { body: { name: 'no-data', disk_format: 'raw', container_format: 'bare' } });
    assert.equal(r.status, 201);
    assert.deepEqual([r.body.status, r.body.size], ['queued', null]);
    // Nothing moves it on: still queued after several times the longest image latency (4 ms here).
    await pause(50);
    const again = await s.call('GET', `/image/v2/images/${r.body.id as string}`);
    assert.deepEqual([again.body.status, again.body.size], ['queued', null]);
  });
});
