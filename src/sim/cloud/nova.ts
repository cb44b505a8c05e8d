import { createHash } from 'node:crypto';
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
import { flavorJson, listFlavors } from './nova-flavors.js';
import { selectServers, serversLinks } from './nova-list.js';
import { CloudState, type SimServer } from './state.js';

/**
 * Nova v2.1 subset (Compute API reference: "Servers", "Servers - run an action", "Flavors"):
 * `GET /v2.1/servers/{id}`, `GET /v2.1/servers[/detail]` (nova-list.ts), `GET /v2.1/flavors[/detail|/{id}]`
 * (nova-flavors.ts), `GET /v2.1/servers/{id}/os-volume_attachments[/{volume_id}]`, `POST /v2.1/servers/{id}/action` with
 * `createImage` (of a volume-backed server as well), `os-stop`, `os-start`. Microversions 2.1 … max, both request headers understood.
 */

/** Nova's and Cinder's error body (the same oslo wsgi `Fault`). */
export const novaError = openstackFault;

/** The requested microversion (`OpenStack-API-Version: compute X`, else `X-OpenStack-Nova-API-Version`). */
function requestedMicroversion(req: SimRequest, max: Mv): Mv | SimReply {
  let raw: string | undefined;
  const generic = header(req, 'openstack-api-version');
  if (generic) {
    for (const part of generic.split(',')) {
      const [svc, ver] = part.trim().split(/\s+/);
      if (svc?.toLowerCase() === 'compute' && ver) raw = ver;
    }
  }
  raw ??= header(req, 'x-openstack-nova-api-version');
  if (!raw) return [2, 1];
  if (raw.trim().toLowerCase() === 'latest') return max;
  const v = parseMv(raw);
  if (!v) return novaError(400, `Invalid API version request string ${raw}.`);
  if (!mvAtLeast(v, [2, 1]) || !mvAtLeast(max, v)) {
    return novaError(406, `Version ${raw} is not supported by the API. Minimum is 2.1 and maximum is ${mvStr(max)}.`);
  }
  return v;
}

function versionHeaders(v: Mv): Record<string, string> {
  return {
    'OpenStack-API-Version': `compute ${mvStr(v)}`,
    'X-OpenStack-Nova-API-Version': mvStr(v),
    Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
  };
}

