import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import {
  ComputeClient,
  createOpenStackClient,
  loadCloudConfig,
  OpenStackBadRequestError,
  OpenStackConflictError,
  IMAGE_PATCH_MEDIA_TYPE,
  imagePatchPath,
  imageSnapshotMappings,
  OpenStackEndpointNotFoundError,
  OpenStackForbiddenError,
  OpenStackHttpError,
  OpenStackNetworkError,
  OpenStackNotFoundError,
  OpenStackServerError,
  OpenStackTimeoutError,
  OpenStackUnauthorizedError,
  Session,
  type CloudConfig,
} from '../src/openstack/index.js';
import { SnapsetError } from '../src/shared/errors.js';
import { INSTANCES, MASTER0_UUID, startSim, type SimFixture } from './fixtures/openstack/sim.js';
import { waitFor } from './helpers/wait.js';

let f: SimFixture;

/** A cloud entry of the simulator's clouds.yaml, adjusted. */
async function simCloud(name = 'sim', patch: Partial<CloudConfig> = {}): Promise<CloudConfig> {
  const cfg = await loadCloudConfig(name, { env: f.env, cwd: '/nonexistent' });
  return { ...cfg, ...patch, auth: { ...cfg.auth, ...patch.auth } };
}

/** Asserts the error class, its retryability, and that no secret leaked into message or details. */
function assertError(err: unknown, cls: abstract new (...a: never[]) => SnapsetError, retryable: boolean): true {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.equal(err.name, cls.name);
  assert.equal(err.retryable, retryable);
  const text = err.message + JSON.stringify(err.details());
  for (const secret of [f.sim.cloud.password, f.sim.cloud.applicationCredential.secret, 'gAAAAA']) {
    assert.ok(!text.includes(secret), `secret leaked into ${cls.name}: ${text}`);
  }
  return true;
}

