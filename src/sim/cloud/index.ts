import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ZodError } from 'zod';
import type { Scenario } from '../scenario.js';
import type { SimComputeControl } from '../types.js';
import { cinderError, cinderRoute, snapshotJson, volumeJson } from './cinder.js';
import { FaultEngine, type SimCounters } from './faults.js';
import { glanceError, glanceRoute, imageJson } from './glance.js';
import { gatewayError, header, INVALID_JSON, type ServiceContext, type SimReply, type SimRequest, type SimRoute } from './http.js';
import { keystoneError, keystoneRoute } from './keystone.js';
import { novaError, novaRoute } from './nova.js';
import { cloudScenarioSchema, type CloudFaults, type CloudFaultsInput, type CloudScenario } from './scenario.js';
import { CloudState } from './state.js';

/**
 * The simulated cloud: Keystone v3, Nova v2.1, Glance v2 and Cinder v3 on one loopback port, with the real URL
 * shapes (`/identity/v3/auth/tokens`, `/compute/v2.1/servers/{id}`, `/image/v2/images`,
 * `/volume/v3/{project_id}/snapshots`); other
 * interfaces under `/internal/…` and `/admin/…`, extra regions under `/r/<region>/…`.
 *
 * Control endpoint (no auth, loopback only):
 *   GET    /_sim/faults                 current faults
 *   PUT    /_sim/faults                 replace all faults (body: CloudFaultsInput)
 *   PATCH  /_sim/faults                 merge (endpoint entries merge by name); `{"expireTokens": true}` expires tokens
 *   POST   /_sim/tokens/expire          expire every token now → `{"expired": n}`
 *   GET    /_sim/counters               per-endpoint counters; DELETE resets them
 *   GET    /_sim/requests               the last 500 requests (endpoint, region, interface, status, request id)
 *   GET    /_sim/state                  servers, images, volumes and volume snapshots
 *   POST   /_sim/servers/{uuid}/guest-shutdown  `{"delayMs": n}`: the guest powers off from inside
 *   /_sim/labs…, /_sim/reset     the labs (controllers, nodes, reset), added by src/sim/index.ts
 */
export { cloudScenarioSchema, SIM_ENDPOINTS, type CloudScenario, type CloudScenarioInput, type CloudFaults, type CloudFaultsInput } from './scenario.js';
export type { SimCounters, EndpointCounters } from './faults.js';

/** One request as the simulator logged it (for tests: which region/interface served it). */
export interface SimRequestRecord {
  at: string;
  method: string;
  path: string;
  endpoint: string;
  region: string;
  interface: string;
  status: number | 'reset';
  requestId: string;
  /** The query string without `?` ('' when none). */
  query: string;
  /** Request headers a test may check (never `X-Auth-Token`). */
  headers: { contentType?: string; microversion?: string; novaMicroversion?: string };
  /** The parsed JSON body of a Nova, Glance or Cinder request (Keystone bodies carry secrets and are left out). */
  body?: unknown;
}

/** A `/_sim/*` route outside the cloud (see `CloudSimulator.extendControl`). */
export type SimControlHandler = (method: string, path: string, body: unknown) => SimReply | undefined | Promise<SimReply | undefined>;

/** A Nova server as the control endpoint shows it. */
export interface SimServerView {
  id: string;
  name: string;
  role: string;
  status: string;
  vmState: string;
  taskState: string | null;
  powerState: number;
}