function serverJson(ctx: ServiceContext, req: SimRequest, s: SimServer, mv: Mv): Record<string, unknown> {
  const c = ctx.state.cloud;
  const self = `${req.serviceRoot}/v2.1/servers/${s.id}`;
  const bookmark = `${req.serviceRoot}/servers/${s.id}`;
  const flavor = c.flavors[0]!;
  const octet = parseInt(createHash('md5').update(s.id).digest('hex').slice(0, 2), 16) % 250;
  const j: Record<string, unknown> = {
    id: s.id,
    name: s.name,
    status: CloudState.statusOf(s),
    tenant_id: c.projectId,
    user_id: c.userId,
    metadata: { hotstack_role: s.role },
    hostId: createHash('sha224')
      .update(c.projectId + 'compute-0')
      .digest('hex'),
    // A server booted from a volume has no image: Nova shows an empty string.
    image: s.imageRef ? { id: s.imageRef, links: [{ rel: 'bookmark', href: `${req.serviceRoot}/images/${s.imageRef}` }] } : '',
    // ≥ 2.47 the flavor is embedded (extra_specs need a policy this user has); before, a link.
    flavor: mvAtLeast(mv, [2, 47])
      ? {
          vcpus: flavor.vcpus,
          ram: flavor.ram,
          disk: flavor.disk,
          ephemeral: flavor.ephemeral,
          swap: flavor.swap,
          original_name: flavor.name,
          extra_specs: { ...flavor.extraSpecs },
        }
      : { id: flavor.id, links: [{ rel: 'bookmark', href: `${req.serviceRoot}/flavors/${flavor.id}` }] },
    created: s.created,
    updated: s.updated,
    addresses: {
      'hotstack-net': [{ version: 4, addr: `192.168.122.${octet + 2}`, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': s.macAddress }],
    },
    accessIPv4: '',
    accessIPv6: '',
    links: [
      { rel: 'self', href: self },
      { rel: 'bookmark', href: bookmark },
    ],
    'OS-DCF:diskConfig': 'MANUAL',
    progress: 0,
    'OS-EXT-AZ:availability_zone': 'nova',
    config_drive: 'True',
    key_name: 'hotstack',
    'OS-SRV-USG:launched_at': s.launchedAt.replace('Z', '.000000'),
    'OS-SRV-USG:terminated_at': null,
    security_groups: [{ name: 'default' }],
    'OS-EXT-STS:task_state': s.taskState,
    'OS-EXT-STS:vm_state': s.vmState,
    'OS-EXT-STS:power_state': s.powerState,
    'os-extended-volumes:volumes_attached': ctx.state
      .attachmentsOf(s.id)
      .map(({ volume }) => (mvAtLeast(mv, [2, 3]) ? { id: volume.id, delete_on_termination: false } : { id: volume.id })),
  };
  if (mvAtLeast(mv, [2, 3])) j['OS-EXT-SRV-ATTR:reservation_id'] = `r-${s.id.slice(0, 8)}`;
  if (mvAtLeast(mv, [2, 9])) j.locked = false;
  if (mvAtLeast(mv, [2, 19])) j.description = null;
  if (mvAtLeast(mv, [2, 26])) j.tags = [];
  if (mvAtLeast(mv, [2, 63])) j.trusted_image_certificates = null;
  if (mvAtLeast(mv, [2, 73])) j.locked_reason = null;
  if (mvAtLeast(mv, [2, 96])) j.pinned_availability_zone = null;
  return j;
}

/** Nova's `reject` route: 405 with the methods the path has (nova/api/openstack/wsgi.py). */
function notAllowed(allow: string[]): SimReply {
  return { ...novaError(405, 'The method specified is not allowed for this resource.'), headers: { Allow: allow.join(', ') } };
}

export function novaRoute(ctx: ServiceContext, req: SimRequest): SimRoute | SimReply {
  const max = parseMv(ctx.state.cloud.novaMaxMicroversion) ?? [2, 96];
  const p = req.path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/v2.1') {
    if (req.method !== 'GET') return notAllowed(['GET']);
    const version = {
      id: 'v2.1',
      status: 'CURRENT',
      version: mvStr(max),
      min_version: '2.1',
      updated: '2013-07-23T11:33:21Z',
      links: [{ rel: 'self', href: `${req.serviceRoot}/v2.1/` }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
    };
    return { endpoint: 'compute.versions', handle: () => ({ status: 200, json: p === '/' ? { versions: [version] } : { version } }) };
  }
  const guard = (endpoint: string, fn: (mv: Mv) => SimReply): SimRoute => ({
    endpoint,
    handle: () => {
      // keystonemiddleware runs before Nova sees the request.
      if (!ctx.state.validToken(authToken(req))) return unauthorizedByMiddleware(identityUri(req));
      const mv = requestedMicroversion(req, max);
      if (!Array.isArray(mv)) return mv;
      const r = fn(mv as Mv);
      return { ...r, headers: { ...versionHeaders(mv as Mv), ...r.headers } };
    },
  });
  const fl = /^\/v2\.1(?:\/[0-9a-f]{32})?\/flavors(?:\/([^/]+))?$/.exec(p);
  if (fl) {
    const [, fid] = fl;
    const flavors = ctx.state.cloud.flavors;
    if (!fid || fid === 'detail') {
      if (req.method !== 'GET') return notAllowed(fid ? ['GET'] : ['GET', 'POST']);
      return guard('compute.flavors.list', (mv) => {
        const r = listFlavors(req, flavors, mv, fid === 'detail', ctx.state.cloud.novaMaxLimit);
        return 'message' in r ? novaError(r.status, r.message) : r;
      });
    }
    if (req.method !== 'GET') return notAllowed(['GET', 'PUT', 'DELETE']);
    return guard('compute.flavors.get', (mv) => {
      const f = flavors.find((x) => x.id === fid);
      return f ? { status: 200, json: { flavor: flavorJson(req, f, mv, true) } } : novaError(404, `Flavor ${fid} could not be found.`);
    });
  }
  const va = /^\/v2\.1(?:\/[0-9a-f]{32})?\/servers\/([^/]+)\/os-volume_attachments(?:\/([^/]+))?$/.exec(p);
  if (va) {
    const [, sid, vid] = va;
    if (req.method !== 'GET') return notAllowed(vid ? ['GET', 'PUT', 'DELETE'] : ['GET', 'POST']);
    return guard('compute.servers.volumeAttachments', (mv) => volumeAttachments(ctx, sid!, vid, mv));
  }
  const m = /^\/v2\.1(?:\/[0-9a-f]{32})?\/servers(?:\/([^/]+))?(?:\/(action))?$/.exec(p);
  if (!m) return novaError(404, 'The resource could not be found.');
  const [, id, action] = m;
  if (!id || id === 'detail') {
    if (req.method !== 'GET') return notAllowed(id ? ['GET'] : ['GET', 'POST']);
    return guard('compute.servers.list', (mv) => {
      const page = selectServers(ctx.state, req.query, ctx.state.cloud.novaMaxLimit);
      if (!('servers' in page)) return novaError(page.status, page.message);
      const collection = p.replace(/^(\/v2\.1(?:\/[0-9a-f]{32})?).*$/, '$1') + (id ? '/servers/detail' : '/servers');
      const links = serversLinks(req, page, collection);
      const servers = page.servers.map((s) => {
        const full = serverJson(ctx, req, s, mv);
        return id === 'detail' ? full : { id: s.id, name: s.name, links: full.links };
      });
      return { status: 200, json: links.length ? { servers, servers_links: links } : { servers } };
    });
  }
  const server = ctx.state.servers.get(id);
  const notFound = () => novaError(404, `Instance ${id} could not be found.`);
  if (!action) {
    if (req.method !== 'GET') return notAllowed(['GET', 'PUT', 'DELETE']);
    return guard('compute.servers.get', (mv) => (server ? { status: 200, json: { server: serverJson(ctx, req, server, mv) } } : notFound()));
  }
  if (req.method !== 'POST') return notAllowed(['POST']);
  const body = req.body;
  const actionName = body && body !== INVALID_JSON && typeof body === 'object' ? Object.keys(body)[0] : undefined;
  const endpoint =
    actionName === 'createImage'
      ? 'compute.servers.createImage'
      : actionName === 'os-stop'
        ? 'compute.servers.stop'
        : actionName === 'os-start'
          ? 'compute.servers.start'
          : 'compute.servers.action';
  return guard(endpoint, (mv) => {
    if (body === INVALID_JSON || !actionName) return novaError(400, 'Malformed request body');
    if (!server) return notFound();
    const args = (body as Record<string, unknown>)[actionName];
    switch (actionName) {
      case 'createImage':
        return createImage(ctx, req, server, args, mv);
      case 'os-stop':
        if (server.taskState) return conflict(server, 'stop', 'task_state', server.taskState);
        if (server.vmState !== 'active') return conflict(server, 'stop', 'vm_state', server.vmState);
        ctx.state.stop(server);
        return { status: 202 };
      case 'os-start':
        if (server.taskState) return conflict(server, 'start', 'task_state', server.taskState);
        if (server.vmState !== 'stopped') return conflict(server, 'start', 'vm_state', server.vmState);
        ctx.state.start(server);
        return { status: 202 };
      default:
        return novaError(400, `There is no such action: ${actionName}`);
    }
  });
}

function identityUri(req: SimRequest): string {
  return req.serviceRoot.replace(/\/compute$/, '/identity').replace(/\/image$/, '/identity');
}

/** nova.exception.InstanceInvalidState, as the API reports it. */
function conflict(s: SimServer, action: string, attr: string, value: string): SimReply {
  return novaError(409, `Cannot '${action}' instance ${s.id} while it is in ${attr} ${value}`);
}

const META_KEY = /^[\w.:-]{1,255}$/;

function createImage(ctx: ServiceContext, req: SimRequest, s: SimServer, args: unknown, mv: Mv): SimReply {
  if (!args || typeof args !== 'object' || Array.isArray(args)) {
    return novaError(400, "Invalid input for field/attribute createImage. Value: None. None is not of type 'object'");
  }
  const a = args as Record<string, unknown>;
  if (typeof a.name !== 'string' || a.name.trim() === '' || a.name.length > 255) {
    return novaError(400, 'Invalid input for field/attribute name. Value: ' + String(a.name) + ". 'name' is a required property");
  }
  const extra = Object.keys(a).filter((k) => k !== 'name' && k !== 'metadata');
  if (extra.length) {
    return novaError(400, `Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} was unexpected)`);
  }
  const metadata: Record<string, string> = {};
  if (a.metadata !== undefined) {
    if (!a.metadata || typeof a.metadata !== 'object' || Array.isArray(a.metadata)) {
      return novaError(400, "Invalid input for field/attribute metadata. Value must be of type 'object'");
    }
    for (const [k, v] of Object.entries(a.metadata)) {
      if (!META_KEY.test(k)) return novaError(400, `Invalid input for field/attribute metadata. Key '${k}' is not valid`);
      if (typeof v !== 'string' || v.length > 255) {
        return novaError(400, `Invalid input for field/attribute metadata. Value for '${k}' must be a string of at most 255 characters`);
      }
      metadata[k] = v;
    }
  }
  if (s.taskState) return conflict(s, 'createImage', 'task_state', s.taskState);
  // nova/api/openstack/compute/servers.py `_create_image`: a volume-backed server is snapshotted by `snapshot_volume_backed`.
  const image = s.rootVolumeId ? ctx.state.snapshotVolumeBacked(s, a.name.trim(), metadata) : ctx.state.snapshot(s, a.name, metadata);
  if (mvAtLeast(mv, [2, 45])) return { status: 202, json: { image_id: image.id } };
  // Before 2.45 the answer is empty and the image is in the Location header.
  const imageRoot = req.serviceRoot.replace(/\/compute$/, '/image');
  return { status: 202, headers: { Location: `${imageRoot}/v2/images/${image.id}` } };
}

/**
 * `GET /servers/{id}/os-volume_attachments[/{volume_id}]` (Compute API reference, "Servers with volume
 * attachments"): `id` is the volume id until 2.89 replaced it by `attachment_id` and `bdm_uuid`; `tag`
 * from 2.70, `delete_on_termination` from 2.79.
 */
function volumeAttachments(ctx: ServiceContext, serverId: string, volumeId: string | undefined, mv: Mv): SimReply {
  if (!ctx.state.servers.has(serverId)) return novaError(404, `Instance ${serverId} could not be found.`);
  const view = ({ volume, attachment }: ReturnType<CloudState['attachmentsOf']>[number]) => {
    const j: Record<string, unknown> = { device: attachment.device, serverId, volumeId: volume.id };
    if (!mvAtLeast(mv, [2, 89])) j.id = volume.id;
    if (mvAtLeast(mv, [2, 70])) j.tag = null;
    if (mvAtLeast(mv, [2, 79])) j.delete_on_termination = false;
    if (mvAtLeast(mv, [2, 89])) {
      j.attachment_id = attachment.id;
      j.bdm_uuid = attachment.bdmUuid;
    }
    return j;
  };
  const all = ctx.state.attachmentsOf(serverId);
  if (volumeId === undefined) return { status: 200, json: { volumeAttachments: all.map(view) } };
  const one = all.find((a) => a.volume.id === volumeId.toLowerCase());
  return one ? { status: 200, json: { volumeAttachment: view(one) } } : novaError(404, `No volume Block Device Mapping with id ${volumeId}.`);
}
