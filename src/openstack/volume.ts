import type { CallOptions } from './compute.js';
import type { Image } from './image.js';
import { OpenStackEndpointNotFoundError, OpenStackNetworkError } from './errors.js';
import type { HttpRequest } from './http.js';
import type { Session } from './session.js';

type HttpMethod = HttpRequest['method'];

/**
 * Cinder v3 (Block Storage API v3 reference), the calls a SnapSet needs: volumes, and snapshots with
 * their metadata. Every call sends `OpenStack-API-Version: volume <microversion>`.
 */

/**
 * The microversion we ask for: ≥ 3.22 (metadata filters on snapshot lists) and ≥ 3.31 (generic
 * resource filters: a filter the cloud does not allow is a 400, not silently dropped as before —
 * a snapshot list that ignored its metadata filter would list other people's snapshots), and no newer
 * than Queens' maximum (3.50), as for Nova. Below 3.66 an in-use volume is snapshotted with `force: true`.
 */
export const DEFAULT_VOLUME_MICROVERSION = '3.50';
/** The catalog types of Cinder v3, in the order we look for them (`volumev3` first, as openstacksdk's aliases). */
export const VOLUME_SERVICE_TYPES = ['volumev3', 'block-storage'] as const;

export interface VolumeAttachmentRef {
  serverId: string;
  device: string | null;
  attachmentId?: string;
}

/** The fields of a Cinder volume a SnapSet looks at, plus the raw JSON. */
export interface Volume {
  id: string;
  name: string | null;
  /** `available`, `in-use`, `creating`, `error`, ... */
  status: string;
  /** GiB. */
  size: number;
  bootable: boolean;
  attachments: VolumeAttachmentRef[];
  metadata: Record<string, string>;
  raw: Record<string, unknown>;
}

/** A Cinder volume snapshot. */
export interface VolumeSnapshot {
  id: string;
  name: string | null;
  /** `creating`, `available`, `error`, `deleting`, `error_deleting`, ... */
  status: string;
  volumeId: string;
  /** GiB. */
  size: number;
  metadata: Record<string, string>;
  createdAt: string;
  raw: Record<string, unknown>;
}

/**
 * Filters of `GET /snapshots/detail` (all combined with AND). `metadata` matches snapshots that have
 * every given key with that value.
 */
export interface SnapshotListFilters {
  metadata?: Record<string, string>;
  status?: string;
  volumeId?: string;
  name?: string;
  /** Page size; Cinder caps it at `osapi_max_limit` (1000) and links to the next page. */
  limit?: number;
  /** Start after this snapshot id. */
  marker?: string;
}

export interface CreateSnapshotRequest {
  volumeId: string;
  name: string;
  description?: string;
  /** Needed for an `in-use` volume (below microversion 3.66). */
  force?: boolean;
  metadata?: Record<string, string>;
}

/**
 * The query of a snapshot list. Cinder reads `metadata` with `ast.literal_eval`
 * (cinder/api/v3/snapshots.py); cinderclient sends a Python dict repr, JSON of string values is the
 * same literal.
 */
export function snapshotListQuery(f: SnapshotListFilters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.metadata !== undefined && Object.keys(f.metadata).length > 0) q.set('metadata', JSON.stringify(f.metadata));
  if (f.status !== undefined) q.set('status', f.status);
  if (f.volumeId !== undefined) q.set('volume_id', f.volumeId);
  if (f.name !== undefined) q.set('name', f.name);
  if (f.limit !== undefined) q.set('limit', String(f.limit));
  if (f.marker !== undefined) q.set('marker', f.marker);
  return q;
}

/** Whether a snapshot satisfies the filters (checked again on our side: see {@link VolumeClient.listSnapshots}). */
export function snapshotMatches(s: VolumeSnapshot, f: SnapshotListFilters): boolean {
  if (f.status !== undefined && s.status !== f.status) return false;
  if (f.volumeId !== undefined && s.volumeId.toLowerCase() !== f.volumeId.toLowerCase()) return false;
  if (f.name !== undefined && s.name !== f.name) return false;
  return Object.entries(f.metadata ?? {}).every(([k, v]) => s.metadata[k] === v);
}

const strOrNull = (v: unknown) => (typeof v === 'string' ? v : null);

/** One volume of a volume-backed server's snapshot image: where Nova's Cinder snapshot of it went. */
export interface ImageSnapshotMapping {
  snapshotId: string;
  /** `/dev/vda`; null when Nova did not record it. */
  deviceName: string | null;
  /** 0 for the root volume, -1 (or null) for data volumes. */
  bootIndex: number | null;
  /** GiB; null when Nova did not record it. */
  volumeSize: number | null;
}

/**
 * The Cinder snapshots an image of a volume-backed server points at: its `block_device_mapping`
 * property, a JSON string of BDM v2 dicts (nova/compute/api.py `snapshot_volume_backed`, written by
 * nova/image/glance.py `_convert_to_string`); only the entries with `source_type: snapshot`. An image
 * of an image-backed server has none: `[]`. Throws on a property that is not such JSON.
 */