void describe('OpenStack client against the simulator', () => {
  before(async () => {
    // 30 images for the pagination test: every second one tagged `even` with property parity=even.
    const images = Array.from({ length: 30 }, (_, i) => ({
      name: `page-${String(i).padStart(2, '0')}`,
      tags: ['page-test', ...(i % 2 === 0 ? ['even'] : [])],
      properties: { parity: i % 2 === 0 ? 'even' : 'odd' },
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    }));
    // Snapshots take ~250 ms here, long enough to observe the server's task_state.
    const latencies = { snapshotMs: 100_000, pendingUploadMs: 50_000, uploadMs: 100_000 };
    f = await startSim({ extraRegions: ['RegionTwo'], tokenTtlSeconds: 3600, images, latencies });
  });
  after(async () => {
    await f.close();
  });

  void test('password auth: token issued once and re-used; the catalog gives the public endpoints', async () => {
    const c = createOpenStackClient(await simCloud('sim'));
    try {
      const s = await c.compute.getServer(MASTER0_UUID);
      assert.equal(s.status, 'ACTIVE');
      assert.equal(s.vmState, 'active');
      assert.equal(s.taskState, null);
      assert.equal(s.powerState, 1);
      await c.image.getImage((await c.image.listAllImages({ name: 'hotstack-base' }))[0]!.id);
      assert.equal(c.session.authCount, 1);
      const token = await c.session.getToken();
      assert.deepEqual(token.methods, ['password']);
      assert.equal(await c.session.endpoint('compute'), `${f.sim.baseUrl}/compute/v2.1`);
      assert.equal(await c.session.endpoint('image'), `${f.sim.baseUrl}/image/v2`);
    } finally {
      c.close();
    }
  });

  void test('v3applicationcredential auth, by id (clouds.yaml) and by name + user', async () => {
    const byId = createOpenStackClient(await simCloud('sim-appcred'));
    const byName = createOpenStackClient(
      await simCloud('sim-appcred', {
        auth: {
          auth_url: f.sim.authUrl,
          application_credential_name: f.sim.cloud.applicationCredential.name,
          application_credential_secret: f.sim.cloud.applicationCredential.secret,
          username: f.sim.cloud.username,
          user_domain_name: f.sim.cloud.domainName,
        },
      }),
    );
    try {
      for (const c of [byId, byName]) {
        assert.equal((await c.compute.getServer(MASTER0_UUID)).id, MASTER0_UUID);
        assert.deepEqual((await c.session.getToken()).methods, ['application_credential']);
      }
    } finally {
      byId.close();
      byName.close();
    }
  });

  void test('v3token auth re-scopes an existing token', async () => {
    const pw = createOpenStackClient(await simCloud('sim'));
    const existing = (await pw.session.getToken()).id;
    const c = createOpenStackClient({
      ...(await simCloud('sim')),
      authType: 'v3token',
      auth: { auth_url: f.sim.authUrl, token: existing, project_name: 'hotstack', project_domain_id: 'default' },
    });
    try {
      assert.equal((await c.compute.getServer(MASTER0_UUID)).status, 'ACTIVE');
      const t = await c.session.getToken();
      assert.notEqual(t.id, existing);
      assert.ok(t.methods.includes('token'));
    } finally {
      pw.close();
      c.close();
    }
  });

  void test('catalog selection by interface and region', async () => {
    const cases: [Partial<CloudConfig>, string, string][] = [
      [{ interface: 'internal' }, 'internal', 'RegionOne'],
      [{ interface: 'admin', regionName: 'RegionTwo' }, 'admin', 'RegionTwo'],
      [{ interface: 'public', regionName: 'RegionTwo' }, 'public', 'RegionTwo'],
    ];
    for (const [patch, iface, region] of cases) {
      const c = createOpenStackClient(await simCloud('sim', patch));
      try {
        const before = f.sim.requestLog().length;
        await c.compute.getServer(MASTER0_UUID);
        await c.image.listAllImages({ limit: 5 });
        const served = f.sim
          .requestLog()
          .slice(before)
          .filter((r) => r.endpoint !== 'identity.tokens.create');
        assert.ok(served.length >= 2);
        for (const r of served) {
          assert.equal(r.interface, iface, `${r.path} served by ${r.interface}`);
          assert.equal(r.region, region, `${r.path} served in ${r.region}`);
        }
      } finally {
        c.close();
      }
    }
    const nowhere = createOpenStackClient(await simCloud('sim', { regionName: 'RegionNine' }));
    try {
      await assert.rejects(nowhere.compute.getServer(MASTER0_UUID), (err) => {
        assertError(err, OpenStackEndpointNotFoundError, false);
        assert.match((err as Error).message, /no compute endpoint with interface public in region RegionNine/);
        return true;
      });
    } finally {
      nowhere.close();
    }
  });

  void test('<service>_endpoint_override bypasses the catalog (unversioned override gets its version)', async () => {
    const c = createOpenStackClient(
      await simCloud('sim', { endpointOverrides: { compute: `${f.sim.baseUrl}/internal/compute/v2.1`, image: `${f.sim.baseUrl}/admin/image` } }),
    );
    try {
      assert.equal(await c.session.endpoint('image'), `${f.sim.baseUrl}/admin/image/v2`);
      const before = f.sim.requestLog().length;
      await c.compute.getServer(MASTER0_UUID);
      await c.image.listAllImages({ limit: 100 });
      const ifaces = f.sim
        .requestLog()
        .slice(before)
        .filter((r) => r.endpoint !== 'identity.tokens.create')
        .map((r) => r.interface);
      assert.deepEqual(ifaces, ['internal', 'admin']);
    } finally {
      c.close();
    }
  });

  void test('token renewal: a 401 (token expired by the cloud) re-authenticates once and retries', async () => {
    const c = createOpenStackClient(await simCloud('sim'));
    try {
      await c.compute.getServer(MASTER0_UUID);
      assert.equal(c.session.authCount, 1);
      f.sim.expireTokens();
      assert.equal((await c.compute.getServer(MASTER0_UUID)).id, MASTER0_UUID);
      assert.equal(c.session.authCount, 2);
      // The same through the control endpoint's fault switch.
      f.sim.setFaults({ expireTokens: true });
      await c.image.listAllImages({ limit: 2 });
      assert.equal(c.session.authCount, 3);
    } finally {
      c.close();
    }
  });

  void test('token renewal before expiry (no 401 needed)', async () => {
    let now = Date.now();
    const c = createOpenStackClient(await simCloud('sim'), { now: () => now });
    try {
      await c.compute.getServer(MASTER0_UUID);
      const first = await c.session.getToken();
      now += 3600_000 - 60_000; // within the 120 s window before expiry
      await c.compute.getServer(MASTER0_UUID);
      assert.equal(c.session.authCount, 2);
      assert.notEqual((await c.session.getToken()).id, first.id);
    } finally {
      c.close();
    }
  });

  void test('pagination follows `next` across several pages and keeps the filters', async () => {
    const c = createOpenStackClient(await simCloud('sim'));
    try {
      const before = f.sim.counters()['image.images.list']?.requests ?? 0;
      const all = await c.image.listAllImages({ tags: ['page-test'], limit: 7 });
      const pages = (f.sim.counters()['image.images.list']?.requests ?? 0) - before;
      assert.equal(all.length, 30);
      assert.equal(new Set(all.map((i) => i.id)).size, 30);
      assert.equal(pages, 5); // 7+7+7+7+2
      assert.ok(all.every((i) => i.tags.includes('page-test')));
      // Newest first (Glance's default sort), property filter and repeated tag filter.
      const even = await c.image.listAllImages({ tags: ['page-test', 'even'], properties: { parity: 'even' }, limit: 4 });
      assert.equal(even.length, 15);
      assert.ok(even.every((i) => i.properties.parity === 'even'));
      const asc = await c.image.listAllImages({ tags: ['page-test'], sort: 'name:asc', limit: 8 });
      assert.deepEqual(
        asc.map((i) => i.name),
        [...asc.map((i) => i.name!)].sort(),
      );
    } finally {
      c.close();
    }
  });

  void test('every error class, with status, request id and the service message, and no secrets', async () => {
    const c = createOpenStackClient(await simCloud('sim'));
    try {
      // 400 (Glance rejects an unknown sort key)
      await assert.rejects(c.image.listAllImages({ sort: 'bogus:asc' }), (err) => {
        assertError(err, OpenStackBadRequestError, false);
        const e = err as OpenStackHttpError;
        assert.equal(e.status, 400);
        assert.match(e.requestId ?? '', /^req-[0-9a-f-]{36}$/);
        assert.match(e.serviceMessage, /Invalid sort key: bogus/);
        assert.equal(e.method, 'GET');
        return true;
      });
      // 401 (wrong password: Keystone's answer, not retried)
      const bad = createOpenStackClient(await simCloud('sim', { auth: { auth_url: f.sim.authUrl, password: 'wrong' } as CloudConfig['auth'] }));
      try {
        const before = f.sim.counters()['identity.tokens.create']?.requests ?? 0;
        await assert.rejects(bad.compute.getServer(MASTER0_UUID), (err) => {
          assertError(err, OpenStackUnauthorizedError, false);
          assert.match((err as Error).message, /requires authentication/);
          assert.ok(!(err as Error).message.includes('wrong'));
          return true;
        });
        assert.equal((f.sim.counters()['identity.tokens.create']?.requests ?? 0) - before, 1);
      } finally {
        bad.close();
      }
      // 403 (the base image is protected)
      const base = (await c.image.listAllImages({ name: 'hotstack-base' }))[0]!;
      await assert.rejects(c.image.deleteImage(base.id), (err) => assertError(err, OpenStackForbiddenError, false));
      // 404 (Nova's itemNotFound)
      await assert.rejects(c.compute.getServer('00000000-0000-4000-8000-000000000000'), (err) => {
        assertError(err, OpenStackNotFoundError, false);
        assert.match((err as OpenStackHttpError).serviceMessage, /Instance 00000000-0000-4000-8000-000000000000 could not be found/);
        return true;
      });
      // 409 (start an ACTIVE server)
      await assert.rejects(c.compute.startServer(MASTER0_UUID), (err) => {
        assertError(err, OpenStackConflictError, true);
        assert.match((err as OpenStackHttpError).serviceMessage, /Cannot 'start' instance .* while it is in vm_state active/);
        return true;
      });
      // 5xx: Nova's own 500 and a load balancer's 503 page
      f.sim.setFaults({ endpoints: { 'compute.servers.get': { failNext: 1, errorStatus: 500 } } });
      await assert.rejects(c.compute.getServer(MASTER0_UUID), (err) => {
        assertError(err, OpenStackServerError, true);
        assert.match((err as OpenStackHttpError).serviceMessage, /Unexpected API Error/);
        return true;
      });
      f.sim.setFaults({ endpoints: { 'image.images.get': { failNext: 1, errorStatus: 503 } } });
      await assert.rejects(c.image.getImage(base.id), (err) => {
        assertError(err, OpenStackServerError, true);
        assert.match((err as OpenStackHttpError).serviceMessage, /503 Service Unavailable No server is available/);
        return true;
      });
      // Another unexpected status: the base class (406, a microversion the cloud does not speak)
      const future = createOpenStackClient(await simCloud('sim'), { computeMicroversion: '2.999' });
      try {
        await assert.rejects(future.compute.getServer(MASTER0_UUID), (err) => {
          assert.equal((err as Error).constructor, OpenStackHttpError);
          assertError(err, OpenStackHttpError, false);
          assert.equal((err as OpenStackHttpError).status, 406);
          return true;
        });
      } finally {
        future.close();
      }
      // Network: the answer is lost (connection reset after the cloud acted)
      f.sim.setFaults({ endpoints: { 'compute.servers.get': { dropNext: 1 } } });
      await assert.rejects(c.compute.getServer(MASTER0_UUID), (err) => assertError(err, OpenStackNetworkError, true));
      // Timeout: the cloud is slower than the request timeout
      const impatient = createOpenStackClient(await simCloud('sim'), { timeoutMs: 50 });
      try {
        await impatient.session.getToken();
        f.sim.setFaults({ endpoints: { 'compute.servers.get': { latencyMs: 300_000 } } }); // × 0.001 = 300 ms
        await assert.rejects(impatient.compute.getServer(MASTER0_UUID), (err) => assertError(err, OpenStackTimeoutError, true));
      } finally {
        f.sim.setFaults({ endpoints: { 'compute.servers.get': { latencyMs: 0 } } });
        impatient.close();
      }
      // Network: nobody listens
      const gone = createOpenStackClient(await simCloud('sim', { endpointOverrides: { compute: 'http://127.0.0.1:1/compute/v2.1' } }));
      try {
        await assert.rejects(gone.compute.getServer(MASTER0_UUID), (err) => {
          assertError(err, OpenStackNetworkError, true);
          assert.match((err as Error).message, /ECONNREFUSED/);
          return true;
        });
      } finally {
        gone.close();
      }
    } finally {
      c.close();
    }
  });

  void test('an aborted signal stops a request with the signal reason', async () => {
    const c = createOpenStackClient(await simCloud('sim'));
    try {
      await c.session.getToken();
      f.sim.setFaults({ endpoints: { 'image.images.list': { latencyMs: 200_000 } } });
      const ac = new AbortController();
      const why = new Error('stop now');
      setTimeout(() => ac.abort(why), 20);
      await assert.rejects(c.image.listAllImages({}, { signal: ac.signal }), (err) => err === why);
    } finally {
      f.sim.setFaults({ endpoints: { 'image.images.list': { latencyMs: 0 } } });
      c.close();
    }
  });

  void test('Nova createImage → image_id (≥ 2.45); server task_state while snapshotting; 409 when busy', async () => {
    const c = createOpenStackClient(await simCloud('sim'));
    try {
      const { imageId } = await c.compute.createImage(MASTER0_UUID, 'client-snap', { hotstack_snap_id: 'cli' });
      assert.equal((await c.compute.getServer(MASTER0_UUID)).taskState, 'image_snapshot');
      await assert.rejects(c.compute.createImage(MASTER0_UUID, 'again'), (err) => assertError(err, OpenStackConflictError, true));
      const img = await c.image.getImage(imageId);
      assert.equal(img.name, 'client-snap');
      assert.equal(img.properties.hotstack_snap_id, 'cli');
      assert.equal(img.properties.instance_uuid, MASTER0_UUID);
      await waitFor('the image to be active', async () => (await c.image.getImage(imageId)).status === 'active', { intervalMs: 10 });
      assert.equal((await c.compute.getServer(MASTER0_UUID)).taskState, null);
      await c.image.addTag(imageId, 'x');
      await c.image.addTag(imageId, 'x');
      assert.deepEqual((await c.image.getImage(imageId)).tags, ['x']);
      await c.image.removeTag(imageId, 'x');
      await assert.rejects(c.image.removeTag(imageId, 'x'), (err) => assertError(err, OpenStackNotFoundError, false));
      await c.image.deleteImage(imageId);
      await assert.rejects(c.image.getImage(imageId), (err) => assertError(err, OpenStackNotFoundError, false));
    } finally {
      c.close();
    }
  });

  void test('one session per cloud: the provider re-uses clients (and tokens) across calls and spellings', async () => {
    const a = await f.provider.client();
    const b = await f.provider.client('sim');
    assert.equal(a, b);
    assert.notEqual(await f.provider.client('sim-appcred'), a);
    await assert.rejects(f.provider.client('nope'), /clouds\.nope: cloud "nope" is not defined/);
  });

  void test('the clouds.yaml written by the simulator works as is, and with its password split into secure.yaml', async () => {
    const yaml = await import('yaml');
    const { readFile } = await import('node:fs/promises');
    const doc = yaml.parse(await readFile(f.sim.cloudsYamlPath, 'utf8')) as {
      clouds: Record<string, { auth: Record<string, string>; auth_type: string; region_name: string }>;
    };
    assert.equal(doc.clouds.sim!.auth_type, 'password');
    assert.equal(doc.clouds.sim!.auth.auth_url, f.sim.authUrl);
    assert.equal(doc.clouds.sim!.region_name, 'RegionOne');
    assert.equal(doc.clouds['sim-appcred']!.auth_type, 'v3applicationcredential');
    // A copy with secure.yaml split out still works (the password moved to secure.yaml).
    const dir = dirname(f.sim.cloudsYamlPath);
    const copy = structuredClone(doc);
    delete copy.clouds.sim!.auth.password;
    await writeFile(join(dir, 'split-clouds.yaml'), yaml.stringify(copy));
    await writeFile(join(dir, 'split-secure.yaml'), yaml.stringify({ clouds: { sim: { auth: { password: f.sim.cloud.password } } } }));
    const cfg = await loadCloudConfig('sim', {
      env: { OS_CLIENT_CONFIG_FILE: join(dir, 'split-clouds.yaml'), OS_CLIENT_SECURE_FILE: join(dir, 'split-secure.yaml'), HOME: '/nonexistent' },
      cwd: '/nonexistent',
    });
    const s = new Session(cfg);
    try {
      assert.ok((await s.getToken()).id);
    } finally {
      s.close();
    }
  });
});

