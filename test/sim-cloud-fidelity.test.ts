/**
 * The simulator against the API references, for what real clients (openstacksdk, python-openstackclient)
 * send beyond the project's own calls: Nova server list paging and filters, flavors, Glance writes
 * (PATCH, POST, data upload) and filter operators, Keystone version discovery, `Allow` on 405.
 * Raw HTTP, no client of ours.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../src/sim/scenario.js';
import { startCloudSimulator, type CloudSimulator } from '../src/sim/cloud/index.js';
import { INSTANCES } from './fixtures/openstack/sim.js';
import { rawSession } from './helpers/sim-http.js';

let sim: CloudSimulator;
const { call, login } = rawSession(() => sim);
const MV = (v: string) => ({ 'OpenStack-API-Version': `compute ${v}` });
const PATCH = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' };

const WORKERS = Object.fromEntries(
  Array.from({ length: 9 }, (_, i) => [
    `worker-${i}`,
    {
      uuid: `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
      role: 'ocp_worker',
      mac_address: `fa:16:9e:81:f7:0${i}`,
      status: i < 3 ? ('SHUTOFF' as const) : ('ACTIVE' as const),
    },
  ]),
);
const IMG = { a: '11111111-1111-4111-8111-111111111111', b: '22222222-2222-4222-8222-222222222222', c: '33333333-3333-4333-8333-333333333333' };

type Json = Record<string, unknown>;
const names = (r: { body: Json }, key = 'servers') => (r.body[key] as { name: string }[]).map((s) => s.name);

void describe('cloud simulator fidelity: what real OpenStack clients send', () => {
  before(async () => {
    sim = await startCloudSimulator(
      parseScenario({
        timeScale: 0.001,
        instances: { ...INSTANCES, ...WORKERS },
        cloud: {
          novaMaxLimit: 5,
          images: [
            {
              id: IMG.a,
              name: 'glass, image',
              createdAt: '2026-01-01T00:00:00Z',
              size: 100,
              properties: { note: 'in:x', hotstack_snap_id: 'S1' },
              tags: ['t1', 't2'],
            },
            { id: IMG.b, name: 'plain', createdAt: '2026-02-01T00:00:00Z', size: 200, properties: { hotstack_snap_id: 'S1', stage: 'one' }, tags: ['t1'] },
            { id: IMG.c, name: 'queued-one', status: 'queued', createdAt: '2026-03-01T00:00:00Z', properties: { hotstack_snap_id: 'S2' } },
          ],
        },
      }),
    );
    await login();
  });
  after(async () => {
    await sim.close();
  });

  // Compute API reference, "List Servers" / "List Servers Detailed": limit, marker, servers_links.
  void test('Nova GET /servers/detail: limit + marker pages, servers_links rel=next only while more remain', async () => {
    const seen: string[] = [];
    let path = '/compute/v2.1/servers/detail?limit=4&sort_key=display_name&sort_dir=asc';
    const pages: number[] = [];
    for (;;) {
      const r = await call('GET', path, { headers: MV('2.60') });
      assert.equal(r.status, 200);
      const servers = r.body.servers as Json[];
      pages.push(servers.length);
      seen.push(...servers.map((s) => s.name as string));
      assert.ok(
        servers.every((s) => 'OS-EXT-STS:vm_state' in s),
        'detail',
      );
      const links = r.body.servers_links as { rel: string; href: string }[] | undefined;
      if (!links) break;
      assert.equal(links.length, 1);
      assert.equal(links[0]!.rel, 'next');
      const href = new URL(links[0]!.href);
      assert.equal(`${href.origin}${href.pathname}`, `${sim.baseUrl}/compute/v2.1/servers/detail`);
      assert.equal(href.searchParams.get('marker'), servers.at(-1)!.id);
      assert.equal(href.searchParams.get('limit'), '4');
      path = href.pathname + href.search;
    }
    assert.deepEqual(pages, [4, 4, 4]); // 12 servers: the last full page has no link, nothing remains
    assert.deepEqual(seen, [...Object.keys(INSTANCES), ...Object.keys(WORKERS)].sort());
  });

  void test('Nova list: [api]max_limit caps pages; /servers (not detail) has id, name, links; 400 on a bad limit or unknown marker', async () => {
    const r = await call('GET', '/compute/v2.1/servers', { headers: MV('2.60') });
    const servers = r.body.servers as Json[];
    assert.equal(servers.length, 5);
    assert.deepEqual(Object.keys(servers[0]!).sort(), ['id', 'links', 'name']);
    const next = (r.body.servers_links as { href: string }[])[0]!.href;
    assert.match(next, new RegExp(`^${sim.baseUrl}/compute/v2\\.1/servers\\?marker=`));
    assert.equal(((await call('GET', '/compute/v2.1/servers?limit=1000')).body.servers as unknown[]).length, 5);
    const bad = await call('GET', '/compute/v2.1/servers?limit=-1');
    assert.equal(bad.status, 400);
    assert.match((bad.body.badRequest as { message: string }).message, /Invalid input for query parameters limit/);
    const marker = await call('GET', '/compute/v2.1/servers?marker=00000000-0000-4000-8000-00000000dead');
    assert.deepEqual(marker.body, { badRequest: { code: 400, message: 'marker [00000000-0000-4000-8000-00000000dead] not found' } });
    assert.equal((await call('GET', '/compute/v2.1/servers?sort_key=bogus')).status, 400);
    assert.equal((await call('GET', '/compute/v2.1/servers?sort_dir=up')).status, 400);
  });

  void test('Nova list filters: name is a regex searched anywhere, status (case-insensitive, repeatable), changes-since', async () => {
    assert.deepEqual(names(await call('GET', '/compute/v2.1/servers?name=ker-[0-1]$&sort_key=display_name&sort_dir=asc')), ['worker-0', 'worker-1']);
    assert.deepEqual(names(await call('GET', '/compute/v2.1/servers?name=^master')).sort(), ['master0', 'master1']);
    assert.deepEqual(names(await call('GET', '/compute/v2.1/servers?status=shutoff&sort_key=display_name&sort_dir=asc')), ['worker-0', 'worker-1', 'worker-2']);
    const both = await call('GET', '/compute/v2.1/servers/detail?status=SHUTOFF&status=ACTIVE&limit=100');
    assert.equal((both.body.servers as unknown[]).length, 5); // capped by max_limit, with a link
    assert.ok(both.body.servers_links);
    assert.deepEqual((await call('GET', '/compute/v2.1/servers?status=ERROR')).body.servers, []);
    assert.deepEqual((await call('GET', '/compute/v2.1/servers?changes-since=2999-01-01T00:00:00Z')).body.servers, []);
    assert.equal(((await call('GET', '/compute/v2.1/servers?changes-since=2000-01-01')).body.servers as unknown[]).length, 5);
    assert.equal((await call('GET', '/compute/v2.1/servers?changes-since=yesterday')).status, 400);
  });

  // Compute API reference, "Flavors" and "Show Server Details" (flavor embedded since 2.47).
  void test('Nova flavors: list, detail, show, 404; microversion shapes; servers reference the first flavor', async () => {
    const list = await call('GET', '/compute/v2.1/flavors', { headers: MV('2.60') });
    assert.deepEqual(names(list, 'flavors'), ['hotstack.large', 'hotstack.small', 'hotstack.xlarge']);
    assert.deepEqual(Object.keys((list.body.flavors as Json[])[0]!).sort(), ['description', 'id', 'links', 'name']);
    const old = (await call('GET', '/compute/v2.1/flavors/detail')).body.flavors as Json[];
    assert.equal(old[0]!.swap, ''); // before 2.75 a zero swap is ""
    assert.equal(old[0]!.rxtx_factor, 1.0);
    assert.equal('extra_specs' in old[0]!, false);
    const show = (await call('GET', '/compute/v2.1/flavors/hotstack.xlarge', { headers: MV('2.75') })).body.flavor as Json;
    assert.deepEqual(
      { vcpus: show.vcpus, ram: show.ram, disk: show.disk, swap: show.swap, extra: show.extra_specs, rxtx: 'rxtx_factor' in show },
      { vcpus: 8, ram: 32768, disk: 40, swap: 0, extra: { 'hw:cpu_policy': 'shared' }, rxtx: false },
    );
    const page = await call('GET', '/compute/v2.1/flavors?limit=2');
    assert.equal((page.body.flavors as unknown[]).length, 2);
    assert.match((page.body.flavors_links as { href: string }[])[0]!.href, /\/v2\.1\/flavors\?limit=2&marker=hotstack\.small$/);
    assert.deepEqual(names(await call('GET', '/compute/v2.1/flavors?minRam=20000'), 'flavors'), ['hotstack.xlarge']);
    assert.deepEqual((await call('GET', '/compute/v2.1/flavors/nope')).body, { itemNotFound: { code: 404, message: 'Flavor nope could not be found.' } });
    const s = (await call('GET', `/compute/v2.1/servers/${INSTANCES.master0!.uuid}`, { headers: MV('2.47') })).body.server as { flavor: Json };
    assert.equal(s.flavor.original_name, 'hotstack.xlarge');
    assert.equal(s.flavor.vcpus, 8);
    assert.equal(sim.counters()['compute.flavors.get']!.requests, 2);
  });

  // Image API v2 reference, "Update image": JSON-patch, media types, read-only attributes, conflicts.
  void test('Glance PATCH: 200 with the image; add/replace/remove; /tags as a whole list; all or nothing', async () => {
    const r = await call('PATCH', `/image/v2/images/${IMG.b}`, {
      headers: PATCH,
      body: [
        { op: 'replace', path: '/name', value: 'renamed' },
        { op: 'add', path: '/tags', value: ['x', 'y', 'x'] },
        { op: 'add', path: '/a~1b', value: 'slash' },
        { op: 'replace', path: '/stage', value: 'two' },
        { op: 'replace', path: '/protected', value: true },
      ],
    });
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.name, r.body.tags, r.body['a/b'], r.body.stage, r.body.protected], ['renamed', ['x', 'y'], 'slash', 'two', true]);
    assert.equal(r.body.id, IMG.b);
    // A refused operation later in the list leaves the earlier ones unapplied.
    const refused = await call('PATCH', `/image/v2/images/${IMG.b}`, {
      headers: PATCH,
      body: [
        { op: 'replace', path: '/name', value: 'never' },
        { op: 'remove', path: '/missing' },
      ],
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.message, 'Property missing does not exist.');
    const now = (await call('GET', `/image/v2/images/${IMG.b}`)).body;
    assert.equal(now.name, 'renamed');
    const rm = await call('PATCH', `/image/v2/images/${IMG.b}`, {
      headers: PATCH,
      body: [
        { op: 'remove', path: '/a~1b' },
        { op: 'replace', path: '/protected', value: false },
      ],
    });
    assert.equal(rm.status, 200);
    assert.equal('a/b' in rm.body, false);
  });

  void test('Glance PATCH refusals: 415 (+Accept-Patch), 403 read-only/reserved/base removal/formats of an active image, 400 malformed, 409 draft-4 add', async () => {
    const id = IMG.a;
    const p = (body: unknown, headers: Record<string, string> = PATCH) => call('PATCH', `/image/v2/images/${id}`, { headers, body });
    const wrongType = await p([], { 'Content-Type': 'application/json' });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.headers.get('accept-patch'), 'application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch');
    const cases: [unknown, number, RegExp][] = [
      [[{ op: 'replace', path: '/status', value: 'active' }], 403, /Attribute 'status' is read-only\./],
      [[{ op: 'replace', path: '/id', value: 'x' }], 403, /read-only/],
      [[{ op: 'add', path: '/deleted', value: 'x' }], 403, /Attribute 'deleted' is reserved\./],
      [[{ op: 'add', path: '/os_glance_x', value: 'x' }], 403, /reserved/],
      [[{ op: 'remove', path: '/name' }], 403, /Property name may not be removed\./],
      [[{ op: 'replace', path: '/disk_format', value: 'raw' }], 403, /can be only replaced for a queued image/],
      [[{ op: 'replace', path: '/visibility', value: 'public' }], 403, /publicize_image/],
      [{ op: 'add' }, 400, /must be a JSON array of operation objects/],
      [['x'], 400, /Operations must be JSON objects/],
      [[{ path: '/x', value: 'v' }], 400, /Unable to find `op`/],
      [[{ op: 'move', path: '/x', value: 'v' }], 400, /Invalid operation: `move`/],
      [[{ op: 'add', path: 'x', value: 'v' }], 400, /does not start with "\/"/],
      [[{ op: 'add', path: '/x/y', value: 'v' }], 400, /Invalid JSON pointer for this resource: '\/x\/y'/],
      [[{ op: 'add', path: '/x~2', value: 'v' }], 400, /recognized escape sequence/],
      [[{ op: 'add', path: '/x' }], 400, /Operation "add" requires a member named "value"/],
      [[{ op: 'add', path: '/x', value: 1 }], 400, /does not match schema 'image'/],
      [[{ op: 'replace', path: '/min_disk', value: -1 }], 400, /does not match schema/],
      [[{ op: 'replace', path: '/tags', value: ['x'.repeat(256)] }], 400, /does not match schema/],
      [[{ op: 'replace', path: '/nope', value: 'v' }], 409, /Property nope does not exist\./],
    ];
    for (const [body, status, message] of cases) {
      const r = await p(body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.message as string, message, JSON.stringify(body));
    }
    // The v2.0 media type takes draft-4 operations and refuses `add` on a present attribute.
    const d4 = { 'Content-Type': 'application/openstack-images-v2.0-json-patch' };
    assert.equal((await p([{ add: '/note', value: 'again' }], d4)).status, 409);
    assert.equal((await p([{ add: '/fresh', value: 'v' }], d4)).status, 200);
    assert.equal((await p([{ add: '/x', remove: '/y' }], d4)).status, 400);
    assert.equal((await call('PATCH', '/image/v2/images/00000000-0000-4000-8000-00000000dead', { headers: PATCH, body: [] })).status, 404);
    const img = (await call('GET', `/image/v2/images/${id}`)).body;
    assert.deepEqual([img.name, img.status, img.disk_format, img.visibility, img.fresh], ['glass, image', 'active', 'qcow2', 'private', 'v']);
  });

  // Image API v2 reference, "Create image" and "Upload binary image data".
  void test('Glance POST /v2/images: 201 queued record with Location; refusals; PUT …/file makes it active', async () => {
    const r = await call('POST', '/image/v2/images', {
      body: { name: 'made', disk_format: 'qcow2', container_format: 'bare', tags: ['n'], hotstack_snap_id: 'S3' },
    });
    assert.equal(r.status, 201);
    const id = r.body.id as string;
    assert.equal(r.headers.get('location'), `${sim.baseUrl}/image/v2/images/${id}`);
    assert.deepEqual([r.body.status, r.body.size, r.body.visibility, r.body.tags, r.body.hotstack_snap_id], ['queued', null, 'shared', ['n'], 'S3']);
    assert.equal(sim.images().find((i) => i.id === id)?.name, 'made');
    assert.equal((await call('POST', '/image/v2/images', { body: { id, name: 'dup' } })).status, 409);
    assert.equal((await call('POST', '/image/v2/images', { body: { status: 'active' } })).status, 403);
    assert.equal((await call('POST', '/image/v2/images', { body: { name: 5 } })).status, 400);
    assert.equal((await call('POST', '/image/v2/images', { body: { visibility: 'public' } })).status, 403);
    assert.equal((await call('POST', '/image/v2/images', { body: {}, headers: { 'Content-Type': 'text/plain' } })).status, 415);

    const octet = { 'Content-Type': 'application/octet-stream' };
    assert.equal((await call('PUT', `/image/v2/images/${id}/file`, { raw: Buffer.from('data'), headers: { 'Content-Type': 'text/plain' } })).status, 415);
    const up = await call('PUT', `/image/v2/images/${id}/file`, { raw: Buffer.from('four'), headers: octet });
    assert.equal(up.status, 204);
    const after = (await call('GET', `/image/v2/images/${id}`)).body;
    assert.deepEqual([after.status, after.size, after.checksum], ['active', 4, '8cbad96aced40b3838dd9f07f6ef5772']);
    assert.equal((await call('PUT', `/image/v2/images/${id}/file`, { raw: Buffer.from('x'), headers: octet })).status, 409);
    const bare = await call('POST', '/image/v2/images', { body: { name: 'no-formats' } });
    assert.equal((await call('PUT', `/image/v2/images/${bare.body.id as string}/file`, { raw: Buffer.from('x'), headers: octet })).status, 400);
    assert.equal(sim.counters()['image.images.create']!.byStatus['201'], 2);
  });

  // Image API v2 reference, "List images" → filtering: in:, eq:, gt:/gte:/lt:/lte:/neq: and ranges.
  void test('Glance filter operators on the fields that take them; properties compared literally; tags repeated', async () => {
    const ids = async (q: string) => ((await call('GET', `/image/v2/images?${q}`)).body.images as { id: string }[]).map((i) => i.id).sort();
    assert.deepEqual(await ids(`id=in:${IMG.a},${IMG.c}`), [IMG.a, IMG.c]);
    assert.deepEqual(await ids(`id=eq:${IMG.a}`), [IMG.a]);
    assert.deepEqual(await ids(`name=${encodeURIComponent('in:"glass, image",queued-one')}`), [IMG.a, IMG.c]);
    assert.deepEqual(await ids('status=in:queued,saving&hotstack_snap_id=S2'), [IMG.c]);
    assert.deepEqual(await ids('hotstack_snap_id=S1&created_at=gt:2026-01-15T00:00:00Z'), [IMG.b]);
    assert.deepEqual(await ids('hotstack_snap_id=S1&created_at=lte:2026-02-01T00:00:00Z'), [IMG.a, IMG.b]);
    assert.deepEqual(await ids('created_at=gte:2026-02-01T00:00:00Z&hotstack_snap_id=S1'), [IMG.b]);
    assert.deepEqual(await ids('updated_at=gte:2026-03-01T00:00:00Z&hotstack_snap_id=S2'), [IMG.c]);
    assert.deepEqual(await ids('updated_at=lt:2026-03-01T00:00:00Z&hotstack_snap_id=S2'), []);
    assert.deepEqual(await ids('hotstack_snap_id=S1&created_at=neq:2026-01-01T00:00:00Z'), [IMG.b]);
    assert.deepEqual(await ids('hotstack_snap_id=S1&created_at=2026-01-01T00:00:00Z'), [IMG.a]); // a bare time: its colons are no operator
    assert.deepEqual(await ids('hotstack_snap_id=S1&size_min=150'), [IMG.b]);
    assert.deepEqual(await ids('hotstack_snap_id=S1&size_max=150'), [IMG.a]);
    assert.deepEqual(await ids('note=in:x'), [IMG.a]); // a custom property takes no operator
    assert.deepEqual(await ids('tag=t1&tag=t2'), [IMG.a]);
    const refusals: [string, RegExp][] = [
      ['name=neq:plain', /Unable to filter by unknown operator 'neq'/],
      ['created_at=gt:tomorrow', /Bad "created_at" query filter format/],
      ['created_at=near:2026-01-01T00:00:00Z', /Unable to filter using the specified operator/],
      ['size_min=big', /non-numeric value/],
      ['visibility=everyone', /Invalid visibility value/],
      ['name=in:"open', /quote is not closed/],
    ];
    for (const [q, message] of refusals) {
      const r = await call('GET', `/image/v2/images?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.message as string, message, q);
    }
  });

  // Identity API v3 reference, "Versions"; Compute/Image: 405 Method Not Allowed carries Allow.
  void test('Keystone version discovery: GET /identity → 300 Multiple Choices, /identity/v3 → 200; Allow on every 405', async () => {
    const root = await call('GET', '/identity', { auth: false });
    assert.equal(root.status, 300);
    const values = (root.body.versions as { values: { id: string; status: string; links: { rel: string; href: string }[] }[] }).values;
    assert.deepEqual(
      values.map((v) => [v.id, v.status, v.links[0]!.href]),
      [['v3.14', 'stable', `${sim.baseUrl}/identity/v3/`]],
    );
    const v3 = await call('GET', '/identity/v3', { auth: false });
    assert.equal(v3.status, 200);
    assert.equal((v3.body.version as { id: string }).id, 'v3.14');
    const cases: [string, string, string][] = [
      ['DELETE', '/compute/v2.1/servers', 'GET, POST'],
      ['POST', `/compute/v2.1/servers/${INSTANCES.master0!.uuid}`, 'GET, PUT, DELETE'],
      ['POST', '/compute/v2.1/flavors/detail', 'GET'],
      ['PUT', '/image/v2/images', 'GET, POST'],
      ['POST', `/image/v2/images/${IMG.a}`, 'GET, PATCH, DELETE'],
      ['GET', `/image/v2/images/${IMG.a}/tags/x`, 'PUT, DELETE'],
      ['POST', '/identity/v3', 'GET, HEAD, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await call(method, path);
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
    }
  });

  void test('request log: query, selected headers and Nova/Glance bodies for tests; no Keystone body, token or password', async () => {
    await call('PATCH', `/image/v2/images/${IMG.c}`, { headers: PATCH, body: [{ op: 'add', path: '/logged', value: 'yes' }] });
    await call('GET', '/compute/v2.1/servers?limit=1&name=master', { headers: MV('2.60') });
    const log = sim.requestLog();
    const patch = log.filter((r) => r.endpoint === 'image.images.update').at(-1)!;
    assert.deepEqual([patch.headers.contentType, patch.body], [PATCH['Content-Type'], [{ op: 'add', path: '/logged', value: 'yes' }]]);
    const list = log.filter((r) => r.endpoint === 'compute.servers.list').at(-1)!;
    assert.deepEqual([list.query, list.headers.microversion], ['limit=1&name=master', 'compute 2.60']);
    const auth = log.find((r) => r.endpoint === 'identity.tokens.create')!;
    assert.equal(auth.body, undefined);
    const text = JSON.stringify(log);
    assert.ok(!text.includes(sim.cloud.password) && !text.includes('gAAAAA'), 'no secret in the request log');
  });
});
