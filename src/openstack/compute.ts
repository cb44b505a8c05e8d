import { mapLimit } from '../shared/map-limit.js';
import type { Session } from './session.js';
import { OpenStackNetworkError, OpenStackNotFoundError } from './errors.js';

/**
 * Nova v2.1, the calls a SnapSet needs. Every call sends a microversion ≥ 2.45 so that `createImage`
 * answers with `{"image_id"}` in the body (2.45 dropped the `Location` header).
 */

/** The microversion we ask for: ≥ 2.45 (createImage body) and old enough for any supported cloud (Queens). */
export const DEFAULT_COMPUTE_MICROVERSION = '2.60';
const MIN_MICROVERSION: [number, number] = [2, 45];
/** Nova's largest page: a whole lab in one request. */
const LIST_PAGE = 1000;
/** GETs of single servers at once when the list does not show them. */
const PARALLEL_GETS = 8;
/**
 * `getServersByIds` lists the whole project only while the project holds at most this many times the
 * servers asked for; beyond, one GET per server moves far fewer bytes. Many labs in one project made
 * every poll of every run list all of them: at 200 labs × 6 VMs, 1200 servers per poll, 77 % of the
 * worker's allocations and most of its garbage (bench/results.md, issue 16).
 */
const LIST_WHEN_PROJECT_AT_MOST = 8;
/** How long the project's size learnt from a list is trusted before listing again. */
const PROJECT_SIZE_TTL_MS = 5 * 60_000;