export function imageSnapshotMappings(image: Pick<Image, 'id' | 'properties'>): ImageSnapshotMapping[] {
  const raw = image.properties.block_device_mapping;
  if (raw === undefined || raw === null || raw === '') return [];
  let list: unknown;
  try {
    list = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    throw new SyntaxError(`image ${image.id}: block_device_mapping is not JSON`);
  }
  if (!Array.isArray(list)) throw new SyntaxError(`image ${image.id}: block_device_mapping is not a list`);
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : null);
  return (list as Record<string, unknown>[])
    .filter((b) => b && b.source_type === 'snapshot' && typeof b.snapshot_id === 'string')
    .map((b) => ({ snapshotId: b.snapshot_id as string, deviceName: strOrNull(b.device_name), bootIndex: num(b.boot_index), volumeSize: num(b.volume_size) }));
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

export function toVolume(raw: Record<string, unknown>): Volume {
  const attachments = Array.isArray(raw.attachments) ? (raw.attachments as Record<string, unknown>[]) : [];
  return {
    id: String(raw.id),
    name: strOrNull(raw.name),
    status: typeof raw.status === 'string' ? raw.status : 'unknown',
    size: typeof raw.size === 'number' ? raw.size : 0,
    // Cinder's view writes it as the string 'true'/'false'.
    bootable: raw.bootable === true || String(raw.bootable).toLowerCase() === 'true',
    attachments: attachments.map((a) => ({
      serverId: String(a.server_id),
      device: strOrNull(a.device),
      ...(typeof a.attachment_id === 'string' ? { attachmentId: a.attachment_id } : {}),
    })),
    metadata: stringRecord(raw.metadata),
    raw,
  };
}

export function toVolumeSnapshot(raw: Record<string, unknown>): VolumeSnapshot {
  return {
    id: String(raw.id),
    name: strOrNull(raw.name),
    status: typeof raw.status === 'string' ? raw.status : 'unknown',
    volumeId: String(raw.volume_id),
    size: typeof raw.size === 'number' ? raw.size : 0,
    metadata: stringRecord(raw.metadata),
    createdAt: typeof raw.created_at === 'string' ? raw.created_at : '',
    raw,
  };
}

export class VolumeClient {
  readonly microversion: string;
  private base?: Promise<string>;

  constructor(
    private readonly session: Session,
    opts: { microversion?: string } = {},
  ) {
    this.microversion = opts.microversion ?? DEFAULT_VOLUME_MICROVERSION;
    if (!/^3\.\d+$/.test(this.microversion)) throw new RangeError(`volume microversion must be 3.x, got ${this.microversion}`);
  }

  private headers(): Record<string, string> {
    return { 'OpenStack-API-Version': `volume ${this.microversion}` };
  }

  /**
   * The versioned Cinder endpoint with the project in it (`…/v3/{project_id}`): an override
   * (`volumev3_endpoint_override`, `block_storage_endpoint_override`) first, else the catalog's
   * `volumev3`, else its `block-storage`. Before 3.67 Cinder needs the project id in the URL, so an
   * endpoint without one gets the token's.
   */
  async endpoint(signal?: AbortSignal): Promise<string> {
    if (!this.base) {
      this.base = (async () => {
        const overrides = this.session.cloud.endpointOverrides;
        const overridden = VOLUME_SERVICE_TYPES.find((t) => overrides[t.replace(/-/g, '_')]);
        let url: string | undefined;
        if (overridden) url = await this.session.endpoint(overridden);
        for (const t of VOLUME_SERVICE_TYPES) {
          if (url) break;
          try {
            url = await this.session.endpoint(t);
          } catch (err) {
            if (!(err instanceof OpenStackEndpointNotFoundError) || t === VOLUME_SERVICE_TYPES.at(-1)) throw err;
          }
        }
        const projectId = async () => (await this.session.getToken()).projectId ?? '';
        if (/%\(project_id\)s|\$\(project_id\)s/.test(url!)) return url!.replace(/%\(project_id\)s|\$\(project_id\)s/g, await projectId());
        return /\/v3$/.test(url!) ? `${url!}/${await projectId()}` : url!;
      })();
      // A missing endpoint is not cached: a fixed clouds.yaml must not need a restart.
      void this.base.catch(() => (this.base = undefined));
    }
    if (!signal) return await this.base;
    return await Promise.race([
      this.base,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    ]);
  }

  private async call(method: HttpMethod, path: string, expected: number[], opts: CallOptions, json?: unknown) {
    const base = await this.endpoint(opts.signal);
    return await this.session.request('volumev3', { method, url: base + path, headers: this.headers(), json, expected, signal: opts.signal });
  }

