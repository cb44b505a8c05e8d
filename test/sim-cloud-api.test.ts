/**
 * The simulator speaks the real APIs: raw HTTP (no client of ours), checked against the shapes of the
 * Identity v3, Compute v2.1 and Image v2 API references for every call the project uses.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../src/sim/scenario.js';
import { cloudScenarioSchema, startCloudSimulator, type CloudSimulator } from '../src/sim/cloud/index.js';
import { CONTROLLER_UUID, INSTANCES, MASTER0_UUID, MASTER1_UUID } from './fixtures/openstack/sim.js';
import { waitFor } from './helpers/wait.js';

let sim: CloudSimulator;
let stateDir: string;
let token: string;

const REQ_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MV = { 'X-OpenStack-Nova-API-Version': '2.60' };

interface Res {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {}): Promise<Res> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.auth !== false && token) headers['X-Auth-Token'] = token;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(sim.baseUrl + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, body, text };
}

function passwordAuth(password: string, scope = true) {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'hotstack', domain: { name: 'Default' }, password } } },
      ...(scope ? { scope: { project: { name: 'hotstack', domain: { id: 'default' } } } } : {}),
    },
  };
}

/** Probes until `done`, returning every distinct value seen on the way (the state machine's path). */
async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, seen: T[] = []): Promise<T[]> {
  await waitFor(
    'a state the test expects',
    async () => {
      const v = await probe();
      if (seen.length === 0 || JSON.stringify(seen[seen.length - 1]) !== JSON.stringify(v)) seen.push(v);
      return done(v);
    },
    { intervalMs: 3, seen: () => seen },
  );
  return seen;
}

/** Waits until the server has no task (a previous snapshot finished). */
async function idle(uuid: string): Promise<void> {
  await until(
    async () => sim.servers().find((s) => s.id === uuid)?.taskState,
    (v) => v === null,
  );
}