export interface CloudSimulator {
  /** Keystone root as written to clouds.yaml (`…/identity`; clients add `/v3`). */
  readonly authUrl: string;
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** Public endpoints of the primary region. */
  readonly endpoints: { identity: string; compute: string; image: string; volume: string; control: string };
  /** The clouds.yaml written for this simulator (clouds `sim` and `sim-appcred`). */
  readonly cloudsYamlPath: string;
  readonly cloudName: 'sim';
  /** A second cloud in the same file that authenticates with an application credential. */
  readonly appCredCloudName: 'sim-appcred';
  /** The resolved cloud part of the scenario. */
  readonly cloud: CloudScenario;
  /** The seam for the controller simulator. */
  readonly compute: SimComputeControl;
  faults(): CloudFaults;
  /** Merges a fault patch (endpoint entries merge by name); `replace` resets everything else to defaults. */
  setFaults(patch: CloudFaultsInput, mode?: 'merge' | 'replace'): CloudFaults;
  /** Expires every token issued so far: the next call with one answers 401. Returns how many. */
  expireTokens(): number;
  counters(): SimCounters;
  resetCounters(): void;
  requestLog(): SimRequestRecord[];
  /** Adds `/_sim/*` routes of the rest of the simulator (the labs: src/sim/index.ts); a handler answers undefined for paths it does not own. */
  extendControl(handler: SimControlHandler): void;
  servers(): SimServerView[];
  /** Glance JSON of every image (as `GET /v2/images/{id}` shows it). */
  images(): Record<string, unknown>[];
  /** Cinder JSON of every volume (as `GET /v3/{project_id}/volumes/{id}` shows it at the highest microversion). */
  volumes(): Record<string, unknown>[];
  /** Cinder JSON of every volume snapshot (as `GET /v3/{project_id}/snapshots/{id}` shows it at the highest microversion). */
  snapshots(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StartCloudSimulatorOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 = a free port. @default 0 */
  port?: number;
  /** Directory for clouds.yaml. @default a new temporary directory */
  stateDir?: string;
}

const MAX_BODY = 1 << 20;
const LOG_SIZE = 500;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `/[r/<region>/][internal|admin/]<identity|compute|image|volume>/...` */
const PREFIX = /^(?:\/r\/([^/]+))?(?:\/(internal|admin))?\/(identity|compute|image|volume)(\/.*)?$/;

type Service = 'identity' | 'compute' | 'image' | 'volume';

function serviceError(service: Service, status: number, message: string, req?: SimRequest): SimReply {
  if (service === 'compute') return novaError(status, message);
  if (service === 'volume') return cinderError(status, message);
  if (service === 'image') return glanceError(status, message, req);
  return keystoneError(status, message);
}

/** An injected 5xx: 500 in the service's own shape, 502/503/504 as a load balancer's page. */
function injectedError(service: Service, status: number, req: SimRequest): SimReply {
  if (status === 502 || status === 503 || status === 504) return gatewayError(status);
  return serviceError(service, status, 'Unexpected API Error. Please report this at http://bugs.launchpad.net/ and attach the log if possible.', req);
}

function send(res: ServerResponse, reply: SimReply, requestId: string, service: Service | 'control'): void {
  const headers: Record<string, string> = { 'X-Openstack-Request-Id': requestId, ...reply.headers };
  if (service === 'compute') headers['X-Compute-Request-Id'] = requestId;
  let payload = '';
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json);
    headers['Content-Type'] = 'application/json';
  } else if (reply.text !== undefined) {
    payload = reply.text;
    headers['Content-Type'] = `${reply.contentType ?? 'text/plain'}; charset=UTF-8`;
  }
  if (reply.status !== 204) headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(reply.status === 204 ? undefined : payload);
}

