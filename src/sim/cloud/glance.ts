import { authToken, header, title, unauthorizedByMiddleware, type ServiceContext, type SimReply, type SimRequest, type SimRoute } from './http.js';
import { imageFilters } from './glance-filters.js';
import { createImageRecord, patchImage, uploadImageData, type Fail } from './glance-write.js';
import type { SimImage } from './state.js';

/**
 * Glance v2 subset (Image API v2 reference: "Images", "Image tags"): `GET /versions`,
 * `GET|POST /v2/images` (filters, `limit`/`marker`, `sort`/`sort_key`/`sort_dir`, `next` link),
 * `GET|PATCH|DELETE /v2/images/{id}`, `PUT /v2/images/{id}/file` (writes: glance-write.ts), `PUT|DELETE /v2/images/{id}/tags/{tag}` → 204.
 */

/** webob's error bodies: JSON when the client accepts it, else the plain-text page. */
export function glanceError(status: number, message: string, req?: SimRequest): SimReply {
  const accept = req ? (header(req, 'accept') ?? '') : 'application/json';
  if (accept.includes('json')) {
    return { status, json: { message, code: `${status} ${title(status)}`, title: title(status) } };
  }
  return { status, contentType: 'text/plain', text: `${status} ${title(status)}\n\n${message}\n\n   ` };
}

const SORT_KEYS = new Set([
  'created_at',
  'updated_at',
  'name',
  'status',
  'size',
  'id',
  'visibility',
  'owner',
  'disk_format',
  'container_format',
  'min_disk',
  'min_ram',
]);

export function imageJson(img: SimImage): Record<string, unknown> {
  return {
    ...img.properties,
    id: img.id,
    name: img.name,
    status: img.status,
    visibility: img.visibility,
    protected: img.protected,
    os_hidden: img.osHidden ?? false,
    checksum: img.checksum,
    os_hash_algo: img.osHashValue ? 'sha512' : null,
    os_hash_value: img.osHashValue,
    owner: img.owner,
    size: img.size,
    virtual_size: null,
    min_ram: img.minRam ?? 0,
    min_disk: img.minDisk,
    disk_format: img.diskFormat,
    container_format: img.containerFormat,
    created_at: img.createdAt,
    updated_at: img.updatedAt,
    tags: [...img.tags],
    self: `/v2/images/${img.id}`,
    file: `/v2/images/${img.id}/file`,
    schema: '/v2/schemas/image',
  };
}

function failReply(req: SimRequest, f: Fail): SimReply {
  const e = glanceError(f.status, f.message, req);
  return f.headers ? { ...e, headers: { ...e.headers, ...f.headers } } : e;
}

/** webob's 405, with the `Allow` header Glance's router sets (glance/common/wsgi.py `reject_method`). */
function notAllowed(req: SimRequest, allow: string[]): SimReply {
  const r = glanceError(405, 'The method specified is not allowed for this resource.', req);
  return { ...r, headers: { ...r.headers, Allow: allow.join(', ') } };
}

export function glanceRoute(ctx: ServiceContext, req: SimRequest): SimRoute | SimReply {
  const p = req.path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/versions') {
    if (req.method !== 'GET') return notAllowed(req, ['GET']);
    return {
      endpoint: 'image.versions',
      handle: () => ({
        status: p === '/' ? 300 : 200,
        json: {
          versions: [
            { id: 'v2.16', status: 'CURRENT', links: [{ rel: 'self', href: `${req.serviceRoot}/v2/` }] },
            { id: 'v2.9', status: 'SUPPORTED', links: [{ rel: 'self', href: `${req.serviceRoot}/v2/` }] },
          ],
        },
      }),
    };
  }
  const guard = (endpoint: string, fn: () => SimReply): SimRoute => ({
    endpoint,
    handle: () => {
      if (!ctx.state.validToken(authToken(req))) {
        return unauthorizedByMiddleware(req.serviceRoot.replace(/\/image$/, '/identity'));
      }
      return fn();
    },
  });
  if (p === '/v2/images') {
    if (req.method === 'GET') return guard('image.images.list', () => list(ctx, req));
    if (req.method === 'POST') {
      return guard('image.images.create', () => {
        const img = createImageRecord(req, ctx.state.images, ctx.state.cloud.projectId);
        if ('status' in img && 'message' in img) return failReply(req, img);
        ctx.state.images.set(img.id, img);
        return { status: 201, headers: { Location: `${req.serviceRoot}/v2/images/${img.id}` }, json: imageJson(img) };
      });
    }
    return notAllowed(req, ['GET', 'POST']);
  }
  let m = /^\/v2\/images\/([^/]+)$/.exec(p);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    const img = ctx.state.images.get(id);
    const notFound = () => glanceError(404, `No image found with ID ${id}`, req);
    if (req.method === 'GET') return guard('image.images.get', () => (img ? { status: 200, json: imageJson(img) } : notFound()));
    if (req.method === 'PATCH') {
      return guard('image.images.update', () => {
        if (!img) return notFound();
        const r = patchImage(req, img);
        return 'ok' in r ? { status: 200, json: imageJson(img) } : failReply(req, r);
      });
    }
    if (req.method === 'DELETE') {
      return guard('image.images.delete', () => {
        if (!img) return notFound();
        if (img.protected) return glanceError(403, `Image ${id} is protected and cannot be deleted.`, req);
        ctx.state.images.delete(id);
        return { status: 204 };
      });
    }
    return notAllowed(req, ['GET', 'PATCH', 'DELETE']);
  }
  m = /^\/v2\/images\/([^/]+)\/file$/.exec(p);
  if (m) {
    const img = ctx.state.images.get(decodeURIComponent(m[1]!));
    if (req.method !== 'PUT') return notAllowed(req, ['GET', 'PUT']);
    return guard('image.images.upload', () => {
      if (!img) return glanceError(404, `No image found with ID ${decodeURIComponent(m![1]!)}`, req);
      const refused = uploadImageData(req, img);
      return refused ? failReply(req, refused) : { status: 204 };
    });
  }
  m = /^\/v2\/images\/([^/]+)\/tags\/(.+)$/.exec(p);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    const tag = decodeURIComponent(m[2]!);
    const img = ctx.state.images.get(id);
    const notFound = () => glanceError(404, `No image found with ID ${id}`, req);
    if (req.method === 'PUT') {
      return guard('image.tags.add', () => {
        if (!img) return notFound();
        if (tag.length > 255) return glanceError(400, "Provided object does not match schema 'image': tag is too long", req);
        if (!img.tags.includes(tag)) {
          if (img.tags.length >= 128) return glanceError(413, 'The limit has been exceeded on the number of allowed image tags.', req);
          img.tags.push(tag);
          img.updatedAt = new Date().toISOString().slice(0, 19) + 'Z';
        }
        return { status: 204 };
      });
    }
    if (req.method === 'DELETE') {
      return guard('image.tags.delete', () => {
        if (!img) return notFound();
        const i = img.tags.indexOf(tag);
        if (i < 0) return glanceError(404, `Tag ${tag} not found.`, req);
        img.tags.splice(i, 1);
        img.updatedAt = new Date().toISOString().slice(0, 19) + 'Z';
        return { status: 204 };
      });
    }
    return notAllowed(req, ['PUT', 'DELETE']);
  }
  return glanceError(404, 'The resource could not be found.', req);
}