void describe('cloud simulator: Keystone v3, Nova v2.1, Glance v2 shapes', () => {
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'sim-cloud-'));
    const scenario = parseScenario({
      timeScale: 0.001,
      instances: INSTANCES,
      cloud: {
        extraRegions: ['RegionTwo'],
        latencies: { snapshotMs: 60_000, pendingUploadMs: 30_000, uploadMs: 60_000, powerOffMs: 30_000, powerOnMs: 30_000 },
        imagePageSize: 3,
      },
    });
    sim = await startCloudSimulator(scenario, { stateDir });
  });
  after(async () => {
    await sim.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  void test('scenario: `cloud: {}` and a missing cloud get every default; unknown keys are refused', () => {
    const d = cloudScenarioSchema.parse({});
    assert.equal(d.region, 'RegionOne');
    assert.equal(d.latencies.snapshotMs, 1500);
    assert.equal(d.faults.seed, 42);
    assert.deepEqual(d.faults.endpoints, {});
    assert.throws(() => cloudScenarioSchema.parse({ regoin: 'x' }), /Unrecognized key: .*regoin/);
    assert.throws(
      () => cloudScenarioSchema.parse({ faults: { endpoints: { '*': { errorRate: 2 } } } }),
      (err: unknown) => err instanceof Error && 'issues' in err && JSON.stringify(err.issues).includes('["faults","endpoints","*","errorRate"]'),
    );
  });

  void test('clouds.yaml is written to stateDir, private, with clouds sim and sim-appcred', async () => {
    assert.equal(sim.cloudsYamlPath, join(stateDir, 'clouds.yaml'));
    assert.equal((await stat(sim.cloudsYamlPath)).mode & 0o777, 0o600);
    const text = await readFile(sim.cloudsYamlPath, 'utf8');
    assert.match(text, /^ {2}sim:\n {4}auth_type: password/m);
    assert.match(text, /^ {2}sim-appcred:\n {4}auth_type: v3applicationcredential/m);
    assert.ok(text.includes(`auth_url: ${sim.authUrl}`));
  });

  void test('Keystone: POST /v3/auth/tokens → 201, X-Subject-Token, token with catalog and expiry', async () => {
    const r = await call('POST', '/identity/v3/auth/tokens', { body: passwordAuth('sim-password'), auth: false });
    assert.equal(r.status, 201);
    assert.match(r.headers.get('x-openstack-request-id') ?? '', REQ_ID);
    token = r.headers.get('x-subject-token')!;
    assert.ok(token.length > 20);
    const t = r.body.token as Record<string, unknown>;
    assert.deepEqual(t.methods, ['password']);
    assert.match(t.expires_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(t.issued_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.deepEqual(t.project, { domain: { id: 'default', name: 'Default' }, id: sim.cloud.projectId, name: 'hotstack' });
    const catalog = t.catalog as { type: string; name: string; endpoints: { interface: string; region: string; region_id: string; url: string }[] }[];
    assert.deepEqual(catalog.map((s) => s.type).sort(), ['block-storage', 'compute', 'identity', 'image', 'volumev3']);
    const compute = catalog.find((s) => s.type === 'compute')!;
    assert.equal(compute.name, 'nova');
    assert.equal(compute.endpoints.length, 6); // 3 interfaces × 2 regions
    assert.ok(compute.endpoints.some((e) => e.interface === 'public' && e.region_id === 'RegionOne' && e.url === `${sim.baseUrl}/compute/v2.1`));
    assert.ok(
      compute.endpoints.some((e) => e.interface === 'internal' && e.region === 'RegionTwo' && e.url === `${sim.baseUrl}/r/RegionTwo/internal/compute/v2.1`),
    );

    const v = await call('GET', '/identity/v3', { auth: false });
    assert.equal((v.body.version as { id: string }).id, 'v3.14');
    const validate = await call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': token } });
    assert.equal(validate.status, 200);
    assert.equal(validate.headers.get('x-subject-token'), token);
  });

  void test('Keystone: application_credential and token methods; errors', async () => {
    const ac = await call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      body: {
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: { id: sim.cloud.applicationCredential.id, secret: sim.cloud.applicationCredential.secret },
          },
        },
      },
    });
    assert.equal(ac.status, 201);
    const act = ac.body.token as Record<string, unknown>;
    assert.deepEqual(act.methods, ['application_credential']);
    assert.equal((act.application_credential as { restricted: boolean }).restricted, true);

    const tk = await call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      body: { auth: { identity: { methods: ['token'], token: { id: token } }, scope: { project: { id: sim.cloud.projectId } } } },
    });
    assert.equal(tk.status, 201);
    // A token made from a token keeps the original's expiry.
    const original = (await call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': token } })).body.token as { expires_at: string };
    assert.equal((tk.body.token as { expires_at: string }).expires_at, original.expires_at);

    const bad = await call('POST', '/identity/v3/auth/tokens', { body: passwordAuth('nope'), auth: false });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Keystone uri="/);
    const scoped = await call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      body: {
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: { id: sim.cloud.applicationCredential.id, secret: sim.cloud.applicationCredential.secret },
          },
          scope: { project: { id: sim.cloud.projectId } },
        },
      },
    });
    assert.equal(scoped.status, 401);
    const malformed = await call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      body: { auth: { identity: { methods: ['password'], password: { user: { name: 'hotstack', password: 'x' } } } } },
    });
    assert.equal(malformed.status, 400);
    assert.match((malformed.body.error as { message: string }).message, /Expecting to find domain in user/);
  });

  void test('Nova: GET /servers/{id} with microversions; 401 without token; 404 itemNotFound; 406', async () => {
    const noToken = await call('GET', `/compute/v2.1/servers/${MASTER0_UUID}`, { auth: false });
    assert.equal(noToken.status, 401);
    assert.deepEqual(noToken.body, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });

    const r = await call('GET', `/compute/v2.1/servers/${MASTER0_UUID}`, { headers: MV });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-openstack-nova-api-version'), '2.60');
    assert.equal(r.headers.get('openstack-api-version'), 'compute 2.60');
    assert.match(r.headers.get('x-compute-request-id') ?? '', REQ_ID);
    const s = r.body.server as Record<string, unknown>;
    assert.equal(s.id, MASTER0_UUID);
    assert.equal(s.name, 'master0');
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s['OS-EXT-STS:vm_state'], 'active');
    assert.equal(s['OS-EXT-STS:task_state'], null);
    assert.equal(s['OS-EXT-STS:power_state'], 1);
    assert.equal(s.tenant_id, sim.cloud.projectId);
    assert.equal((s.flavor as { original_name: string }).original_name, 'hotstack.xlarge'); // ≥ 2.47: flavor inline
    const addr = (s.addresses as Record<string, { 'OS-EXT-IPS-MAC:mac_addr': string }[]>)['hotstack-net']![0]!;
    assert.equal(addr['OS-EXT-IPS-MAC:mac_addr'], 'fa:16:9e:81:f6:10');

    const old = await call('GET', `/compute/v2.1/servers/${MASTER0_UUID}`);
    assert.equal(old.headers.get('x-openstack-nova-api-version'), '2.1');
    assert.ok('id' in (old.body.server as { flavor: object }).flavor);
    const latest = await call('GET', `/compute/v2.1/servers/${MASTER0_UUID}`, { headers: { 'OpenStack-API-Version': 'compute latest' } });
    assert.equal(latest.headers.get('x-openstack-nova-api-version'), sim.cloud.novaMaxMicroversion);
    const tooNew = await call('GET', `/compute/v2.1/servers/${MASTER0_UUID}`, { headers: { 'X-OpenStack-Nova-API-Version': '2.999' } });
    assert.equal(tooNew.status, 406);
    assert.match(
      (tooNew.body.computeFault as { message: string }).message,
      /Version 2\.999 is not supported by the API\. Minimum is 2\.1 and maximum is 2\.\d+\./,
    );

    const missing = await call('GET', '/compute/v2.1/servers/00000000-0000-4000-8000-000000000000', { headers: MV });
    assert.deepEqual(missing.body, { itemNotFound: { code: 404, message: 'Instance 00000000-0000-4000-8000-000000000000 could not be found.' } });
  });

  void test('Nova createImage: 202 {image_id} at ≥ 2.45, task_state sequence, 409 when busy; image queued → saving → active', async () => {
    const r = await call('POST', `/compute/v2.1/servers/${MASTER0_UUID}/action`, {
      headers: MV,
      body: { createImage: { name: 'snap-a', metadata: { hotstack_snap_id: 'abc', purpose: 'test' } } },
    });
    assert.equal(r.status, 202);
    const imageId = r.body.image_id as string;
    assert.match(imageId, /^[0-9a-f-]{36}$/);
    // Both read in one go from the simulator's state (two HTTP calls could straddle a transition);
    // the first sample at once after the 202, before another request can let a short state pass.
    const probe = () => {
      const s = sim.servers().find((v) => v.id === MASTER0_UUID)!;
      const i = sim.images().find((v) => v.id === imageId)!;
      return `${String(s.taskState)}/${String(i.status)}`;
    };
    const first = probe();
    const busy = await call('POST', `/compute/v2.1/servers/${MASTER0_UUID}/action`, { headers: MV, body: { createImage: { name: 'snap-b' } } });
    assert.equal(busy.status, 409);
    assert.deepEqual(busy.body, {
      conflictingRequest: { code: 409, message: `Cannot 'createImage' instance ${MASTER0_UUID} while it is in task_state image_snapshot` },
    });
    const states = await until(
      async () => probe(),
      (v) => v === 'null/active',
      [first],
    );
    // In this order; a busy machine may poll past a short state, but never sees another one.
    const canonical = ['image_snapshot/queued', 'image_pending_upload/queued', 'image_uploading/saving', 'null/active'];
    assert.equal(states[0], canonical[0]);
    assert.equal(states.at(-1), 'null/active');
    assert.deepEqual(
      states,
      canonical.filter((c) => states.includes(c)),
      states.join(' → '),
    );
    const img = (await call('GET', `/image/v2/images/${imageId}`)).body;
    assert.equal(img.hotstack_snap_id, 'abc'); // custom properties are top-level keys
    assert.equal(img.purpose, 'test');
    assert.equal(img.image_type, 'snapshot');
    assert.equal(img.instance_uuid, MASTER0_UUID);
    assert.equal(img.owner, sim.cloud.projectId);
    assert.equal(img.visibility, 'private');
    assert.equal(typeof img.size, 'number');
    assert.equal(img.self, `/v2/images/${imageId}`);
    assert.equal(img.schema, '/v2/schemas/image');
    assert.deepEqual(img.tags, []);

    // Before 2.45: no body, the image is in the Location header.
    await idle(MASTER1_UUID);
    const legacy = await call('POST', `/compute/v2.1/servers/${MASTER1_UUID}/action`, { body: { createImage: { name: 'legacy' } } });
    assert.equal(legacy.status, 202);
    assert.equal(legacy.text, '');
    assert.match(legacy.headers.get('location') ?? '', /\/image\/v2\/images\/[0-9a-f-]{36}$/);
    const badMeta = await call('POST', `/compute/v2.1/servers/${CONTROLLER_UUID}/action`, {
      headers: MV,
      body: { createImage: { name: 'x', metadata: { k: 1 } } },
    });
    assert.equal(badMeta.status, 400);
    assert.ok('badRequest' in badMeta.body);
    const unknown = await call('POST', `/compute/v2.1/servers/${CONTROLLER_UUID}/action`, { headers: MV, body: { reboot: { type: 'SOFT' } } });
    assert.equal(unknown.status, 400);
  });

  void test('Nova os-stop / os-start: powering-off → SHUTOFF, 409 in the wrong state; guest shutdown from inside', async () => {
    const stop = await call('POST', `/compute/v2.1/servers/${CONTROLLER_UUID}/action`, { headers: MV, body: { 'os-stop': null } });
    assert.equal(stop.status, 202);
    assert.equal(stop.text, '');
    const seen = await until(
      async () => {
        const s = (await call('GET', `/compute/v2.1/servers/${CONTROLLER_UUID}`, { headers: MV })).body.server as Record<string, unknown>;
        return [s.status, s['OS-EXT-STS:vm_state'], s['OS-EXT-STS:task_state'], s['OS-EXT-STS:power_state']];
      },
      (v) => v[0] === 'SHUTOFF',
    );
    assert.deepEqual(seen.at(-1), ['SHUTOFF', 'stopped', null, 4]);
    assert.deepEqual(seen[0], ['ACTIVE', 'active', 'powering-off', 1]); // read right after the 202
    const again = await call('POST', `/compute/v2.1/servers/${CONTROLLER_UUID}/action`, { headers: MV, body: { 'os-stop': null } });
    assert.equal(again.status, 409);
    assert.match((again.body.conflictingRequest as { message: string }).message, /Cannot 'stop' instance .* while it is in vm_state stopped/);
    assert.equal((await call('POST', `/compute/v2.1/servers/${CONTROLLER_UUID}/action`, { headers: MV, body: { 'os-start': null } })).status, 202);
    await until(
      async () => sim.compute.serverStatus(CONTROLLER_UUID),
      (v) => v === 'ACTIVE',
    );

    sim.compute.guestShutdown(CONTROLLER_UUID, 20);
    assert.equal(sim.compute.serverStatus(CONTROLLER_UUID), 'ACTIVE');
    await until(
      async () => sim.compute.serverStatus(CONTROLLER_UUID),
      (v) => v === 'SHUTOFF',
    );
    assert.equal(sim.compute.serverStatus('00000000-0000-4000-8000-000000000000'), undefined);
  });

  void test('Glance list: default page size, next links keep filters, limit/marker, tag/status/property filters', async () => {
    // Six tagged images through the seam-free way: Nova snapshots of stopped/active servers.
    for (const [i, uuid] of [MASTER1_UUID, MASTER0_UUID].entries()) {
      await idle(uuid);
      const r = await call('POST', `/compute/v2.1/servers/${uuid}/action`, {
        headers: MV,
        body: { createImage: { name: `list-${i}`, metadata: { batch: 'L' } } },
      });
      assert.equal(r.status, 202);
      for (const tag of ['hotstack-snapset', `snap_id=L${i % 2}`]) {
        const put = await call('PUT', `/image/v2/images/${r.body.image_id as string}/tags/${encodeURIComponent(tag)}`);
        assert.equal(put.status, 204);
        assert.equal(put.text, '');
      }
    }
    const all = await call('GET', '/image/v2/images');
    assert.equal((all.body.images as unknown[]).length, 3); // imagePageSize
    assert.equal(all.body.first, '/v2/images');
    assert.equal(all.body.schema, '/v2/schemas/images');
    assert.match(all.body.next as string, /^\/v2\/images\?marker=[0-9a-f-]{36}$/);

    const filtered = await call('GET', '/image/v2/images?tag=hotstack-snapset&batch=L&limit=1');
    const first = filtered.body.images as { id: string; batch: string }[];
    assert.equal(first.length, 1);
    assert.equal(first[0]!.batch, 'L');
    const next = filtered.body.next as string;
    assert.equal(next, `/v2/images?tag=hotstack-snapset&batch=L&limit=1&marker=${first[0]!.id}`);
    const page2 = await call('GET', `/image${next}`);
    const second = page2.body.images as { id: string }[];
    assert.equal(second.length, 1);
    assert.notEqual(second[0]!.id, first[0]!.id);
    const page3 = await call('GET', `/image${page2.body.next as string}`);
    assert.deepEqual(page3.body.images, []);
    assert.equal(page3.body.next, undefined);

    const both = await call('GET', '/image/v2/images?tag=hotstack-snapset&tag=snap_id%3DL1');
    assert.deepEqual(
      (both.body.images as { name: string }[]).map((i) => i.name),
      ['list-1'],
    );
    const active = await call('GET', '/image/v2/images?status=killed');
    assert.deepEqual(active.body.images, []);
    const badMarker = await call('GET', '/image/v2/images?marker=00000000-0000-4000-8000-000000000000');
    assert.equal(badMarker.status, 400);
    assert.deepEqual(badMarker.body, {
      message: 'Marker 00000000-0000-4000-8000-000000000000 could not be found.',
      code: '400 Bad Request',
      title: 'Bad Request',
    });
    assert.equal((await call('GET', '/image/v2/images?limit=x')).status, 400);
  });

  void test('Glance tags and delete: 204s, 404 shapes (JSON and plain text), 403 on a protected image', async () => {
    await idle(MASTER1_UUID);
    const r = await call('POST', `/compute/v2.1/servers/${MASTER1_UUID}/action`, { headers: MV, body: { createImage: { name: 'to-delete' } } });
    const id = r.body.image_id as string;
    assert.equal((await call('PUT', `/image/v2/images/${id}/tags/a`)).status, 204);
    assert.equal((await call('PUT', `/image/v2/images/${id}/tags/a`)).status, 204);
    assert.deepEqual((await call('GET', `/image/v2/images/${id}`)).body.tags, ['a']);
    assert.equal((await call('DELETE', `/image/v2/images/${id}/tags/a`)).status, 204);
    assert.equal((await call('DELETE', `/image/v2/images/${id}/tags/a`)).status, 404);
    const del = await call('DELETE', `/image/v2/images/${id}`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    const gone = await call('GET', `/image/v2/images/${id}`);
    assert.deepEqual(gone.body, { message: `No image found with ID ${id}`, code: '404 Not Found', title: 'Not Found' });
    const plain = await call('GET', `/image/v2/images/${id}`, { headers: { Accept: 'text/plain' } });
    assert.equal(plain.text, `404 Not Found\n\nNo image found with ID ${id}\n\n   `);
    const base = (await call('GET', '/image/v2/images?name=hotstack-base')).body.images as { id: string }[];
    assert.equal((await call('DELETE', `/image/v2/images/${base[0]!.id}`)).status, 403);
    await idle(MASTER1_UUID);
  });

  void test('faults and the control endpoint: 5xx, 409 bursts, killed images, token expiry, counters', async () => {
    const ctl = (method: string, path: string, body?: unknown) => call(method, `/_sim${path}`, { body, auth: false });
    await idle(MASTER1_UUID);
    assert.equal((await ctl('DELETE', '/counters')).status, 204);
    const patched = await ctl('PATCH', '/faults', {
      endpoints: { 'image.images.get': { failNext: 1, errorStatus: 503 }, 'compute.*': { conflictNext: 2 } },
      killImagesOfServers: [MASTER1_UUID],
    });
    assert.equal(patched.status, 200);
    assert.equal((patched.body.endpoints as Record<string, { conflictNext: number }>)['compute.*']!.conflictNext, 2);
    assert.equal((await ctl('PATCH', '/faults', { endpoints: { x: { errorRate: 5 } } })).status, 400);

    const lb = await call('GET', '/image/v2/images/whatever');
    assert.equal(lb.status, 503);
    assert.match(lb.headers.get('content-type') ?? '', /text\/html/);
    assert.match(lb.text, /503 Service Unavailable/);
    for (let i = 0; i < 2; i++) {
      const c = await call('GET', `/compute/v2.1/servers/${MASTER1_UUID}`, { headers: MV });
      assert.equal(c.status, 409);
      assert.ok('conflictingRequest' in c.body);
    }
    const snap = await call('POST', `/compute/v2.1/servers/${MASTER1_UUID}/action`, { headers: MV, body: { createImage: { name: 'doomed' } } });
    assert.equal(snap.status, 202);
    await until(
      async () => (await call('GET', `/image/v2/images/${snap.body.image_id as string}`)).body.status,
      (v) => v === 'killed',
    );
    assert.equal(sim.servers().find((s) => s.id === MASTER1_UUID)!.taskState, null);

    const expired = await ctl('POST', '/tokens/expire');
    assert.ok((expired.body.expired as number) >= 1);
    assert.equal((await call('GET', `/compute/v2.1/servers/${MASTER1_UUID}`, { headers: MV })).status, 401);

    const counters = (await ctl('GET', '/counters')).body as Record<
      string,
      { requests: number; byStatus: Record<string, number>; injected: Record<string, number> }
    >;
    assert.equal(counters['image.images.get']!.injected.error, 1);
    assert.equal(counters['compute.servers.get']!.injected.conflict, 2);
    assert.equal(counters['compute.servers.get']!.byStatus['401'], 1);
    assert.equal(counters['compute.servers.createImage']!.requests, 1);
    assert.deepEqual(sim.counters(), counters);

    const state = (await ctl('GET', '/state')).body as { servers: { id: string }[]; images: unknown[] };
    assert.equal(state.servers.length, 3);
    assert.ok(state.images.length > 3);
    assert.equal((await ctl('POST', `/servers/${MASTER0_UUID}/guest-shutdown`, { delayMs: 0 })).status, 202);
    await until(
      async () => sim.compute.serverStatus(MASTER0_UUID),
      (v) => v === 'SHUTOFF',
    );
    assert.equal((await ctl('GET', '/nope')).status, 404);
    const log = (await ctl('GET', '/requests')).body as unknown as { endpoint: string; requestId: string }[];
    assert.ok(log.length > 0 && REQ_ID.test(log[0]!.requestId));
    sim.setFaults({}, 'replace');
    assert.deepEqual(sim.faults().endpoints, {});
  });
});
