import {
  authToken,
  header,
  INVALID_JSON,
  unauthorizedByMiddleware,
  type ServiceContext,
  type SimReply,
  type SimRequest,
  type SimRoute,
  mvAtLeast,
  mvStr,
  openstackFault,
  parseMv,
  type Mv,
} from './http.js';
import type { SimSnapshot, SimVolume } from './state.js';

/**
 * Cinder v3 subset (Block Storage API v3 reference: "Volumes", "Volume snapshots", "Snapshot
 * metadata"; cinder/api/v3/snapshots.py, snapshot_metadata.py, views/): `GET /` (300) and `GET /v3/`,
 * `GET /v3/{project_id}/volumes[/detail]`, `GET /v3/{project_id}/volumes/{id}`,
 * `GET|POST /v3/{project_id}/snapshots`, `GET /v3/{project_id}/snapshots/detail`,
 * `GET|PUT|DELETE /v3/{project_id}/snapshots/{id}`, `GET|POST|PUT /v3/{project_id}/snapshots/{id}/metadata`,
 * `GET|PUT|DELETE /v3/{project_id}/snapshots/{id}/metadata/{key}`. The project id may be left out
 * of the URL (3.67). Microversions 3.0 … max through `OpenStack-API-Version: volume X`.
 */

/** Nova's and Cinder's error body (the same oslo wsgi `Fault`). */
export const cinderError = openstackFault;

/** cinder/api/microversions.py: the versions whose behaviour the simulator models. */
const MV = {
  GROUP_SNAPSHOTS: [3, 14],
  GROUP_VOLUME: [3, 13],
  SNAPSHOT_LIST_METADATA_FILTER: [3, 22],
  RESOURCE_FILTER: [3, 31],
  VOLUME_SHARED_TARGETS_AND_SERVICE_FIELDS: [3, 48],
  SNAPSHOT_LIST_USER_ID: [3, 41],
  VOLUME_TYPE_ID_IN_VOLUME_DETAIL: [3, 63],
  USE_QUOTA: [3, 65],
  SNAPSHOT_IN_USE: [3, 66],
} satisfies Record<string, Mv>;

/** The requested microversion (`OpenStack-API-Version: volume X`; none means 3.0). */
function requestedMicroversion(req: SimRequest, max: Mv): Mv | SimReply {
  let raw: string | undefined;
  const generic = header(req, 'openstack-api-version');
  if (generic) {
    for (const part of generic.split(',')) {
      const [svc, ver] = part.trim().split(/\s+/);
      if (svc?.toLowerCase() === 'volume' && ver) raw = ver;
    }
  }
  if (!raw) return [3, 0];
  if (raw.trim().toLowerCase() === 'latest') return max;
  const v = parseMv(raw);
  if (!v) return cinderError(400, `API Version String ${raw} is of invalid format. It must be of format 'major.minor'.`);
  if (!mvAtLeast(v, [3, 0]) || !mvAtLeast(max, v)) {
    return cinderError(406, `Version ${raw} is not supported by the API. Minimum is 3.0 and maximum is ${mvStr(max)}.`);
  }
  return v;
}

function versionHeaders(v: Mv): Record<string, string> {
  return { 'OpenStack-API-Version': `volume ${mvStr(v)}`, Vary: 'OpenStack-API-Version' };
}

function notAllowed(allow: string[]): SimReply {
  return { ...cinderError(405, 'The method specified is not allowed for this resource.'), headers: { Allow: allow.join(', ') } };
}

/** A route's context: the microversion and the URL prefix of links (`…/volume/v3/{project_id}`). */
interface Call {
  mv: Mv;
  linkRoot: string;
}