export function parseMicroversion(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** One volume attached to a server, as Nova's `os-volume_attachments` shows it. */
export interface ServerVolumeAttachment {
  /** The attachment's id: the volume id before microversion 2.89, Cinder's attachment id from then on. */
  id: string;
  volumeId: string;
  serverId: string;
  /** `/dev/vdb`; null when Nova does not know it. */
  device: string | null;
  /** The device tag (≥ 2.70). */
  tag?: string | null;
}

/** The fields of a Nova server a SnapSet looks at, plus the raw JSON. */
export interface Server {
  id: string;
  name: string;
  /** `ACTIVE`, `SHUTOFF`, `ERROR`, ... */
  status: string;
  vmState: string | null;
  taskState: string | null;
  /** 0 NOSTATE, 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED. */
  powerState: number | null;
  raw: Record<string, unknown>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * Filters of `GET /servers/detail` (Compute API reference, "List Servers Detailed"), passed to Nova
 * as they are: `name` is a regular expression on Nova's side, `status` one of Nova's statuses.
 */
export interface ServerListFilters {
  name?: string;
  status?: string;
  /** Page size; Nova caps it at `[api]max_limit` (1000) and links to the next page. */
  limit?: number;
  /** Start after this server id. */
  marker?: string;
  /** ISO 8601 time: only servers changed since then (deleted ones included, as Nova does). */
  changesSince?: string;
  /** One key or several (`sort_key` repeated); `sortDir` pairs with them by position. */
  sortKey?: string | string[];
  sortDir?: 'asc' | 'desc' | ('asc' | 'desc')[];
}

export function serverListQuery(f: ServerListFilters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.name !== undefined) q.set('name', f.name);
  if (f.status !== undefined) q.set('status', f.status);
  if (f.limit !== undefined) q.set('limit', String(f.limit));
  if (f.marker !== undefined) q.set('marker', f.marker);
  if (f.changesSince !== undefined) q.set('changes-since', f.changesSince);
  for (const k of [f.sortKey ?? []].flat()) q.append('sort_key', k);
  for (const d of [f.sortDir ?? []].flat()) q.append('sort_dir', d);
  return q;
}

export class ComputeClient {
  readonly microversion: string;
  /** Servers the project showed in the last whole list, and when (see LIST_WHEN_PROJECT_AT_MOST). */
  private projectSize?: { servers: number; at: number };
  private readonly listWhenProjectAtMost: number;

  constructor(
    private readonly session: Session,
    opts: { microversion?: string; listWhenProjectAtMost?: number } = {},
  ) {
    this.listWhenProjectAtMost = opts.listWhenProjectAtMost ?? LIST_WHEN_PROJECT_AT_MOST;
    const mv = opts.microversion ?? DEFAULT_COMPUTE_MICROVERSION;
    const parsed = parseMicroversion(mv);
    if (!parsed || parsed[0] < MIN_MICROVERSION[0] || (parsed[0] === MIN_MICROVERSION[0] && parsed[1] < MIN_MICROVERSION[1])) {
      throw new RangeError(`compute microversion must be ≥ 2.45, got ${mv}`);
    }
    this.microversion = mv;
  }

  private headers(): Record<string, string> {
    return {
      'X-OpenStack-Nova-API-Version': this.microversion,
      'OpenStack-API-Version': `compute ${this.microversion}`,
    };
  }

  /** `GET /servers/{id}` → 200. */
  async getServer(id: string, opts: CallOptions = {}): Promise<Server> {
    const res = await this.session.request('compute', {
      method: 'GET',
      path: `/servers/${encodeURIComponent(id)}`,
      headers: this.headers(),
      expected: [200],
      signal: opts.signal,
    });
    const s = (res.body as { server?: Record<string, unknown> } | undefined)?.server;
    if (!s || typeof s.id !== 'string') {
      throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'compute' }, 'response has no server object');
    }
    return toServer(s);
  }

  /**
   * The servers of `ids` (keys as given), with one paginated `GET /servers/detail` instead of one
   * GET each — unless the last list showed the project holding more than
   * {@link LIST_WHEN_PROJECT_AT_MOST} times as many servers (many labs in one project): then one GET
   * each. A server the list does not show (another project, a policy) is asked for by its ID, and is
   * absent from the result when Nova has no such server (404).
   */
  async getServersByIds(ids: readonly string[], opts: CallOptions = {}): Promise<Map<string, Server>> {
    const wanted = new Set(ids.map((u) => u.toLowerCase()));
    const found = new Map<string, Server>();
    const known = this.projectSize && Date.now() - this.projectSize.at < PROJECT_SIZE_TTL_MS ? this.projectSize.servers : undefined;
    if (ids.length > 1 && (known === undefined || known <= this.listWhenProjectAtMost * ids.length)) {
      let listed = 0;
      for await (const s of this.listServers({ limit: LIST_PAGE }, opts)) {
        listed++;
        if (wanted.has(s.id.toLowerCase())) found.set(s.id.toLowerCase(), s);
      }
      this.projectSize = { servers: listed, at: Date.now() };
    }
    await mapLimit(
      ids.filter((u) => !found.has(u.toLowerCase())),
      PARALLEL_GETS,
      async (u) => {
        try {
          found.set(u.toLowerCase(), await this.getServer(u, opts));
        } catch (err) {
          if (!(err instanceof OpenStackNotFoundError)) throw err;
        }
      },
      opts.signal,
    );
    return new Map(ids.flatMap((u) => (found.has(u.toLowerCase()) ? [[u, found.get(u.toLowerCase())!] as const] : [])));
  }

  /**
   * `GET /servers/detail` → 200, page by page, following `servers_links` `rel: next` until a page
   * has none (Nova links only while more may remain).
   */
  async *listServers(filters: ServerListFilters = {}, opts: CallOptions = {}): AsyncGenerator<Server, void, undefined> {
    let query: string | undefined = serverListQuery(filters).toString();
    const seen = new Set<string>();
    while (query !== undefined) {
      if (seen.has(query)) break; // a server repeating its link must not loop us forever
      seen.add(query);
      const res = await this.session.request('compute', {
        method: 'GET',
        path: `/servers/detail${query ? `?${query}` : ''}`,
        headers: this.headers(),
        expected: [200],
        signal: opts.signal,
      });
      const body = res.body as { servers?: Record<string, unknown>[]; servers_links?: { rel?: string; href?: string }[] } | undefined;
      if (!body || !Array.isArray(body.servers)) {
        throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'compute' }, 'response has no servers list');
      }
      for (const s of body.servers) yield toServer(s);
      const href = body.servers_links?.find((l) => l.rel === 'next')?.href;
      query = href && body.servers.length > 0 ? nextQuery(href) : undefined;
    }
  }

  /** Every server matching the filters, all pages. */
  async listAllServers(filters: ServerListFilters = {}, opts: CallOptions = {}): Promise<Server[]> {
    const out: Server[] = [];
    for await (const s of this.listServers(filters, opts)) out.push(s);
    return out;
  }

  private async action(id: string, body: Record<string, unknown>, opts: CallOptions) {
    return await this.session.request('compute', {
      method: 'POST',
      path: `/servers/${encodeURIComponent(id)}/action`,
      headers: this.headers(),
      json: body,
      expected: [202],
      signal: opts.signal,
    });
  }

  /** `createImage` server action → 202 `{"image_id"}` (≥ 2.45). `metadata` becomes image properties. */
  async createImage(id: string, name: string, metadata: Record<string, string> = {}, opts: CallOptions = {}): Promise<{ imageId: string }> {
    const res = await this.action(id, { createImage: { name, metadata } }, opts);
    const fromBody = (res.body as { image_id?: unknown } | undefined)?.image_id;
    if (typeof fromBody === 'string') return { imageId: fromBody };
    // A cloud that ignored our microversion (< 2.45) still says where the image is.
    const loc = res.headers.location;
    const fromLocation = loc ? /\/images\/([^/?#]+)/.exec(loc)?.[1] : undefined;
    if (fromLocation) return { imageId: fromLocation };
    throw new OpenStackNetworkError({ method: 'POST', url: res.url, service: 'compute' }, 'createImage answered without image_id');
  }

  /** `GET /servers/{id}/os-volume_attachments` → 200: every volume attached to the server (its root volume too). */
  async listVolumeAttachments(serverId: string, opts: CallOptions = {}): Promise<ServerVolumeAttachment[]> {
    const res = await this.session.request('compute', {
      method: 'GET',
      path: `/servers/${encodeURIComponent(serverId)}/os-volume_attachments`,
      headers: this.headers(),
      expected: [200],
      signal: opts.signal,
    });
    const list = (res.body as { volumeAttachments?: Record<string, unknown>[] } | undefined)?.volumeAttachments;
    if (!Array.isArray(list)) {
      throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'compute' }, 'response has no volumeAttachments list');
    }
    return list.map((a) => {
      const volumeId = String(a.volumeId);
      const out: ServerVolumeAttachment = {
        id: typeof a.id === 'string' ? a.id : typeof a.attachment_id === 'string' ? a.attachment_id : volumeId,
        volumeId,
        serverId: typeof a.serverId === 'string' ? a.serverId : serverId,
        device: typeof a.device === 'string' ? a.device : null,
      };
      if ('tag' in a) out.tag = typeof a.tag === 'string' ? a.tag : null;
      return out;
    });
  }

  /** `os-stop` server action → 202. */
  async stopServer(id: string, opts: CallOptions = {}): Promise<void> {
    await this.action(id, { 'os-stop': null }, opts);
  }

  /** `os-start` server action → 202. */
  async startServer(id: string, opts: CallOptions = {}): Promise<void> {
    await this.action(id, { 'os-start': null }, opts);
  }
}

/**
 * Only the query of Nova's `next` link is used, on our own endpoint: Nova builds the link's host from
 * `osapi_compute_link_prefix` or the request, which behind a TLS proxy is often an internal address.
 */
function nextQuery(href: string): string {
  const i = href.indexOf('?');
  return i < 0 ? '' : href.slice(i + 1);
}

function toServer(s: Record<string, unknown>): Server {
  const strOrNull = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    id: s.id as string,
    name: typeof s.name === 'string' ? s.name : '',
    status: typeof s.status === 'string' ? s.status : 'UNKNOWN',
    vmState: strOrNull(s['OS-EXT-STS:vm_state']),
    taskState: strOrNull(s['OS-EXT-STS:task_state']),
    powerState: typeof s['OS-EXT-STS:power_state'] === 'number' ? s['OS-EXT-STS:power_state'] : null,
    raw: s,
  };
}