type SortSpec = { key: string; dir: 'asc' | 'desc' }[];

function parseSort(q: URLSearchParams): SortSpec | string {
  const spec: SortSpec = [];
  const sort = q.get('sort');
  if (sort !== null) {
    if (q.has('sort_key') || q.has('sort_dir')) return "The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.";
    for (const part of sort.split(',')) {
      const [key, dir = 'desc'] = part.trim().split(':');
      if (!key || !SORT_KEYS.has(key)) return `Invalid sort key: ${key}.`;
      if (dir !== 'asc' && dir !== 'desc') return `Invalid sort direction: ${dir}`;
      spec.push({ key, dir });
    }
  } else {
    const keys = q.getAll('sort_key');
    const dirs = q.getAll('sort_dir');
    for (const [i, key] of (keys.length ? keys : ['created_at']).entries()) {
      if (!SORT_KEYS.has(key)) return `Invalid sort key: ${key}.`;
      const dir = dirs[i] ?? dirs[0] ?? 'desc';
      if (dir !== 'asc' && dir !== 'desc') return `Invalid sort direction: ${dir}`;
      spec.push({ key, dir });
    }
  }
  // Glance always ends the sort with created_at and id so pages are stable.
  if (!spec.some((s) => s.key === 'created_at')) spec.push({ key: 'created_at', dir: 'desc' });
  if (!spec.some((s) => s.key === 'id')) spec.push({ key: 'id', dir: 'desc' });
  return spec;
}

function sortValue(img: SimImage, key: string): string | number {
  const j = imageJson(img);
  const v = j[key];
  return typeof v === 'number' ? v : v === null || v === undefined ? '' : String(v);
}

function comparator(spec: SortSpec): (a: SimImage, b: SimImage) => number {
  return (a, b) => {
    for (const { key, dir } of spec) {
      const va = sortValue(a, key);
      const vb = sortValue(b, key);
      if (va === vb) continue;
      const c = va < vb ? -1 : 1;
      return dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

function list(ctx: ServiceContext, req: SimRequest): SimReply {
  const c = ctx.state.cloud;
  const q = req.query;
  let limit = c.imagePageSize;
  if (q.has('limit')) {
    const raw = q.get('limit')!;
    if (!/^-?\d+$/.test(raw)) return glanceError(400, 'limit param must be an integer', req);
    limit = Number(raw);
    if (limit < 0) return glanceError(400, 'limit param must be positive', req);
  }
  limit = Math.min(limit, c.imageMaxPageSize);
  const sort = parseSort(q);
  if (typeof sort === 'string') return glanceError(400, sort, req);
  const cmp = comparator(sort);

  const preds = imageFilters(q);
  if (typeof preds === 'string') return glanceError(400, preds, req);
  const visible = [...ctx.state.images.values()].filter((img) => {
    const j = imageJson(img);
    return preds.every((p) => p(img, j));
  });
  visible.sort(cmp);
  let start = 0;
  const marker = q.get('marker');
  if (marker !== null) {
    const mImg = ctx.state.images.get(marker);
    if (!mImg) return glanceError(400, `Marker ${marker} could not be found.`, req);
    const i = visible.findIndex((img) => cmp(img, mImg) > 0);
    start = i < 0 ? visible.length : i;
  }
  const page = visible.slice(start, start + limit);
  const params = new URLSearchParams(q);
  params.delete('marker');
  const first = `/v2/images${params.size ? `?${params.toString()}` : ''}`;
  const body: Record<string, unknown> = { images: page.map(imageJson), first, schema: '/v2/schemas/images' };
  // Like Glance: a full page carries a `next` link (the following page may turn out empty).
  if (limit > 0 && page.length === limit) {
    params.set('marker', page[page.length - 1]!.id);
    body.next = `/v2/images?${params.toString()}`;
  }
  return { status: 200, json: body };
}
