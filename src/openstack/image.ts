import type { CallOptions } from './compute.js';
import { OpenStackNetworkError } from './errors.js';
import type { Session } from './session.js';

/** Glance v2 image attributes that are not custom properties (Image API reference, "Show image"). */
export const GLANCE_BASE_KEYS = new Set([
  'id',
  'name',
  'status',
  'visibility',
  'protected',
  'os_hidden',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'owner',
  'size',
  'virtual_size',
  'min_ram',
  'min_disk',
  'disk_format',
  'container_format',
  'created_at',
  'updated_at',
  'tags',
  'self',
  'file',
  'schema',
  'locations',
  'direct_url',
  'stores',
]);

/** A Glance image: the base attributes we use, custom properties apart, and the raw JSON. */
export interface Image {
  id: string;
  name: string | null;
  /** `queued`, `saving`, `active`, `killed`, `deleted`, `pending_delete`, `deactivated`, `uploading`, `importing`. */
  status: string;
  tags: string[];
  created_at: string;
  updated_at: string;
  size: number | null;
  owner: string | null;
  visibility: string;
  /** Custom properties (Glance returns them as top-level keys). */
  properties: Record<string, unknown>;
  raw: Record<string, unknown>;
}

/** Filters of `GET /v2/images` (all combined with AND; each tag must be present). */
export interface ImageListFilters {
  name?: string;
  status?: string;
  tags?: string[];
  owner?: string;
  visibility?: 'public' | 'private' | 'shared' | 'community' | 'all';
  /** Custom property filters, e.g. `{ hotstack_snap_id: 'Ab3-x_9z' }`. */
  properties?: Record<string, string>;
  /** Page size (Glance caps it at `api_limit_max`). */
  limit?: number;
  /** `sort_key:sort_dir,...`, e.g. `created_at:desc`. */
  sort?: string;
}

/** Glance's JSON-patch media type (draft 10 operations: `{op, path, value}`). */
export const IMAGE_PATCH_MEDIA_TYPE = 'application/openstack-images-v2.1-json-patch';

/**
 * One JSON-patch operation of `PATCH /v2/images/{id}`. `path` is a JSON pointer: `/name`, `/tags`
 * (the whole list), `/<custom property>` (escape `/` as `~1`, `~` as `~0`, see {@link imagePatchPath}).
 */
export type ImagePatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** The JSON pointer of an attribute or property name (RFC 6901 escaping). */
export function imagePatchPath(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function toImage(raw: Record<string, unknown>): Image {
  const properties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!GLANCE_BASE_KEYS.has(k)) properties[k] = v;
  return {
    id: String(raw.id),
    name: typeof raw.name === 'string' ? raw.name : null,
    status: String(raw.status),
    tags: Array.isArray(raw.tags) ? raw.tags.map(String) : [],
    created_at: String(raw.created_at ?? ''),
    updated_at: String(raw.updated_at ?? ''),
    size: typeof raw.size === 'number' ? raw.size : null,
    owner: typeof raw.owner === 'string' ? raw.owner : null,
    visibility: String(raw.visibility ?? ''),
    properties,
    raw,
  };
}

export function imageListQuery(f: ImageListFilters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.limit !== undefined) q.set('limit', String(f.limit));
  if (f.name !== undefined) q.set('name', f.name);
  if (f.status !== undefined) q.set('status', f.status);
  if (f.owner !== undefined) q.set('owner', f.owner);
  if (f.visibility !== undefined) q.set('visibility', f.visibility);
  if (f.sort !== undefined) q.set('sort', f.sort);
  for (const t of f.tags ?? []) q.append('tag', t);
  for (const [k, v] of Object.entries(f.properties ?? {})) q.set(k, v);
  return q;
}

export class ImageClient {
  constructor(private readonly session: Session) {}