/** Starts Keystone v3 + Nova v2.1 + Glance v2 (+ `/_sim` control) on one loopback port. */
export async function startCloudSimulator(scenario: Scenario, opts: StartCloudSimulatorOptions = {}): Promise<CloudSimulator> {
  // Re-parse: a scenario parsed elsewhere may carry `cloud: {}` (zod's .default does not fill nested defaults).
  const cloud = cloudScenarioSchema.parse(scenario.cloud ?? {});
  const state = new CloudState(scenario, cloud);
  const faults = new FaultEngine(structuredClone(cloud.faults));
  faults.onExpireTokens = () => void state.expireAllTokens();
  state.shouldKill = (s) => faults.killImage(s.id);
  state.shouldFailSnapshot = (snap) => faults.killSnapshot(snap.volumeId);
  const log: SimRequestRecord[] = [];
  const controlExtensions: SimControlHandler[] = [];
  const ctx: ServiceContext = { state };
  const regions = new Set([cloud.region, ...cloud.extraRegions]);
  let origin = '';

  const control = async (method: string, path: string, body: unknown): Promise<SimReply> => {
    const ok = (json: unknown): SimReply => ({ status: 200, json });
    try {
      if (path === '/_sim/faults') {
        if (method === 'GET') return ok(faults.faults);
        if (method === 'PUT') return ok(faults.replace((body ?? {}) as CloudFaultsInput));
        if (method === 'PATCH' || method === 'POST') return ok(faults.merge((body ?? {}) as CloudFaultsInput));
      }
      if (path === '/_sim/tokens/expire' && method === 'POST') return ok({ expired: state.expireAllTokens() });
      if (path === '/_sim/counters') {
        if (method === 'GET') return ok(faults.counters());
        if (method === 'DELETE') {
          faults.resetCounters();
          return { status: 204 };
        }
      }
      if (path === '/_sim/requests' && method === 'GET') return ok(log);
      if (path === '/_sim/state' && method === 'GET') {
        return ok({ servers: serversView(), images: imagesView(), volumes: volumesView(), snapshots: snapshotsView(), tokens: state.tokens.size });
      }
      const gs = /^\/_sim\/servers\/([^/]+)\/guest-shutdown$/.exec(path);
      if (gs && method === 'POST') {
        const delayMs = Number((body as { delayMs?: unknown } | undefined)?.delayMs ?? 0);
        if (!state.servers.has(gs[1]!)) return { status: 404, json: { error: `no server ${gs[1]}` } };
        state.guestShutdown(gs[1]!, delayMs);
        return { status: 202, json: { id: gs[1], delayMs } };
      }
      for (const extension of controlExtensions) {
        const reply = await extension(method, path, body);
        if (reply) return reply;
      }
      return { status: 404, json: { error: `no control endpoint ${method} ${path}` } };
    } catch (err) {
      if (err instanceof ZodError) return { status: 400, json: { error: 'invalid faults', issues: err.issues } };
      throw err;
    }
  };

  const serversView = (): SimServerView[] =>
    [...state.servers.values()].map((s) => ({
      id: s.id,
      name: s.name,
      role: s.role,
      status: CloudState.statusOf(s),
      vmState: s.vmState,
      taskState: s.taskState,
      powerState: s.powerState,
    }));
  const imagesView = () => [...state.images.values()].map(imageJson);
  const viewCall = () => ({
    mv: [3, Number(cloud.cinderMaxMicroversion.split('.')[1])] as [number, number],
    linkRoot: `${origin}/volume/v3/${cloud.projectId}`,
  });
  const volumesView = () => [...state.volumes.values()].map((v) => volumeJson(ctx, viewCall(), v));
  const snapshotsView = () => [...state.snapshots.values()].map((snap) => snapshotJson(ctx, viewCall(), snap, true));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = `req-${randomUUID()}`;
    const url = new URL(req.url ?? '/', origin);
    const method = (req.method ?? 'GET').toUpperCase();
    let rawBody: Buffer = Buffer.alloc(0);
    try {
      rawBody = await readBody(req);
    } catch {
      send(res, { status: 413, json: { error: 'body too large' } }, requestId, 'control');
      return;
    }
    let body: unknown;
    // Image data is not JSON: the Glance upload handler reads rawBody.
    const raw = (req.headers['content-type'] ?? '').includes('octet-stream') ? '' : rawBody.toString('utf8');
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = INVALID_JSON;
      }
    }
    if (url.pathname.startsWith('/_sim/')) {
      if (body === INVALID_JSON) return send(res, { status: 400, json: { error: 'invalid JSON' } }, requestId, 'control');
      return send(res, await control(method, url.pathname, body), requestId, 'control');
    }
    const m = PREFIX.exec(url.pathname);
    if (!m || (m[1] && !regions.has(decodeURIComponent(m[1])))) {
      return send(res, { status: 404, contentType: 'text/plain', text: '404 Not Found\n' }, requestId, 'control');
    }
    const region = m[1] ? decodeURIComponent(m[1]) : cloud.region;
    const iface = (m[2] ?? 'public') as SimRequest['iface'];
    const service = m[3] as Service;
    const prefixLen = url.pathname.length - (m[4] ?? '').length;
    const sreq: SimRequest = {
      method,
      path: m[4] ?? '/',
      query: url.searchParams,
      headers: req.headers,
      body,
      rawBody,
      origin,
      serviceRoot: origin + url.pathname.slice(0, prefixLen),
      region,
      iface,
      requestId,
    };
    const routed: SimRoute | SimReply =
      service === 'identity'
        ? keystoneRoute(ctx, sreq)
        : service === 'compute'
          ? novaRoute(ctx, sreq)
          : service === 'volume'
            ? cinderRoute(ctx, sreq)
            : glanceRoute(ctx, sreq);
    const record = (endpoint: string, status: number | 'reset') => {
      faults.record(endpoint, status);
      log.push({
        at: new Date().toISOString(),
        method,
        path: url.pathname,
        endpoint,
        region,
        interface: iface,
        status,
        requestId,
        query: url.search.slice(1),
        headers: {
          contentType: header(sreq, 'content-type'),
          microversion: header(sreq, 'openstack-api-version'),
          novaMicroversion: header(sreq, 'x-openstack-nova-api-version'),
        },
        body: service === 'identity' || body === INVALID_JSON ? undefined : body,
      });
      if (log.length > LOG_SIZE) log.splice(0, log.length - LOG_SIZE);
    };
    if (!('handle' in routed)) {
      record(`${service}.unknown`, routed.status);
      return send(res, routed, requestId, service);
    }
    const decision = faults.decide(routed.endpoint);
    const wait = state.scaled(cloud.latencies.requestMs + decision.latencyMs);
    if (wait > 0) await delay(wait);
    let reply: SimReply;
    if (decision.before?.kind === 'conflict') {
      const msg = 'There was a conflict when trying to complete your request.';
      reply = service === 'compute' ? novaError(409, msg) : serviceError(service, 409, msg, sreq);
    } else if (decision.before?.kind === 'error') {
      reply = injectedError(service, decision.before.status, sreq);
    } else {
      reply = await routed.handle();
      if (decision.after?.kind === 'drop') {
        record(routed.endpoint, 'reset');
        req.socket.resetAndDestroy();
        return;
      }
      if (decision.after?.kind === 'error') reply = injectedError(service, decision.after.status, sreq);
    }
    record(routed.endpoint, reply.status);
    send(res, reply, requestId, service);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        send(res, { status: 500, json: { error: String((err as Error)?.message ?? err) } }, 'req-internal', 'control');
      } else res.destroy();
    });
  });
  // Node closes idle keep-alive sockets after 5 s; a client re-using one at that instant sees
  // ECONNRESET (more likely on a loaded machine). Clouds behind HAProxy/Apache keep them longer.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const stateDir = opts.stateDir ? resolve(opts.stateDir) : await mkdtemp(join(tmpdir(), 'hotstack-sim-'));
  await mkdir(stateDir, { recursive: true });
  const cloudsYamlPath = join(stateDir, 'clouds.yaml');
  const authUrl = `${origin}/identity`;
  const common = { region_name: cloud.region, interface: 'public', identity_api_version: 3 };
  const cloudsYaml = {
    clouds: {
      sim: {
        auth_type: 'password',
        auth: {
          auth_url: authUrl,
          username: cloud.username,
          password: cloud.password,
          user_domain_name: cloud.domainName,
          project_name: cloud.projectName,
          project_domain_name: cloud.domainName,
        },
        ...common,
      },
      'sim-appcred': {
        auth_type: 'v3applicationcredential',
        auth: {
          auth_url: authUrl,
          application_credential_id: cloud.applicationCredential.id,
          application_credential_secret: cloud.applicationCredential.secret,
        },
        ...common,
      },
    },
  };
  await writeFile(cloudsYamlPath, `# Written by the hotstack-snapset cloud simulator (${origin}).\n${toYaml(cloudsYaml)}`, {
    mode: 0o600,
  });

  let closed = false;
  return {
    authUrl,
    baseUrl: origin,
    endpoints: {
      identity: `${origin}/identity/v3`,
      compute: `${origin}/compute/v2.1`,
      image: `${origin}/image/v2`,
      volume: `${origin}/volume/v3/${cloud.projectId}`,
      control: `${origin}/_sim`,
    },
    cloudsYamlPath,
    cloudName: 'sim',
    appCredCloudName: 'sim-appcred',
    cloud,
    compute: {
      guestShutdown: (uuid: string, delayMs: number) => state.guestShutdown(uuid, delayMs),
      serverStatus: (uuid: string) => {
        const s = state.servers.get(uuid);
        return s ? CloudState.statusOf(s) : undefined;
      },
      onPowerOn: (listener: (uuid: string) => void) => {
        state.powerOnListeners.add(listener);
        return () => void state.powerOnListeners.delete(listener);
      },
      resetServer: (uuid: string) => {
        const s = state.servers.get(uuid);
        if (s) state.reset(s);
      },
    },
    faults: () => faults.faults,
    setFaults: (patch, mode = 'merge') => (mode === 'replace' ? faults.replace(patch) : faults.merge(patch)),
    expireTokens: () => state.expireAllTokens(),
    counters: () => faults.counters(),
    resetCounters: () => faults.resetCounters(),
    requestLog: () => structuredClone(log),
    extendControl: (handler) => void controlExtensions.push(handler),
    servers: serversView,
    images: imagesView,
    volumes: volumesView,
    snapshots: snapshotsView,
    close: async () => {
      if (closed) return;
      closed = true;
      state.close();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
    },
  };
}

/** The lines a `main` prints when the simulator is up: where clouds.yaml is and the endpoints. */
export function describeCloudSimulator(sim: CloudSimulator): string {
  return [
    `OpenStack simulator on ${sim.baseUrl} (region ${sim.cloud.region})`,
    `  clouds.yaml: ${sim.cloudsYamlPath}  (clouds: ${sim.cloudName}, ${sim.appCredCloudName})`,
    `  use it:      export OS_CLIENT_CONFIG_FILE=${sim.cloudsYamlPath} OS_CLOUD=${sim.cloudName}`,
    `  identity:    ${sim.endpoints.identity}`,
    `  compute:     ${sim.endpoints.compute}`,
    `  image:       ${sim.endpoints.image}`,
    `  volume:      ${sim.endpoints.volume}`,
    `  control:     ${sim.endpoints.control}/{faults,counters,requests,state}`,
  ].join('\n');
}
