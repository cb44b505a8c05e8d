/**
 * The real OpenStack clients against the simulator: python-openstackclient (`openstack …`) and
 * openstacksdk, from a cached throwaway venv (test/helpers/py-openstack.ts). Skips, saying why, when
 * Python, venv or PyPI is not available. Asserts the commands' output and the simulator's request log.
 */
import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseScenario, snapshotSnoVolumes, type ScenarioInput } from '../src/sim/scenario.js';
import { startCloudSimulator, type CloudSimulator, type SimRequestRecord } from '../src/sim/cloud/index.js';
import { INSTANCES } from './fixtures/openstack/sim.js';
import { ensurePyOpenStack, type PyOpenStack } from './helpers/py-openstack.js';
import { rawSession } from './helpers/sim-http.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);

/** 25 servers: openstacksdk's `servers(limit=10)` takes three pages. */
const MANY: ScenarioInput['instances'] = {
  ...INSTANCES,
  ...Object.fromEntries(
    Array.from({ length: 22 }, (_, i) => [
      `worker-${String(i).padStart(2, '0')}`,
      {
        uuid: `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
        role: 'ocp_worker',
        mac_address: `fa:16:9e:81:f8:${String(i).padStart(2, '0')}`,
      },
    ]),
  ),
};
/** master0 as in hotstack's snapshot-sno: four data volumes. */
MANY.master0 = {
  ...MANY.master0!,
  volumes: snapshotSnoVolumes('master0', [
    'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a20',
    'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a21',
    'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a22',
    'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a23',
  ]),
};
const MASTER0 = MANY.master0.uuid;
const SNAP = '4d1e2f3a-5b6c-4d7e-8f90-a1b2c3d4e5f6';
const OTHER = '5e2f3a4b-6c7d-4e8f-9a01-b2c3d4e5f6a7';
const BASE_IMAGE = 'b1d1f4c6-0a7e-4c1b-9f53-3e6f1c2a9d10';

let py: PyOpenStack;
let sim: CloudSimulator;
let home: string;

/** Runs `python <args>` with only the simulator's clouds.yaml in its world (no OS_* from the caller). */
async function python(args: string[]): Promise<string> {
  assert.ok('python' in py);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    OS_CLIENT_CONFIG_FILE: sim.cloudsYamlPath,
    OS_CLOUD: sim.cloudName,
    PYTHONDONTWRITEBYTECODE: '1',
  };
  try {
    return (await run(py.python, args, { env, timeout: 120_000, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`python ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

const openstack = (...args: string[]) => python(['-m', 'openstackclient.shell', ...args]);

/** python-cinderclient reads no clouds.yaml: the same cloud through OS_* variables. */
async function cinder(...args: string[]): Promise<string> {
  assert.ok('python' in py);
  const c = sim.cloud;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    OS_AUTH_URL: sim.endpoints.identity,
    OS_AUTH_TYPE: 'password',
    OS_USERNAME: c.username,
    OS_PASSWORD: c.password,
    OS_PROJECT_NAME: c.projectName,
    OS_USER_DOMAIN_NAME: c.domainName,
    OS_PROJECT_DOMAIN_NAME: c.domainName,
    OS_REGION_NAME: c.region,
  };
  try {
    return (await run(py.python, ['-m', 'cinderclient.shell', ...args], { env, timeout: 120_000, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`cinder ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/** The simulator requests made while `fn` ran. */
async function logged<T>(fn: () => Promise<T>): Promise<{ out: T; reqs: SimRequestRecord[] }> {
  const before = sim.requestLog().at(-1)?.requestId;
  const out = await fn();
  const log = sim.requestLog();
  const i = before ? log.findIndex((r) => r.requestId === before) : -1;
  return { out, reqs: log.slice(i + 1) };
}

function skipIfNoClients(t: TestContext): boolean {
  if ('skip' in py) {
    t.skip(py.skip);
    return true;
  }
  return false;
}

void describe('real OpenStack clients (python-openstackclient, openstacksdk) against the simulator', () => {
  before(
    async () => {
      py = await ensurePyOpenStack();
      if ('skip' in py) {
        console.error(`# skipping the real-client tests: ${py.skip}`);
        return;
      }
      if (py.installedNow) console.error(`# installed the OpenStack clients into ${py.dir} in ${(py.installMs / 1000).toFixed(1)} s`);
      home = await mkdtemp(join(tmpdir(), 'sim-osc-home-'));
      sim = await startCloudSimulator(
        parseScenario({
          timeScale: 0.001,
          instances: MANY,
          cloud: {
            images: [
              { id: SNAP, name: 'hotstack-master0-snapshot-x', properties: { hotstack_snap_id: 'Ab3-x_9z' } },
              { id: OTHER, name: 'hotstack-master0-snapshot-y', properties: { hotstack_snap_id: 'Zz9-other' } },
            ],
          },
        }),
        { stateDir: home },
      );
    },
    { timeout: 1_000_000 },
  );
  after(async () => {
    await sim?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  void test('openstack server list --limit 2: two rows from one page of GET /servers/detail?limit=2', async (t) => {
    if (skipIfNoClients(t)) return;
    const { out, reqs } = await logged(() => openstack('server', 'list', '--limit', '2', '-f', 'json'));
    const rows = JSON.parse(out) as { ID: string; Name: string }[];
    assert.equal(rows.length, 2);
    const lists = reqs.filter((r) => r.endpoint === 'compute.servers.list');
    assert.equal(lists.length, 1);
    assert.equal(lists[0]!.path, '/compute/v2.1/servers/detail');
    assert.equal(new URLSearchParams(lists[0]!.query).get('limit'), '2');
    assert.equal(lists[0]!.status, 200);
  });

  void test('openstack server list: every server, the Image column filled through Glance id=in:…', async (t) => {
    if (skipIfNoClients(t)) return;
    const { out, reqs } = await logged(() => openstack('server', 'list', '-f', 'json'));
    const rows = JSON.parse(out) as { Name: string; Image: string; Flavor: string; Status: string }[];
    assert.deepEqual(rows.map((r) => r.Name).sort(), Object.keys(MANY).sort());
    assert.ok(
      rows.every((r) => r.Image === 'hotstack-base' && r.Flavor === 'hotstack.xlarge' && r.Status === 'ACTIVE'),
      JSON.stringify(rows[0]),
    );
    const imageLists = reqs.filter((r) => r.endpoint === 'image.images.list');
    assert.ok(
      imageLists.some((r) => new URLSearchParams(r.query).get('id') === `in:${BASE_IMAGE}` && r.status === 200),
      JSON.stringify(imageLists.map((r) => r.query)),
    );
  });

  void test('openstack image set --tag x --property y=z: one JSON-patch PATCH, the image changed', async (t) => {
    if (skipIfNoClients(t)) return;
    const { reqs } = await logged(() => openstack('image', 'set', '--tag', 'x', '--property', 'y=z', SNAP));
    const patches = reqs.filter((r) => r.endpoint === 'image.images.update');
    assert.equal(patches.length, 1);
    assert.equal(patches[0]!.method, 'PATCH');
    assert.equal(patches[0]!.status, 200);
    assert.equal(patches[0]!.headers.contentType, 'application/openstack-images-v2.1-json-patch');
    const ops = patches[0]!.body as { op: string; path: string; value?: unknown }[];
    assert.ok(
      ops.some((o) => o.path === '/y' && o.value === 'z'),
      JSON.stringify(ops),
    );
    assert.ok(
      ops.some((o) => o.path === '/tags' && Array.isArray(o.value) && o.value.includes('x')),
      JSON.stringify(ops),
    );
    const img = sim.images().find((i) => i.id === SNAP)!;
    assert.deepEqual([img.tags, img.y, img.hotstack_snap_id], [['x'], 'z', 'Ab3-x_9z']);
  });

  void test('openstack image list --property hotstack_snap_id=…: only that SnapSet image (filtered by the client over GET /v2/images)', async (t) => {
    if (skipIfNoClients(t)) return;
    const { out, reqs } = await logged(() => openstack('image', 'list', '--property', 'hotstack_snap_id=Ab3-x_9z', '-f', 'json'));
    assert.deepEqual(
      (JSON.parse(out) as { ID: string }[]).map((r) => r.ID),
      [SNAP],
    );
    // python-openstackclient filters --property itself, over every page of the plain list.
    const lists = reqs.filter((r) => r.endpoint === 'image.images.list');
    assert.ok(lists.length >= 1 && lists.every((r) => r.status === 200), JSON.stringify(lists));
  });

  void test('openstack image create --file and flavor list: POST /v2/images, PUT …/file, GET /flavors/detail', async (t) => {
    if (skipIfNoClients(t)) return;
    const data = join(home, 'image.dat');
    await writeFile(data, 'twelve bytes');
    const { out, reqs } = await logged(() =>
      openstack('image', 'create', '--disk-format', 'qcow2', '--container-format', 'bare', '--file', data, 'made-by-osc', '-f', 'json'),
    );
    const made = JSON.parse(out) as { id: string; status: string; size: number };
    assert.deepEqual([made.status, made.size], ['active', 12]);
    assert.deepEqual(
      reqs
        .filter((r) => r.endpoint.startsWith('image.images.'))
        .map((r) => [r.endpoint, r.status])
        .slice(0, 2),
      [
        ['image.images.create', 201],
        ['image.images.upload', 204],
      ],
    );
    const flavors = JSON.parse(await openstack('flavor', 'list', '-f', 'json')) as { Name: string; VCPUs: number }[];
    assert.deepEqual(flavors.map((f) => f.Name).sort(), ['hotstack.large', 'hotstack.small', 'hotstack.xlarge']);
  });

  void test('openstacksdk conn.compute.servers(limit=10): all 25 servers over pages that follow servers_links', async (t) => {
    if (skipIfNoClients(t)) return;
    const script = ['import json, openstack', 'conn = openstack.connect()', 'print(json.dumps([s.name for s in conn.compute.servers(limit=10)]))'].join('\n');
    const { out, reqs } = await logged(() => python(['-c', script]));
    const got = JSON.parse(out) as string[];
    assert.equal(got.length, 25);
    assert.deepEqual([...got].sort(), Object.keys(MANY).sort());
    const pages = reqs.filter((r) => r.endpoint === 'compute.servers.list');
    assert.ok(pages.length >= 3, `${pages.length} pages`);
    const markers = pages.map((r) => new URLSearchParams(r.query).get('marker'));
    assert.equal(markers[0], null);
    assert.equal(new Set(markers).size, markers.length, 'no page asked twice');
    assert.ok(pages.every((r) => new URLSearchParams(r.query).get('limit') === '10' && r.status === 200));
  });

  void test('openstack volume list, server volume list: master0 with its four volumes in-use, attached from both sides', async (t) => {
    if (skipIfNoClients(t)) return;
    const { out, reqs } = await logged(() => openstack('volume', 'list', '-f', 'json'));
    const rows = JSON.parse(out) as { ID: string; Name: string; Status: string; Size: number; 'Attached to': { server_id: string; device: string }[] }[];
    assert.deepEqual(rows.map((r) => [r.Name, r.Status, r.Size, r['Attached to'].map((a) => `${a.server_id} ${a.device}`).join()]).sort(), [
      ['master0-cinder-vol0', 'in-use', 20, `${MASTER0} /dev/vdc`],
      ['master0-cinder-vol1', 'in-use', 20, `${MASTER0} /dev/vdd`],
      ['master0-cinder-vol2', 'in-use', 20, `${MASTER0} /dev/vde`],
      ['master0-lvms-vol0', 'in-use', 20, `${MASTER0} /dev/vdb`],
    ]);
    assert.ok(
      reqs.some((r) => r.endpoint === 'volume.volumes.list' && r.path.endsWith('/volumes/detail') && r.status === 200),
      JSON.stringify(reqs.map((r) => r.path)),
    );
    const { out: sv, reqs: svReqs } = await logged(() => openstack('server', 'volume', 'list', 'master0', '-f', 'json'));
    const atts = JSON.parse(sv) as { Device: string; 'Volume ID': string; 'Server ID': string }[];
    assert.deepEqual(
      atts.map((a) => [a.Device, a['Volume ID'], a['Server ID']]),
      Object.values(MANY.master0!.volumes!).map((v) => [v.device, v.id, MASTER0]),
    );
    assert.ok(svReqs.some((r) => r.endpoint === 'compute.servers.volumeAttachments' && r.status === 200));
  });

  void test('volume snapshots of one SnapSet: cinder snapshot-list --metadata filters on the server; openstack volume snapshot list --long shows their properties', async (t) => {
    if (skipIfNoClients(t)) return;
    const s = rawSession(() => sim);
    await s.login();
    const create = async (volumeId: string, snapId: string) => {
      const r = await s.call('POST', `/volume/v3/${sim.cloud.projectId}/snapshots`, {
        headers: { 'OpenStack-API-Version': 'volume 3.50' },
        body: { snapshot: { volume_id: volumeId, name: `snap-${snapId}`, force: true, metadata: { hotstack_snap_id: snapId } } },
      });
      assert.equal(r.status, 202, r.text);
      return (r.body.snapshot as { id: string }).id;
    };
    const vols = Object.values(MANY.master0!.volumes!).map((v) => v.id);
    const mine = [await create(vols[0]!, 'Set-A_1'), await create(vols[1]!, 'Set-A_1'), await create(vols[2]!, 'Set-A_1')];
    const other = await create(vols[3]!, 'Set-B_2');
    await waitFor('the snapshots available', () => sim.snapshots().every((x) => x.status === 'available'), {
      seen: () => sim.snapshots().map((x) => x.status),
    });

    // python-cinderclient sends the filter as Cinder's API reference says: a dict literal in `metadata`.
    const { out, reqs } = await logged(() => cinder('--os-volume-api-version', '3.50', 'snapshot-list', '--metadata', 'hotstack_snap_id=Set-A_1'));
    const listed = [...out.matchAll(/^\| ([0-9a-f-]{36}) \|/gm)].map((m) => m[1]);
    assert.deepEqual(listed.sort(), [...mine].sort());
    const list = reqs.find((r) => r.endpoint === 'volume.snapshots.list')!;
    assert.equal(new URLSearchParams(list.query).get('metadata'), "{'hotstack_snap_id': 'Set-A_1'}");
    assert.equal(list.headers.microversion, 'volume 3.50');

    // python-openstackclient 10.5 has no --property on `volume snapshot list`: it lists every snapshot
    // with its properties, and the SnapSet's are exactly those carrying its hotstack_snap_id.
    const rows = JSON.parse(await openstack('volume', 'snapshot', 'list', '--long', '-f', 'json')) as {
      ID: string;
      Status: string;
      Volume: string;
      Properties: Record<string, string>;
    }[];
    assert.deepEqual(
      rows
        .filter((r) => r.Properties.hotstack_snap_id === 'Set-A_1')
        .map((r) => r.ID)
        .sort(),
      [...mine].sort(),
    );
    assert.ok(rows.some((r) => r.ID === other && r.Properties.hotstack_snap_id === 'Set-B_2'));
    assert.ok(rows.every((r) => r.Status === 'available'));
    assert.equal(rows.find((r) => r.ID === mine[0])!.Volume, vols[0]);
  });
});