  /** `GET /v2/images/{id}` → 200. */
  async getImage(id: string, opts: CallOptions = {}): Promise<Image> {
    const res = await this.session.request('image', {
      method: 'GET',
      path: `/images/${encodeURIComponent(id)}`,
      expected: [200],
      signal: opts.signal,
    });
    const body = res.body as Record<string, unknown> | undefined;
    if (!body || typeof body.id !== 'string') {
      throw new OpenStackNetworkError({ method: 'GET', url: res.url, service: 'image' }, 'response is not an image');
    }
    return toImage(body);
  }

  /**
   * `GET /v2/images` page by page, following Glance's `next` link until there is none (the link
   * keeps the filters and carries the marker).
   */
  async *listImages(filters: ImageListFilters = {}, opts: CallOptions = {}): AsyncGenerator<Image, void, undefined> {
    const q = imageListQuery(filters).toString();
    const base = await this.session.endpoint('image', opts.signal);
    let url: string | undefined = `${base}/images${q ? `?${q}` : ''}`;
    const seen = new Set<string>();
    while (url) {
      if (seen.has(url)) break; // a server repeating its link must not loop us forever
      seen.add(url);
      const res = await this.session.request('image', { method: 'GET', url, expected: [200], signal: opts.signal });
      const body = res.body as { images?: Record<string, unknown>[]; next?: string } | undefined;
      if (!body || !Array.isArray(body.images)) {
        throw new OpenStackNetworkError({ method: 'GET', url, service: 'image' }, 'response has no images list');
      }
      for (const raw of body.images) yield toImage(raw);
      url = typeof body.next === 'string' && body.images.length > 0 ? nextPageUrl(base, body.next) : undefined;
    }
  }

  /** Every image matching the filters, all pages. */
  async listAllImages(filters: ImageListFilters = {}, opts: CallOptions = {}): Promise<Image[]> {
    const out: Image[] = [];
    for await (const img of this.listImages(filters, opts)) out.push(img);
    return out;
  }

  /**
   * `PATCH /v2/images/{id}` → 200 with the whole image (Image API v2 reference, "Update image"):
   * the operations apply in order and all or none take effect. `/tags` replaces the tag list at once.
   */
  async updateImage(id: string, ops: ImagePatchOp[], opts: CallOptions = {}): Promise<Image> {
    const res = await this.session.request('image', {
      method: 'PATCH',
      path: `/images/${encodeURIComponent(id)}`,
      headers: { 'Content-Type': IMAGE_PATCH_MEDIA_TYPE },
      json: ops,
      expected: [200],
      signal: opts.signal,
    });
    const body = res.body as Record<string, unknown> | undefined;
    if (!body || typeof body.id !== 'string') {
      throw new OpenStackNetworkError({ method: 'PATCH', url: res.url, service: 'image' }, 'response is not an image');
    }
    return toImage(body);
  }

  /** `PUT /v2/images/{id}/tags/{tag}` → 204 (adding a present tag is a no-op). */
  async addTag(id: string, tag: string, opts: CallOptions = {}): Promise<void> {
    await this.session.request('image', {
      method: 'PUT',
      path: `/images/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`,
      expected: [204],
      signal: opts.signal,
    });
  }

  /** `DELETE /v2/images/{id}/tags/{tag}` → 204. */
  async removeTag(id: string, tag: string, opts: CallOptions = {}): Promise<void> {
    await this.session.request('image', {
      method: 'DELETE',
      path: `/images/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`,
      expected: [204],
      signal: opts.signal,
    });
  }

  /** `DELETE /v2/images/{id}` → 204. */
  async deleteImage(id: string, opts: CallOptions = {}): Promise<void> {
    await this.session.request('image', {
      method: 'DELETE',
      path: `/images/${encodeURIComponent(id)}`,
      expected: [204],
      signal: opts.signal,
    });
  }
}

/**
 * Glance's `next` is `/v2/images?marker=…` relative to the image endpoint's root, which may sit
 * below a path (devstack: `http://host/image`), so it is joined to the unversioned endpoint.
 */
export function nextPageUrl(versionedBase: string, next: string): string {
  if (/^https?:\/\//i.test(next)) return next;
  const root = versionedBase.replace(/\/v2\/?$/, '');
  return root + (next.startsWith('/') ? next : `/${next}`);
}