const ROUTE =
  /^\/v3(?:\/([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?\/(volumes|snapshots)(?:\/([^/]+))?(?:\/(metadata)(?:\/([^/]+))?)?$/;

export function cinderRoute(ctx: ServiceContext, req: SimRequest): SimRoute | SimReply {
  const c = ctx.state.cloud;
  const max = parseMv(c.cinderMaxMicroversion) ?? [3, 71];
  const p = req.path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/v3') {
    if (req.method !== 'GET') return notAllowed(['GET']);
    const version = {
      id: 'v3.0',
      status: 'CURRENT',
      version: mvStr(max),
      min_version: '3.0',
      updated: '2023-08-31T00:00:00Z',
      links: [
        { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' },
        { rel: 'self', href: `${req.serviceRoot}/v3/` },
      ],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
    };
    // cinder/api/versions.py: the unversioned root is 300 Multiple Choices; /v3/ lists the same.
    return { endpoint: 'volume.versions', handle: () => ({ status: p === '/' ? 300 : 200, json: { versions: [version] } }) };
  }
  const m = ROUTE.exec(p);
  if (!m) return cinderError(404, 'The resource could not be found.');
  const [, project, collection, id, metadata, key] = m;
  const guard = (endpoint: string, fn: (call: Call) => SimReply): SimRoute => ({
    endpoint,
    handle: () => {
      if (!ctx.state.validToken(authToken(req))) return unauthorizedByMiddleware(req.serviceRoot.replace(/\/volume$/, '/identity'));
      const mv = requestedMicroversion(req, max);
      if (!Array.isArray(mv)) return mv;
      // cinder/api/openstack/wsgi.py `Resource._process_stack`: a project id in the URL must be the token's.
      if (project && project.replace(/-/g, '') !== c.projectId) return { ...cinderError(400, 'Malformed request url'), headers: versionHeaders(mv) };
      const r = fn({ mv, linkRoot: `${req.serviceRoot}/v3/${project ?? c.projectId}` });
      return { ...r, headers: { ...versionHeaders(mv), ...r.headers } };
    },
  });

  if (collection === 'volumes') {
    if (metadata) return cinderError(404, 'The resource could not be found.');
    if (!id || id === 'detail') {
      if (req.method !== 'GET') return notAllowed(id ? ['GET'] : ['GET', 'POST']);
      return guard('volume.volumes.list', (call) => listVolumes(ctx, req, call, id === 'detail'));
    }
    if (req.method !== 'GET') return notAllowed(['GET', 'PUT', 'DELETE']);
    return guard('volume.volumes.get', (call) => {
      const v = ctx.state.volumes.get(id.toLowerCase());
      return v ? { status: 200, json: { volume: volumeJson(ctx, call, v) } } : cinderError(404, `Volume ${id} could not be found.`);
    });
  }

  // snapshots
  if (!id || id === 'detail') {
    if (id) {
      if (req.method !== 'GET') return notAllowed(['GET']);
      return guard('volume.snapshots.list', (call) => listSnapshots(ctx, req, call, true));
    }
    if (req.method === 'GET') return guard('volume.snapshots.list', (call) => listSnapshots(ctx, req, call, false));
    if (req.method === 'POST') return guard('volume.snapshots.create', (call) => createSnapshot(ctx, req, call));
    return notAllowed(['GET', 'POST']);
  }
  const notFound = () => cinderError(404, `Snapshot ${id} could not be found.`);
  if (metadata) {
    const allow = key ? ['GET', 'PUT', 'DELETE'] : ['GET', 'POST', 'PUT'];
    if (!allow.includes(req.method)) return notAllowed(allow);
    return guard('volume.snapshots.metadata', () => {
      const snap = ctx.state.snapshots.get(id);
      if (!snap) return notFound();
      return key === undefined ? snapshotMetadata(req, snap) : snapshotMetadataItem(req, snap, decodeURIComponent(key));
    });
  }
  if (req.method === 'GET') {
    return guard('volume.snapshots.get', (call) => {
      const snap = ctx.state.snapshots.get(id);
      return snap ? { status: 200, json: { snapshot: snapshotJson(ctx, call, snap, true) } } : notFound();
    });
  }
  if (req.method === 'DELETE') {
    return guard('volume.snapshots.delete', () => {
      const snap = ctx.state.snapshots.get(id);
      if (!snap) return notFound();
      // cinder/volume/api.py `delete_snapshot`: a conditional update on these statuses.
      if (snap.status !== 'available' && snap.status !== 'error') {
        return cinderError(400, 'Invalid snapshot: Snapshot status must be available or error and must not be part of a group.');
      }
      ctx.state.deleteSnapshot(snap);
      return { status: 202 };
    });
  }
  if (req.method === 'PUT') {
    return guard('volume.snapshots.update', (call) => {
      const snap = ctx.state.snapshots.get(id);
      if (!snap) return notFound();
      return updateSnapshot(ctx, req, call, snap);
    });
  }
  return notAllowed(['GET', 'PUT', 'DELETE']);
}

// ---- views (cinder/api/v3/views/volumes.py, snapshots.py) ----

function volumeLinks(call: Call, id: string) {
  return [
    { rel: 'self', href: `${call.linkRoot}/volumes/${id}` },
    { rel: 'bookmark', href: `${call.linkRoot.replace(/\/v3\//, '/')}/volumes/${id}` },
  ];
}

export function volumeJson(ctx: ServiceContext, call: Call, v: SimVolume): Record<string, unknown> {
  const c = ctx.state.cloud;
  const j: Record<string, unknown> = {
    id: v.id,
    status: v.status,
    size: v.size,
    availability_zone: 'nova',
    created_at: v.createdAt,
    updated_at: v.updatedAt,
    name: v.name,
    description: v.description,
    volume_type: '__DEFAULT__',
    snapshot_id: null,
    source_volid: null,
    metadata: { ...v.metadata },
    links: volumeLinks(call, v.id),
    user_id: c.userId,
    bootable: String(v.bootable),
    encrypted: false,
    replication_status: null,
    consistencygroup_id: null,
    multiattach: false,
    attachments: v.attachments.map((a) => ({
      id: v.id,
      attachment_id: a.id,
      volume_id: v.id,
      server_id: a.serverId,
      host_name: null,
      device: a.device,
      attached_at: a.attachedAt,
    })),
    'os-vol-tenant-attr:tenant_id': c.projectId,
  };
  if (mvAtLeast(call.mv, MV.GROUP_VOLUME)) j.group_id = null;
  if (mvAtLeast(call.mv, MV.VOLUME_SHARED_TARGETS_AND_SERVICE_FIELDS)) {
    j.shared_targets = true;
    j.service_uuid = null;
  }
  if (mvAtLeast(call.mv, MV.VOLUME_TYPE_ID_IN_VOLUME_DETAIL)) j.volume_type_id = '2c1b7f0e-5a3d-4e8f-9b6a-1d0c2e4f6a8b';
  if (mvAtLeast(call.mv, MV.USE_QUOTA)) j.consumes_quota = true;
  return j;
}

/** Detail (show, `/snapshots/detail`, create) or summary (`/snapshots`) view. */
export function snapshotJson(ctx: ServiceContext, call: Call, s: SimSnapshot, detail: boolean): Record<string, unknown> {
  const j: Record<string, unknown> = {
    id: s.id,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    name: s.name,
    description: s.description,
    volume_id: s.volumeId,
    status: s.status,
    size: s.size,
    metadata: { ...s.metadata },
  };
  if (!detail) return j;
  j['os-extended-snapshot-attributes:progress'] = s.progress;
  j['os-extended-snapshot-attributes:project_id'] = ctx.state.cloud.projectId;
  if (mvAtLeast(call.mv, MV.GROUP_SNAPSHOTS)) j.group_snapshot_id = null;
  if (mvAtLeast(call.mv, MV.SNAPSHOT_LIST_USER_ID)) j.user_id = ctx.state.cloud.userId;
  if (mvAtLeast(call.mv, MV.USE_QUOTA)) j.consumes_quota = true;
  return j;
}

// ---- lists: filters and pages (cinder/api/common.py) ----

/** etc/cinder/resource_filters.json, the filters a non-admin may use from 3.31 on. */
const RESOURCE_FILTERS: Record<'volume' | 'snapshot', string[]> = {
  volume: ['name', 'status', 'metadata', 'bootable', 'migration_status', 'availability_zone', 'group_id', 'size', 'created_at', 'updated_at', 'consumes_quota'],
  snapshot: ['name', 'status', 'volume_id', 'metadata', 'availability_zone', 'consumes_quota'],
};
/** Before 3.31 unknown filters are dropped silently (`remove_invalid_filter_options`); these stay. */
const LEGACY_FILTERS: Record<'volume' | 'snapshot', string[]> = {
  volume: ['name', 'status', 'metadata', 'bootable', 'availability_zone'],
  snapshot: ['status', 'volume_id', 'name', 'metadata'],
};
const PAGING = new Set(['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir', 'with_count']);

/**
 * The `metadata` filter as Cinder reads it: `ast.literal_eval` of the query value, so both the
 * Python repr that cinderclient/openstacksdk send (`{'k': 'v'}`) and JSON (`{"k": "v"}`) work. A
 * value that is no dict matches nothing (the DB layer's "'metadata' filter value is not valid").
 */
export function parseMetadataFilter(raw: string): Record<string, string> | undefined {
  let i = 0;
  const ws = () => {
    while (i < raw.length && /\s/.test(raw[i]!)) i++;
  };
  const str = (): string | undefined => {
    ws();
    const q = raw[i];
    if (q !== "'" && q !== '"') return undefined;
    let out = '';
    for (i++; i < raw.length; i++) {
      const ch = raw[i]!;
      if (ch === q) {
        i++;
        return out;
      }
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const n = raw[++i];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
      if (n !== undefined && n in simple) out += simple[n];
      else if (n === 'u' || n === 'x') {
        const len = n === 'u' ? 4 : 2;
        const hex = raw.slice(i + 1, i + 1 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) return undefined;
        out += String.fromCharCode(parseInt(hex, 16));
        i += len;
      } else return undefined;
    }
    return undefined;
  };
  ws();
  if (raw[i++] !== '{') return undefined;
  const out: Record<string, string> = {};
  ws();
  if (raw[i] === '}') {
    i++;
  } else {
    for (;;) {
      const k = str();
      if (k === undefined) return undefined;
      ws();
      if (raw[i++] !== ':') return undefined;
      const v = str();
      if (v === undefined) return undefined;
      out[k] = v;
      ws();
      const sep = raw[i++];
      if (sep === '}') break;
      if (sep !== ',') return undefined;
      ws();
      if (raw[i] === '}') {
        i++;
        break;
      }
    }
  }
  ws();
  return i === raw.length ? out : undefined;
}

type Filters = Map<string, string>;

/** The filters of a list request after Cinder's checks, or the 400 it answers. */
function listFilters(req: SimRequest, call: Call, resource: 'volume' | 'snapshot'): Filters | SimReply {
  const filters: Filters = new Map();
  for (const [k, v] of req.query) if (!PAGING.has(k)) filters.set(k, v);
  if (mvAtLeast(call.mv, MV.RESOURCE_FILTER)) {
    // cinderclient always adds all_tenants: a non-admin's is dropped silently (bug #1917574).
    filters.delete('all_tenants');
    const invalid = [...filters.keys()].filter((k) => !RESOURCE_FILTERS[resource].includes(k));
    if (invalid.length) return cinderError(400, `Invalid filters ${invalid.join(',')} are found in query options.`);
  } else {
    for (const k of [...filters.keys()]) if (!LEGACY_FILTERS[resource].includes(k)) filters.delete(k);
    if (resource === 'snapshot' && !mvAtLeast(call.mv, MV.SNAPSHOT_LIST_METADATA_FILTER)) filters.delete('metadata');
  }
  return filters;
}

const BOOL_TRUE = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

function matches(filters: Filters, json: Record<string, unknown>): boolean {
  for (const [k, want] of filters) {
    if (k === 'metadata') {
      const meta = parseMetadataFilter(want);
      const have = json.metadata as Record<string, string>;
      if (!meta || !Object.entries(meta).every(([mk, mv]) => have[mk] === mv)) return false;
    } else if (k === 'bootable' || k === 'consumes_quota') {
      if (BOOL_TRUE.has(want.toLowerCase()) !== (k === 'bootable' ? json.bootable === 'true' : true)) return false;
    } else if (k === 'availability_zone') {
      if (want !== 'nova') return false;
    } else if (String(json[k] ?? '') !== want) return false;
  }
  return true;
}

/** One page: sorted newest first (Cinder's default `created_at:desc`, then `id`), after `marker`, `offset`, at most `limit`; with the `next` link. */
function page<T extends { id: string; createdAt: string }>(
  req: SimRequest,
  call: Call,
  all: T[],
  collection: string,
  maxLimit: number,
): { items: T[]; links: { rel: string; href: string }[] } | SimReply {
  const q = req.query;
  let limit = maxLimit;
  if (q.has('limit')) {
    const raw = q.get('limit')!;
    if (!/^-?\d+$/.test(raw.trim())) return cinderError(400, 'limit param must be an integer');
    limit = Number(raw);
    if (limit < 0) return cinderError(400, 'limit param must be positive');
    limit = Math.min(limit, maxLimit);
  }
  let offset = 0;
  if (q.has('offset')) {
    const raw = q.get('offset')!;
    if (!/^\d+$/.test(raw.trim())) return cinderError(400, `offset must be an integer and greater than or equal to 0. Value: ${raw}`);
    offset = Number(raw);
  }
  const sorted = [...all].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));
  let start = 0;
  const marker = q.get('marker');
  if (marker !== null) {
    const i = sorted.findIndex((x) => x.id === marker);
    if (i < 0) return cinderError(404, `Marker ${marker} could not be found.`);
    start = i + 1;
  }
  const items = sorted.slice(start + offset, start + offset + limit);
  // cinder/api/common.py `_get_collection_links`: a next link whenever the page is full.
  const links: { rel: string; href: string }[] = [];
  if (items.length > 0 && limit <= items.length) {
    const params = new URLSearchParams(q);
    params.set('marker', items[items.length - 1]!.id);
    links.push({ rel: 'next', href: `${call.linkRoot}/${collection}?${params.toString()}` });
  }
  return { items, links };
}

function listVolumes(ctx: ServiceContext, req: SimRequest, call: Call, detail: boolean): SimReply {
  const filters = listFilters(req, call, 'volume');
  if (!(filters instanceof Map)) return filters;
  const matching = [...ctx.state.volumes.values()].filter((v) => matches(filters, volumeJson(ctx, call, v)));
  const pg = page(req, call, matching, detail ? 'volumes/detail' : 'volumes', ctx.state.cloud.cinderMaxLimit);
  if (!('items' in pg)) return pg;
  const volumes = pg.items.map((v) => (detail ? volumeJson(ctx, call, v) : { id: v.id, name: v.name, links: volumeLinks(call, v.id) }));
  return { status: 200, json: pg.links.length ? { volumes, volumes_links: pg.links } : { volumes } };
}

function listSnapshots(ctx: ServiceContext, req: SimRequest, call: Call, detail: boolean): SimReply {
  const filters = listFilters(req, call, 'snapshot');
  if (!(filters instanceof Map)) return filters;
  const matching = [...ctx.state.snapshots.values()].filter((s) => matches(filters, snapshotJson(ctx, call, s, false)));
  const pg = page(req, call, matching, detail ? 'snapshots/detail' : 'snapshots', ctx.state.cloud.cinderMaxLimit);
  if (!('items' in pg)) return pg;
  const snapshots = pg.items.map((s) => snapshotJson(ctx, call, s, detail));
  return { status: 200, json: pg.links.length ? { snapshots, snapshots_links: pg.links } : { snapshots } };
}

// ---- snapshot create and metadata ----

/** cinder/api/validation/parameter_types.py `boolean`. */
const BOOLEANS = new Map<unknown, boolean>([
  ...[true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y', 't'].map((v): [unknown, boolean] => [v, true]),
  ...[false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f'].map((v): [unknown, boolean] => [v, false]),
]);
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const invalid = (field: string, detail: string) => cinderError(400, `Invalid input for field/attribute ${field}. ${detail}`);

/** parameter_types `metadata`: keys 1–255 characters, string values up to 255. */
function validMetadata(field: string, v: unknown): { ok: Record<string, string> } | { refused: SimReply } {
  const no = (detail: string) => ({ refused: invalid(field, `Value: ${JSON.stringify(v)}. ${detail}`) });
  if (!v || typeof v !== 'object' || Array.isArray(v)) return no(`${JSON.stringify(v)} is not of type 'object'`);
  const ok: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.length < 1 || k.length > 255) return no(`'${k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{1,255}$'`);
    if (typeof x !== 'string') return no(`${JSON.stringify(x)} is not of type 'string'`);
    if (x.length > 255) return no(`'${x.slice(0, 20)}…' is too long`);
    ok[k] = x;
  }
  return { ok };
}

function createSnapshot(ctx: ServiceContext, req: SimRequest, call: Call): SimReply {
  const body = req.body;
  if (body === INVALID_JSON || !body || typeof body !== 'object' || Array.isArray(body)) return cinderError(400, 'Malformed request body');
  const b = body as Record<string, unknown>;
  const extraTop = Object.keys(b).filter((k) => k !== 'snapshot');
  if (extraTop.length) return cinderError(400, `Additional properties are not allowed (${extraTop.map((k) => `'${k}'`).join(', ')} was unexpected)`);
  const s = b.snapshot;
  if (!s || typeof s !== 'object' || Array.isArray(s)) return invalid('snapshot', "'snapshot' is a required property");
  const a = s as Record<string, unknown>;
  const extra = Object.keys(a).filter((k) => !['name', 'display_name', 'description', 'volume_id', 'force', 'metadata'].includes(k));
  if (extra.length) return cinderError(400, `Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} was unexpected)`);
  if (!('volume_id' in a)) return invalid('snapshot', "'volume_id' is a required property");
  if (a.volume_id !== null && (typeof a.volume_id !== 'string' || !UUID.test(a.volume_id))) {
    return invalid('volume_id', `Value: ${JSON.stringify(a.volume_id)}. ${JSON.stringify(a.volume_id)} is not a 'uuid'`);
  }
  for (const f of ['name', 'display_name', 'description'] as const) {
    if (a[f] !== undefined && a[f] !== null && (typeof a[f] !== 'string' || a[f].length > 255)) {
      return invalid(f, `Value: ${JSON.stringify(a[f])}. It must be a string of at most 255 characters`);
    }
  }
  let metadata: Record<string, string> = {};
  if (a.metadata !== undefined && a.metadata !== null) {
    const m = validMetadata('metadata', a.metadata);
    if ('refused' in m) return m.refused;
    metadata = m.ok;
  }
  let force = false;
  if (a.force !== undefined) {
    const f = BOOLEANS.get(a.force);
    if (f === undefined) return invalid('force', `Value: ${JSON.stringify(a.force)}. ${JSON.stringify(a.force)} is not one of the allowed boolean values`);
    force = f;
    if (mvAtLeast(call.mv, MV.SNAPSHOT_IN_USE) && !force) {
      return cinderError(
        400,
        "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward compatability, however, when the 'force' flag is passed with a value evaluating to True, it is silently ignored.",
      );
    }
  }
  const volumeId = typeof a.volume_id === 'string' ? a.volume_id.toLowerCase() : String(a.volume_id);
  const volume = ctx.state.volumes.get(volumeId);
  if (!volume) return cinderError(404, `Volume ${String(a.volume_id)} could not be found.`);
  // cinder/volume/api.py `create_snapshot_in_db`.
  const valid = force || mvAtLeast(call.mv, MV.SNAPSHOT_IN_USE) ? ['available', 'in-use'] : ['available'];
  if (!valid.includes(volume.status)) {
    return cinderError(400, `Invalid volume: Volume ${volume.id} status must be ${valid.join(', ')}, but current status is: ${volume.status}.`);
  }
  const name = (a.name ?? a.display_name ?? null) as string | null;
  const snap = ctx.state.createSnapshot(volume, {
    name: name === null ? null : name.trim(),
    description: (a.description as string | null | undefined) ?? null,
    metadata,
  });
  return { status: 202, json: { snapshot: snapshotJson(ctx, call, snap, true) } };
}

/** `GET|POST|PUT /snapshots/{id}/metadata` (cinder/api/v3/snapshot_metadata.py `index`, `create`, `update_all`). */
function snapshotMetadata(req: SimRequest, snap: SimSnapshot): SimReply {
  if (req.method === 'GET') return { status: 200, json: { metadata: { ...snap.metadata } } };
  const body = req.body;
  if (body === INVALID_JSON || !body || typeof body !== 'object' || !('metadata' in body)) return cinderError(400, 'Malformed request body');
  const m = validMetadata('metadata', (body as { metadata: unknown }).metadata);
  if ('refused' in m) return m.refused;
  const meta = m.ok;
  snap.metadata = req.method === 'PUT' ? { ...meta } : { ...snap.metadata, ...meta };
  return { status: 200, json: { metadata: { ...snap.metadata } } };
}

/** `GET|PUT|DELETE /snapshots/{id}/metadata/{key}`. */
function snapshotMetadataItem(req: SimRequest, snap: SimSnapshot, key: string): SimReply {
  const missing = () => cinderError(404, `Snapshot ${snap.id} has no metadata with key ${key}.`);
  if (req.method === 'GET') return key in snap.metadata ? { status: 200, json: { meta: { [key]: snap.metadata[key] } } } : missing();
  if (req.method === 'DELETE') {
    if (!(key in snap.metadata)) return missing();
    delete snap.metadata[key];
    return { status: 200 };
  }
  const body = req.body;
  if (body === INVALID_JSON || !body || typeof body !== 'object' || !('meta' in body)) return cinderError(400, 'Malformed request body');
  const m = validMetadata('meta', (body as { meta: unknown }).meta);
  if ('refused' in m) return m.refused;
  const meta = m.ok;
  if (!(key in meta)) return cinderError(400, 'Request body and URI mismatch');
  if (Object.keys(meta).length > 1) return cinderError(400, 'Request body contains too many items');
  snap.metadata[key] = meta[key]!;
  return { status: 200, json: { meta } };
}

/** `PUT /snapshots/{id}` (cinder/api/schemas/snapshots.py `update`): a new name and/or description → 200 with the snapshot. */
function updateSnapshot(ctx: ServiceContext, req: SimRequest, call: Call, snap: SimSnapshot): SimReply {
  const body = req.body;
  const s = body && body !== INVALID_JSON && typeof body === 'object' ? (body as Record<string, unknown>).snapshot : undefined;
  if (!s || typeof s !== 'object' || Array.isArray(s)) return invalid('snapshot', "'snapshot' is a required property");
  const a = s as Record<string, unknown>;
  const keys = Object.keys(a);
  const extra = keys.filter((k) => !['name', 'description', 'display_name', 'display_description'].includes(k));
  if (extra.length) return cinderError(400, `Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} was unexpected)`);
  if (keys.length === 0) return invalid('snapshot', '{} is not valid under any of the given schemas');
  for (const k of keys) {
    if (a[k] !== null && (typeof a[k] !== 'string' || a[k].length > 255)) {
      return invalid(k, `Value: ${JSON.stringify(a[k])}. It must be a string of at most 255 characters`);
    }
  }
  const name = a.name ?? a.display_name;
  const description = a.description ?? a.display_description;
  if (name !== undefined) snap.name = name === null ? null : (name as string).trim();
  if (description !== undefined) snap.description = description as string | null;
  snap.updatedAt = ctx.state.cinderNow();
  return { status: 200, json: { snapshot: snapshotJson(ctx, call, snap, true) } };
}