/** Seven servers more than the default three, so that server lists take several pages. */
const MANY: NonNullable<Parameters<typeof startSim>[1]>['instances'] = {
  ...INSTANCES,
  ...Object.fromEntries(
    Array.from({ length: 7 }, (_, i) => [
      `worker${i}`,
      { uuid: `00000000-0000-4000-8000-00000000000${i}`, role: 'ocp_worker', mac_address: `fa:16:9e:81:f7:0${i}`, status: i % 2 ? 'SHUTOFF' : 'ACTIVE' },
    ]),
  ),
};

void describe('OpenStack client: image update (JSON-patch) and server lists', () => {
  let g: SimFixture;
  before(async () => {
    g = await startSim({ images: [{ name: 'patch-me', tags: ['old'], properties: { keep: 'k', drop: 'd' } }, { name: 'in:colon' }] }, { instances: MANY });
  });
  after(async () => {
    await g.close();
  });
  const client = async () => createOpenStackClient(await loadCloudConfig('sim', { env: g.env, cwd: '/nonexistent' }));

  // Image API v2 reference, "Update image" (PATCH /v2/images/{image_id}, JSON-patch media type).
  void test('updateImage sends one PATCH with the v2.1 JSON-patch media type and returns the whole image', async () => {
    const c = await client();
    try {
      const [img] = await c.image.listAllImages({ name: 'patch-me' });
      const ops = [
        { op: 'replace', path: '/tags', value: ['a', 'b', 'a', 'snap_id=x/y'] },
        { op: 'add', path: imagePatchPath('hotstack/role'), value: 'master' },
        { op: 'replace', path: '/keep', value: 'k2' },
        { op: 'remove', path: '/drop' },
        { op: 'replace', path: '/min_ram', value: 512 },
      ] as const;
      const before = g.sim.requestLog().length;
      const out = await c.image.updateImage(img!.id, [...ops]);
      const sent = g.sim
        .requestLog()
        .slice(before)
        .filter((r) => r.endpoint !== 'identity.tokens.create');
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.method, 'PATCH');
      assert.equal(sent[0]!.endpoint, 'image.images.update');
      assert.equal(sent[0]!.path, `/image/v2/images/${img!.id}`);
      assert.equal(sent[0]!.headers.contentType, IMAGE_PATCH_MEDIA_TYPE);
      assert.deepEqual(sent[0]!.body, ops);
      assert.equal(sent[0]!.status, 200);
      assert.deepEqual(out.tags, ['a', 'b', 'snap_id=x/y']);
      assert.deepEqual(
        { role: out.properties['hotstack/role'], keep: out.properties.keep, drop: out.properties.drop },
        { role: 'master', keep: 'k2', drop: undefined },
      );
      assert.equal(out.raw.min_ram, 512);
      // The simulator's own state changed, not just the answer.
      const stored = g.sim.images().find((i) => i.id === img!.id)!;
      assert.deepEqual(stored.tags, ['a', 'b', 'snap_id=x/y']);
      assert.equal(stored.keep, 'k2');
      assert.equal('drop' in stored, false);
      assert.equal(g.sim.counters()['image.images.update']!.requests, 1);
    } finally {
      c.close();
    }
  });

  void test('updateImage errors: read-only attribute 403, missing property 409, bad value 400; nothing applied', async () => {
    const c = await client();
    try {
      const [img] = await c.image.listAllImages({ name: 'patch-me' });
      const tagsBefore = (await c.image.getImage(img!.id)).tags;
      await assert.rejects(
        c.image.updateImage(img!.id, [
          { op: 'replace', path: '/tags', value: ['z'] },
          { op: 'replace', path: '/status', value: 'active' },
        ]),
        (err) => {
          assertError(err, OpenStackForbiddenError, false);
          assert.match((err as OpenStackHttpError).serviceMessage, /Attribute 'status' is read-only/);
          return true;
        },
      );
      await assert.rejects(c.image.updateImage(img!.id, [{ op: 'remove', path: '/nope' }]), (err) => {
        assertError(err, OpenStackConflictError, true);
        assert.match((err as OpenStackHttpError).serviceMessage, /Property nope does not exist/);
        return true;
      });
      await assert.rejects(c.image.updateImage(img!.id, [{ op: 'add', path: '/x', value: 3 }]), (err) => {
        assertError(err, OpenStackBadRequestError, false);
        assert.match((err as OpenStackHttpError).serviceMessage, /does not match schema 'image'/);
        return true;
      });
      await assert.rejects(c.image.updateImage('00000000-0000-4000-8000-00000000dead', []), (err) => assertError(err, OpenStackNotFoundError, false));
      assert.deepEqual((await c.image.getImage(img!.id)).tags, tagsBefore);
      assert.deepEqual(g.sim.counters()['image.images.update']!.byStatus, { '200': 1, '403': 1, '409': 1, '400': 1, '404': 1 });
    } finally {
      c.close();
    }
  });

  // Image API v2 reference, "List images": `name` takes operators, so a literal colon needs `eq:`.
  void test('listImages sends a name with a colon as eq:<name>, which Glance does not read as an operator', async () => {
    const c = await client();
    try {
      const before = g.sim.requestLog().length;
      const found = await c.image.listAllImages({ name: 'in:colon' });
      assert.deepEqual(
        found.map((i) => i.name),
        ['in:colon'],
      );
      const sent = g.sim
        .requestLog()
        .slice(before)
        .find((r) => r.endpoint === 'image.images.list')!;
      assert.equal(new URLSearchParams(sent.query).get('name'), 'eq:in:colon');
    } finally {
      c.close();
    }
  });

  void test('getServersByIds lists the project once, then GETs each server while the project is many times larger than the set', async () => {
    const c = await client();
    try {
      const compute = new ComputeClient(c.session, { listWhenProjectAtMost: 2 }); // 10 servers > 2 × 2 asked for
      const ids = [MANY.worker0!.uuid, MANY.worker1!.uuid];
      const calls = async () => {
        const before = g.sim.requestLog().length;
        const found = await compute.getServersByIds(ids);
        assert.deepEqual([...found.keys()], ids);
        assert.deepEqual(
          [...found.values()].map((s) => s.status),
          ['ACTIVE', 'SHUTOFF'],
        );
        const sent = g.sim.requestLog().slice(before);
        return ['compute.servers.list', 'compute.servers.get'].map((e) => sent.filter((r) => r.endpoint === e).length);
      };
      assert.deepEqual(await calls(), [1, 0], 'the first call lists the project (and learns its size)');
      assert.deepEqual(await calls(), [0, 2], 'then one GET per server');
      assert.deepEqual(await new ComputeClient(c.session, { listWhenProjectAtMost: 5 }).getServersByIds(ids).then((m) => m.size), 2);
    } finally {
      c.close();
    }
  });

  // Compute API reference, "List Servers Detailed" (GET /servers/detail: limit, marker, servers_links).
  void test('listServers follows servers_links page by page with the filters and microversion on every request', async () => {
    const c = await client();
    try {
      const before = g.sim.requestLog().length;
      const all = await c.compute.listAllServers({ limit: 3, sortKey: 'display_name', sortDir: 'asc' });
      const sent = g.sim
        .requestLog()
        .slice(before)
        .filter((r) => r.endpoint === 'compute.servers.list');
      assert.deepEqual(
        all.map((s) => s.name),
        Object.keys(MANY).sort(),
      );
      assert.ok(
        all.every((s) => typeof s.raw['OS-EXT-STS:vm_state'] === 'string'),
        'detail view',
      );
      assert.equal(sent.length, 4); // 3 + 3 + 3 + 1, the last page without a next link
      for (const r of sent) {
        assert.equal(r.method, 'GET');
        assert.equal(r.path, '/compute/v2.1/servers/detail');
        assert.equal(r.headers.microversion, 'compute 2.60');
        assert.equal(r.headers.novaMicroversion, '2.60');
        const q = new URLSearchParams(r.query);
        assert.deepEqual([q.get('limit'), q.get('sort_key'), q.get('sort_dir')], ['3', 'display_name', 'asc']);
      }
      assert.equal(new URLSearchParams(sent[0]!.query).get('marker'), null);
      assert.equal(new URLSearchParams(sent[1]!.query).get('marker'), all[2]!.id);
      assert.equal(new URLSearchParams(sent[3]!.query).get('marker'), all[8]!.id);
    } finally {
      c.close();
    }
  });

  void test('listServers filters: status, name (a regex, as Nova), changes-since, marker; 400 on an unknown marker', async () => {
    const c = await client();
    try {
      const shutoff = await c.compute.listAllServers({ status: 'SHUTOFF' });
      assert.deepEqual(shutoff.map((s) => s.name).sort(), ['worker1', 'worker3', 'worker5']);
      assert.ok(shutoff.every((s) => s.status === 'SHUTOFF'));
      const masters = await c.compute.listAllServers({ name: '^master[0-9]$', sortKey: 'display_name', sortDir: 'desc' });
      assert.deepEqual(
        masters.map((s) => s.name),
        ['master1', 'master0'],
      );
      assert.deepEqual(await c.compute.listAllServers({ changesSince: '2999-01-01T00:00:00Z' }), []);
      assert.equal((await c.compute.listAllServers({ changesSince: '2000-01-01T00:00:00Z' })).length, 10);
      const sorted = await c.compute.listAllServers({ sortKey: 'display_name', sortDir: 'asc' });
      const after = await c.compute.listAllServers({ sortKey: 'display_name', sortDir: 'asc', marker: sorted[6]!.id });
      assert.deepEqual(
        after.map((s) => s.name),
        sorted.slice(7).map((s) => s.name),
      );
      await assert.rejects(c.compute.listAllServers({ marker: '00000000-0000-4000-8000-00000000dead' }), (err) => {
        assertError(err, OpenStackBadRequestError, false);
        assert.match((err as OpenStackHttpError).serviceMessage, /marker \[00000000-0000-4000-8000-00000000dead\] not found/);
        return true;
      });
    } finally {
      c.close();
    }
  });
});