  /** `GET /volumes/{id}` → 200. */
  async getVolume(id: string, opts: CallOptions = {}): Promise<Volume> {
    const res = await this.call('GET', `/volumes/${encodeURIComponent(id)}`, [200], opts);
    const v = (res.body as { volume?: Record<string, unknown> } | undefined)?.volume;
    if (!v || typeof v.id !== 'string') throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'volumev3' }, 'response has no volume object');
    return toVolume(v);
  }

  /**
   * `POST /snapshots` → 202 with the snapshot (`creating`). An `in-use` volume needs `force: true`
   * (400 otherwise, below 3.66); `metadata` is stored with the snapshot at once.
   */
  async createSnapshot(req: CreateSnapshotRequest, opts: CallOptions = {}): Promise<VolumeSnapshot> {
    const snapshot: Record<string, unknown> = { volume_id: req.volumeId, name: req.name };
    if (req.description !== undefined) snapshot.description = req.description;
    if (req.force !== undefined) snapshot.force = req.force;
    if (req.metadata !== undefined) snapshot.metadata = req.metadata;
    const res = await this.call('POST', '/snapshots', [202], opts, { snapshot });
    return this.snapshotOf(res.body, 'POST', res.url);
  }

  /** `GET /snapshots/{id}` → 200. */
  async getSnapshot(id: string, opts: CallOptions = {}): Promise<VolumeSnapshot> {
    const res = await this.call('GET', `/snapshots/${encodeURIComponent(id)}`, [200], opts);
    return this.snapshotOf(res.body, 'GET', res.url);
  }

  private snapshotOf(body: unknown, method: string, url: string): VolumeSnapshot {
    const s = (body as { snapshot?: Record<string, unknown> } | undefined)?.snapshot;
    if (!s || typeof s.id !== 'string') throw new OpenStackNetworkError({ method, url, service: 'volumev3' }, 'response has no snapshot object');
    return toVolumeSnapshot(s);
  }

  /**
   * `GET /snapshots/detail` → 200, page by page, following `snapshots_links` `rel: next` until a page
   * has none. The filters are applied again to what comes back: a cloud that ignored one (an old
   * microversion drops `metadata` silently) must not hand us someone else's snapshots to delete.
   */
  async *listSnapshots(filters: SnapshotListFilters = {}, opts: CallOptions = {}): AsyncGenerator<VolumeSnapshot, void, undefined> {
    let query: string | undefined = snapshotListQuery(filters).toString();
    const seen = new Set<string>();
    while (query !== undefined) {
      if (seen.has(query)) break; // a server repeating its link must not loop us forever
      seen.add(query);
      const res = await this.call('GET', `/snapshots/detail${query ? `?${query}` : ''}`, [200], opts);
      const body = res.body as { snapshots?: Record<string, unknown>[]; snapshots_links?: { rel?: string; href?: string }[] } | undefined;
      if (!body || !Array.isArray(body.snapshots)) {
        throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'volumev3' }, 'response has no snapshots list');
      }
      for (const raw of body.snapshots) {
        const s = toVolumeSnapshot(raw);
        if (snapshotMatches(s, filters)) yield s;
      }
      const href = body.snapshots_links?.find((l) => l.rel === 'next')?.href;
      // Only the link's query is used, on our own endpoint (Cinder builds its host from the request or `public_endpoint`).
      query = href && body.snapshots.length > 0 ? (href.includes('?') ? href.slice(href.indexOf('?') + 1) : '') : undefined;
    }
  }

  /** Every snapshot matching the filters, all pages. */
  async listAllSnapshots(filters: SnapshotListFilters = {}, opts: CallOptions = {}): Promise<VolumeSnapshot[]> {
    const out: VolumeSnapshot[] = [];
    for await (const s of this.listSnapshots(filters, opts)) out.push(s);
    return out;
  }

  /** `POST /snapshots/{id}/metadata` → 200: merges the keys into the snapshot's metadata, returns all of it. */
  async setSnapshotMetadata(id: string, metadata: Record<string, string>, opts: CallOptions = {}): Promise<Record<string, string>> {
    const res = await this.call('POST', `/snapshots/${encodeURIComponent(id)}/metadata`, [200], opts, { metadata });
    const m = (res.body as { metadata?: unknown } | undefined)?.metadata;
    if (!m || typeof m !== 'object') throw new OpenStackNetworkError({ method: 'POST', url: res.url, service: 'volumev3' }, 'response has no metadata object');
    return stringRecord(m);
  }

  /**
   * `DELETE /snapshots/{id}` → 202 (the snapshot turns `deleting`, then is gone). 404 is
   * OpenStackNotFoundError, as for images; a snapshot still `creating` is a 400 (Cinder deletes only
   * `available` and `error` ones).
   */
  async deleteSnapshot(id: string, opts: CallOptions = {}): Promise<void> {
    await this.call('DELETE', `/snapshots/${encodeURIComponent(id)}`, [202], opts);
  }
}