void describe('OpenStack client: Cinder v3 (VolumeClient) and Nova volume attachments against the simulator', () => {
  const VOLS = ['c1d2e3f4-0a1b-4c2d-8e3f-4a5b6c7d8e90', 'c1d2e3f4-0a1b-4c2d-8e3f-4a5b6c7d8e91'] as const;
  const BFV_UUID = 'd2e3f4a5-1b2c-4d3e-8f4a-5b6c7d8e9f01';
  const BFV_VOLS = ['d2e3f4a5-1b2c-4d3e-8f4a-5b6c7d8e9f02', 'd2e3f4a5-1b2c-4d3e-8f4a-5b6c7d8e9f03'] as const;
  let g: SimFixture;
  before(async () => {
    g = await startSim(
      { latencies: { volumeSnapshotMs: 100_000, volumeSnapshotDeleteMs: 50_000 } },
      {
        instances: {
          ...INSTANCES,
          master0: {
            ...INSTANCES.master0!,
            volumes: {
              'master0-lvms-vol0': { id: VOLS[0], size: 20, device: '/dev/vdb' },
              'master0-cinder-vol0': { id: VOLS[1], size: 30, device: '/dev/vdc' },
            },
          },
          bfv0: {
            uuid: BFV_UUID,
            role: 'ocp_master',
            mac_address: 'fa:16:9e:81:f6:20',
            rootVolume: { id: BFV_VOLS[0], size: 25 },
            volumes: { 'bfv0-data': { id: BFV_VOLS[1], size: 5, device: '/dev/vdb' } },
          },
        },
      },
    );
  });
  after(async () => {
    await g.close();
  });
  const client = async (patch: Partial<CloudConfig> = {}, opts: { volumeMicroversion?: string } = {}) => {
    const cfg = await loadCloudConfig('sim', { env: g.env, cwd: '/nonexistent' });
    return createOpenStackClient({ ...cfg, ...patch }, opts);
  };
  const volumeRequests = (since: number) =>
    g.sim
      .requestLog()
      .slice(since)
      .filter((r) => r.endpoint.startsWith('volume.'));

  void test('endpoint from the catalog (volumev3, project in the URL), getVolume, listVolumeAttachments; microversion header on every call', async () => {
    const c = await client();
    try {
      assert.equal(await c.volume.endpoint(), g.sim.endpoints.volume);
      const before = g.sim.requestLog().length;
      const v = await c.volume.getVolume(VOLS[1]);
      assert.deepEqual([v.id, v.name, v.status, v.size, v.bootable], [VOLS[1], 'master0-cinder-vol0', 'in-use', 30, false]);
      assert.deepEqual(
        v.attachments.map((a) => [a.serverId, a.device, typeof a.attachmentId]),
        [[MASTER0_UUID, '/dev/vdc', 'string']],
      );
      assert.deepEqual(
        volumeRequests(before).map((r) => r.headers.microversion),
        ['volume 3.50'],
      );
      const atts = await c.compute.listVolumeAttachments(MASTER0_UUID);
      assert.deepEqual(
        atts.map((a) => [a.id, a.volumeId, a.serverId, a.device]),
        [
          [VOLS[0], VOLS[0], MASTER0_UUID, '/dev/vdb'],
          [VOLS[1], VOLS[1], MASTER0_UUID, '/dev/vdc'],
        ],
      );
      assert.deepEqual(await c.compute.listVolumeAttachments((INSTANCES.controller as { uuid: string }).uuid), []);
      await assert.rejects(c.volume.getVolume('00000000-0000-4000-8000-000000000000'), (err) => {
        assertError(err, OpenStackNotFoundError, false);
        assert.match((err as OpenStackHttpError).serviceMessage, /Volume 00000000-0000-4000-8000-000000000000 could not be found/);
        return true;
      });
    } finally {
      c.close();
    }
  });

  void test('endpoint overrides: block_storage without a project gets the token project; volumev3 with %(project_id)s', async () => {
    const base = await loadCloudConfig('sim', { env: g.env, cwd: '/nonexistent' });
    const bs = await client({ endpointOverrides: { ...base.endpointOverrides, block_storage: `${g.sim.baseUrl}/volume` } });
    const vt = await client({ endpointOverrides: { ...base.endpointOverrides, volumev3: `${g.sim.baseUrl}/internal/volume/v3/%(project_id)s` } });
    try {
      assert.equal(await bs.volume.endpoint(), `${g.sim.baseUrl}/volume/v3/${g.sim.cloud.projectId}`);
      assert.equal((await bs.volume.getVolume(VOLS[0])).id, VOLS[0]);
      assert.equal(await vt.volume.endpoint(), `${g.sim.baseUrl}/internal/volume/v3/${g.sim.cloud.projectId}`);
      const before = g.sim.requestLog().length;
      await vt.volume.getVolume(VOLS[0]);
      assert.deepEqual(
        volumeRequests(before).map((r) => r.interface),
        ['internal'],
      );
    } finally {
      bs.close();
      vt.close();
    }
  });

  void test('snapshots: 400 without force on an in-use volume; create with force and metadata; creating → available; set metadata; delete → 404', async () => {
    const c = await client();
    try {
      await assert.rejects(c.volume.createSnapshot({ volumeId: VOLS[0], name: 'no-force' }), (err) => {
        assertError(err, OpenStackBadRequestError, false);
        assert.match((err as OpenStackHttpError).serviceMessage, /status must be available, but current status is: in-use/);
        return true;
      });
      const snap = await c.volume.createSnapshot({
        volumeId: VOLS[0],
        name: 'snap-1',
        description: 'lvms',
        force: true,
        metadata: { hotstack_snap_id: 'CLI1' },
      });
      assert.deepEqual([snap.status, snap.volumeId, snap.size, snap.name, snap.metadata], ['creating', VOLS[0], 20, 'snap-1', { hotstack_snap_id: 'CLI1' }]);
      assert.match(snap.createdAt, /^\d{4}-\d\d-\d\dT/);
      const done = await waitFor('snapshot available', async () => {
        const s = await c.volume.getSnapshot(snap.id);
        return s.status === 'available' && s;
      });
      assert.equal(done.id, snap.id);
      assert.deepEqual(await c.volume.setSnapshotMetadata(snap.id, { hotstack_stack_name: 'hs-sim' }), {
        hotstack_snap_id: 'CLI1',
        hotstack_stack_name: 'hs-sim',
      });
      assert.deepEqual((await c.volume.getSnapshot(snap.id)).metadata, { hotstack_snap_id: 'CLI1', hotstack_stack_name: 'hs-sim' });
      await c.volume.deleteSnapshot(snap.id);
      await waitFor('snapshot gone', async () => {
        try {
          await c.volume.getSnapshot(snap.id);
          return false;
        } catch (err) {
          return assertError(err, OpenStackNotFoundError, false);
        }
      });
      await assert.rejects(c.volume.deleteSnapshot(snap.id), (err) => assertError(err, OpenStackNotFoundError, false));
    } finally {
      c.close();
    }
  });

  void test('listSnapshots: metadata filter sent to Cinder, pages followed through snapshots_links; filters re-checked when a cloud drops them', async () => {
    const c = await client();
    try {
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) {
        mine.push((await c.volume.createSnapshot({ volumeId: VOLS[i % 2]!, name: `p${i}`, force: true, metadata: { hotstack_snap_id: 'PAGE1' } })).id);
      }
      const other = await c.volume.createSnapshot({ volumeId: VOLS[1], name: 'other', force: true, metadata: { hotstack_snap_id: 'PAGE2' } });
      const before = g.sim.requestLog().length;
      const got = await c.volume.listAllSnapshots({ metadata: { hotstack_snap_id: 'PAGE1' }, limit: 2 });
      assert.deepEqual(got.map((s) => s.id).sort(), [...mine].sort());
      const lists = volumeRequests(before).filter((r) => r.endpoint === 'volume.snapshots.list');
      assert.equal(lists.length, 3);
      assert.ok(
        lists.every((r) => new URLSearchParams(r.query).get('metadata') === '{"hotstack_snap_id":"PAGE1"}' && r.status === 200),
        JSON.stringify(lists.map((r) => r.query)),
      );
      assert.deepEqual(
        lists.map((r) => new URLSearchParams(r.query).has('marker')),
        [false, true, true],
      );
      assert.deepEqual(
        (await c.volume.listAllSnapshots({ volumeId: VOLS[1], name: 'other' })).map((s) => s.id),
        [other.id],
      );
      // Before 3.22 Cinder ignores the metadata filter; the client still yields only the matching snapshots.
      const old = await client({}, { volumeMicroversion: '3.21' });
      try {
        const since = g.sim.requestLog().length;
        const filtered = await old.volume.listAllSnapshots({ metadata: { hotstack_snap_id: 'PAGE2' } });
        assert.deepEqual(
          filtered.map((s) => s.id),
          [other.id],
        );
        const listed = volumeRequests(since).find((r) => r.endpoint === 'volume.snapshots.list')!;
        assert.equal(listed.headers.microversion, 'volume 3.21');
      } finally {
        old.close();
      }
    } finally {
      c.close();
    }
  });

  void test('imageSnapshotMappings: the Cinder snapshots of a volume-backed server image, [] for an image-backed one', async () => {
    const c = await client();
    try {
      const { imageId } = await c.compute.createImage(BFV_UUID, 'bfv-image', { hotstack_snap_id: 'MAP1' });
      const img = await c.image.getImage(imageId);
      const maps = imageSnapshotMappings(img);
      assert.deepEqual(
        maps.map((m) => [m.deviceName, m.bootIndex, m.volumeSize]),
        [
          ['/dev/vda', 0, 25],
          ['/dev/vdb', -1, 5],
        ],
      );
      const snaps = await Promise.all(maps.map((m) => c.volume.getSnapshot(m.snapshotId)));
      assert.deepEqual(
        snaps.map((s) => [s.volumeId, s.name]),
        [
          [BFV_VOLS[0], 'snapshot for bfv-image'],
          [BFV_VOLS[1], 'snapshot for bfv-image'],
        ],
      );
      const plain = await c.compute.createImage(MASTER0_UUID, 'plain-image');
      assert.deepEqual(imageSnapshotMappings(await c.image.getImage(plain.imageId)), []);
      assert.throws(() => imageSnapshotMappings({ id: 'x', properties: { block_device_mapping: '[{' } }), /block_device_mapping is not JSON/);
    } finally {
      c.close();
    }
  });

  void test('a 503 on snapshot create is a retryable OpenStackServerError', async () => {
    const c = await client();
    try {
      g.sim.setFaults({ endpoints: { 'volume.snapshots.create': { failNext: 1 } } });
      await assert.rejects(c.volume.createSnapshot({ volumeId: VOLS[1], name: 'x', force: true }), (err) => assertError(err, OpenStackServerError, true));
    } finally {
      c.close();
    }
  });
});
