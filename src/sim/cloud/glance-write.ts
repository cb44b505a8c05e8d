import { randomUUID } from 'node:crypto';
import { header, INVALID_JSON, type SimRequest } from './http.js';
import { activateImage, isoSeconds, type SimImage } from './state.js';

/**
 * Glance's writes of image records: `PATCH /v2/images/{id}` (Image API v2 reference, "Update image";
 * glance/api/v2/images.py `RequestDeserializer.update`, `ImagesController._do_add/_do_replace/
 * _do_remove`), a JSON-patch list applied in order and saved only when every operation passed, so a
 * refused request changes nothing; `POST /v2/images` ("Create image"), a `queued` record; and `PUT /v2/images/{id}/file`
 * ("Upload binary image data"), which makes it `active`.
 */

/** Media type → JSON-schema draft of the patch (v2.0 is draft 4 style `{"add": "/x"}`, v2.1 draft 10 `{"op": "add"}`). */
const PATCH_TYPES: Record<string, 4 | 10> = {
  'application/openstack-images-v2.0-json-patch': 4,
  'application/openstack-images-v2.1-json-patch': 10,
};
const OPS = ['add', 'remove', 'replace'] as const;
type Op = (typeof OPS)[number];

const READ_ONLY = new Set([
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'id',
  'os_glance_import_task',
]);
const RESERVED = new Set(['location', 'deleted', 'deleted_at']);
/** Base attributes a user may write; removing one is refused (403), like every other base attribute. */
const WRITABLE_BASE = new Set(['name', 'visibility', 'protected', 'os_hidden', 'min_disk', 'min_ram', 'disk_format', 'container_format', 'owner', 'tags']);
const BASE = new Set([...WRITABLE_BASE, 'checksum', 'created_at', 'id', 'size', 'virtual_size', 'status', 'updated_at', 'locations']);
const DISK_FORMATS = [null, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
const CONTAINER_FORMATS = [null, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
/** glance-api.conf `image_property_quota` / `image_tag_quota` defaults. */
const PROPERTY_QUOTA = 128;
const TAG_QUOTA = 128;

export const ACCEPT_PATCH = Object.keys(PATCH_TYPES).sort().join(', ');

export type Fail = { status: number; message: string; headers?: Record<string, string> };
const fail = (status: number, message: string, headers?: Record<string, string>): Fail => ({ status, message, headers });
const schemaError = (detail: string): Fail => fail(400, `Provided object does not match schema 'image': ${detail}`);

interface Change {
  op: Op;
  path: string[];
  value?: unknown;
  draft: 4 | 10;
}

/** glance `_decode_json_pointer` with its checks, same messages. */
function decodePointer(pointer: unknown): string[] | Fail {
  if (typeof pointer !== 'string') return fail(400, 'Pointer must be a string.');
  if (!pointer.startsWith('/')) return fail(400, `Pointer \`${pointer}\` does not start with "/".`);
  if (/\/\s*?\//.test(pointer.slice(1))) return fail(400, `Pointer \`${pointer}\` contains adjacent "/".`);
  if (pointer.length > 1 && pointer.endsWith('/')) return fail(400, `Pointer \`${pointer}\` end with "/".`);
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) return fail(400, `Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  return pointer
    .replace(/^\/+/, '')
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~').trim());
}

function parseChange(raw: unknown, draft: 4 | 10): Change | Fail {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fail(400, 'Operations must be JSON objects.');
  const r = raw as Record<string, unknown>;
  let op: Op;
  let pointer: unknown;
  if (draft === 10) {
    if (r.op === undefined) return fail(400, `Unable to find \`op\` in JSON Schema change. It must be one of the following: ${OPS.join(', ')}.`);
    if (!OPS.includes(r.op as Op)) return fail(400, `Invalid operation: \`${String(r.op)}\`. It must be one of the following: ${OPS.join(', ')}.`);
    op = r.op as Op;
    if (!('path' in r)) return fail(400, "Unable to find 'path' in JSON Schema change");
    pointer = r.path;
  } else {
    const present = OPS.filter((o) => o in r);
    if (present.length > 1) return fail(400, 'Operation objects must contain only one member named "add", "remove", or "replace".');
    if (present.length === 0) return fail(400, 'Operation objects must contain exactly one member named "add", "remove", or "replace".');
    op = present[0]!;
    pointer = r[op];
  }
  const path = decodePointer(pointer);
  if (!Array.isArray(path)) return path;
  // Only `locations` takes deeper pointers; the simulator stores no locations, so every path is one token.
  if (path.length !== 1) return fail(400, `Invalid JSON pointer for this resource: '/${path.join('/')}'`);
  const root = path[0]!;
  if (READ_ONLY.has(root)) return fail(403, `Attribute '${root}' is read-only.`);
  if (RESERVED.has(root)) return fail(403, `Attribute '${root}' is reserved.`);
  if (root.startsWith('os_glance')) return fail(403, `Attribute '${root}' is reserved.`);
  if (op === 'remove') return { op, path, draft };
  if (!('value' in r)) return fail(400, `Operation "${op}" requires a member named "value".`);
  const invalid = validateValue(root, r.value);
  if (invalid) return invalid;
  return { op, path, value: r.value, draft };
}

/** The image schema's constraint on one attribute (`GET /v2/schemas/image`). */
function validateValue(key: string, v: unknown): Fail | undefined {
  const str = (max: number, nullable: boolean) =>
    (v === null && nullable) || (typeof v === 'string' && v.length <= max)
      ? undefined
      : schemaError(`${JSON.stringify(v)} is not valid under any of the given schemas`);
  switch (key) {
    case 'name':
    case 'owner':
      return str(255, true);
    case 'visibility':
      return ['public', 'private', 'shared', 'community'].includes(v as string)
        ? undefined
        : schemaError(`${JSON.stringify(v)} is not one of ['community', 'public', 'private', 'shared']`);
    case 'protected':
    case 'os_hidden':
      return typeof v === 'boolean' ? undefined : schemaError(`${JSON.stringify(v)} is not of type 'boolean'`);
    case 'min_disk':
    case 'min_ram':
      return Number.isInteger(v) && (v as number) >= 0
        ? undefined
        : schemaError(`${JSON.stringify(v)} is not of type 'integer' or is less than the minimum of 0`);
    case 'disk_format':
      return DISK_FORMATS.includes(v as string | null) ? undefined : schemaError(`${JSON.stringify(v)} is not one of ${JSON.stringify(DISK_FORMATS)}`);
    case 'container_format':
      return CONTAINER_FORMATS.includes(v as string | null)
        ? undefined
        : schemaError(`${JSON.stringify(v)} is not one of ${JSON.stringify(CONTAINER_FORMATS)}`);
    case 'tags':
      if (!Array.isArray(v)) return schemaError(`${JSON.stringify(v)} is not of type 'array'`);
      for (const t of v) {
        if (typeof t !== 'string') return schemaError(`${JSON.stringify(t)} is not of type 'string'`);
        if (t.length > 255) return schemaError(`'${t.slice(0, 20)}…' is too long`);
      }
      return undefined;
    default:
      if (key.length > 255) return schemaError(`property name '${key.slice(0, 20)}…' is too long`);
      return typeof v === 'string' && v.length <= 65535 ? undefined : schemaError(`${JSON.stringify(v)} is not of type 'string'`);
  }
}

/** The writable view of an image that the changes are applied to (then copied back at once). */
interface Draft {
  base: Record<string, unknown>;
  properties: Record<string, string>;
}

function draftOf(img: SimImage): Draft {
  return {
    base: {
      name: img.name,
      visibility: img.visibility,
      protected: img.protected,
      os_hidden: img.osHidden ?? false,
      min_disk: img.minDisk,
      min_ram: img.minRam ?? 0,
      disk_format: img.diskFormat,
      container_format: img.containerFormat,
      owner: img.owner,
      tags: [...img.tags],
    },
    properties: { ...img.properties },
  };
}

function apply(img: SimImage, d: Draft, c: Change): Fail | undefined {
  const key = c.path[0]!;
  const isBase = WRITABLE_BASE.has(key);
  if (c.op === 'remove') {
    if (BASE.has(key)) return fail(403, `Property ${key} may not be removed.`);
    if (!(key in d.properties)) return fail(409, `Property ${key} does not exist.`);
    delete d.properties[key];
    return undefined;
  }
  const exists = isBase || key in d.properties;
  if (c.op === 'replace' && !exists) return fail(409, `Property ${key} does not exist.`);
  // Draft 4 (v2.0 media type) refuses `add` on a present attribute; draft 10 treats it as replace.
  if (c.op === 'add' && exists && c.draft === 4) return fail(409, `Property ${key} already present.`);
  if (!isBase) {
    if (!(key in d.properties) && Object.keys(d.properties).length >= PROPERTY_QUOTA) {
      return fail(413, `Attempted to add ${Object.keys(d.properties).length + 1} properties while the maximum is ${PROPERTY_QUOTA}.`);
    }
    d.properties[key] = c.value as string;
    return undefined;
  }
  if ((key === 'disk_format' || key === 'container_format') && !['queued', 'importing'].includes(img.status) && d.base[key] !== c.value) {
    return fail(403, `Attribute ${key} can be only replaced for a queued image.`);
  }
  // Default policy: only an admin may make an image public (`publicize_image`).
  if (key === 'visibility' && c.value === 'public' && img.visibility !== 'public') {
    return fail(403, 'You are not authorized to complete publicize_image action.');
  }
  if (key === 'tags') {
    const tags = [...new Set(c.value as string[])];
    if (tags.length > TAG_QUOTA) return fail(413, `Attempted to add ${tags.length} tags while the maximum is ${TAG_QUOTA}.`);
    d.base.tags = tags;
    return undefined;
  }
  d.base[key] = c.value;
  return undefined;
}

/** Parses and applies a JSON-patch request; the image changes only when every operation is accepted. */
export function patchImage(req: SimRequest, img: SimImage): { ok: true } | Fail {
  const contentType = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const draft = PATCH_TYPES[contentType];
  if (!draft) return fail(415, `The request media type ${contentType || '(none)'} is not supported by this server.`, { 'Accept-Patch': ACCEPT_PATCH });
  if (req.body === INVALID_JSON || req.body === undefined) return fail(400, 'Malformed JSON in request body.');
  if (!Array.isArray(req.body)) return fail(400, 'Request body must be a JSON array of operation objects.');
  const changes: Change[] = [];
  for (const raw of req.body) {
    const c = parseChange(raw, draft);
    if (!('op' in c)) return c;
    changes.push(c);
  }
  const d = draftOf(img);
  for (const c of changes) {
    const refused = apply(img, d, c);
    if (refused) return refused;
  }
  const b = d.base;
  img.name = b.name as string | null;
  img.visibility = b.visibility as string;
  img.protected = b.protected as boolean;
  img.osHidden = b.os_hidden as boolean;
  img.minDisk = b.min_disk as number;
  img.minRam = b.min_ram as number;
  img.diskFormat = b.disk_format as string | null;
  img.containerFormat = b.container_format as string | null;
  img.owner = b.owner as string;
  img.tags = b.tags as string[];
  img.properties = d.properties;
  img.updatedAt = isoSeconds();
  return { ok: true };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `POST /v2/images` body → a new `queued` image (no data: `size`, `checksum` stay null), or the
 * refusal Glance gives: 415 for a non-JSON body, 403 for read-only/reserved attributes, 400 for
 * schema violations, 409 for an id in use, 413 over the property/tag quota.
 */
export function createImageRecord(req: SimRequest, existing: ReadonlyMap<string, SimImage>, owner: string): SimImage | Fail {
  const contentType = (header(req, 'content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') return fail(415, `Unsupported Content-Type ${contentType}`);
  if (req.body === INVALID_JSON) return fail(400, 'Malformed JSON in request body.');
  const body = req.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) return fail(400, 'Request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  for (const [key, value] of Object.entries(b)) {
    if (key === 'id') continue;
    if (READ_ONLY.has(key)) return fail(403, `Attribute '${key}' is read-only.`);
    if (RESERVED.has(key) || key.startsWith('os_glance')) return fail(403, `Attribute '${key}' is reserved.`);
    const invalid = validateValue(key, value);
    if (invalid) return invalid;
  }
  if (b.id !== undefined) {
    if (typeof b.id !== 'string' || !UUID.test(b.id)) return schemaError(`${JSON.stringify(b.id)} is not a 'uuid'`);
    if (existing.has(b.id)) return fail(409, `Image with identifier ${b.id} already exists!`);
  }
  if (b.visibility === 'public') return fail(403, 'You are not authorized to complete publicize_image action.');
  if (b.owner !== undefined && b.owner !== owner) return fail(403, "You are not permitted to create images owned by '" + String(b.owner) + "'.");
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(b)) if (!BASE.has(key) && key !== 'id') properties[key] = value as string;
  if (Object.keys(properties).length > PROPERTY_QUOTA)
    return fail(413, `Attempted to add ${Object.keys(properties).length} properties while the maximum is ${PROPERTY_QUOTA}.`);
  const tags = [...new Set((b.tags as string[] | undefined) ?? [])];
  if (tags.length > TAG_QUOTA) return fail(413, `Attempted to add ${tags.length} tags while the maximum is ${TAG_QUOTA}.`);
  const now = isoSeconds();
  return {
    id: typeof b.id === 'string' ? b.id.toLowerCase() : randomUUID(),
    name: (b.name as string | null | undefined) ?? null,
    status: 'queued',
    tags,
    properties,
    createdAt: now,
    updatedAt: now,
    size: null,
    checksum: null,
    osHashValue: null,
    owner,
    // Glance's default since Ocata: `shared` (visible to members once added).
    visibility: (b.visibility as string | undefined) ?? 'shared',
    protected: (b.protected as boolean | undefined) ?? false,
    osHidden: (b.os_hidden as boolean | undefined) ?? false,
    minDisk: (b.min_disk as number | undefined) ?? 0,
    minRam: (b.min_ram as number | undefined) ?? 0,
    diskFormat: (b.disk_format as string | null | undefined) ?? null,
    containerFormat: (b.container_format as string | null | undefined) ?? null,
  };
}

/** `PUT /v2/images/{id}/file`: stores the data at once (the simulator keeps only its size and hashes). */
export function uploadImageData(req: SimRequest, img: SimImage): Fail | undefined {
  const contentType = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/octet-stream') return fail(415, `Unsupported Content-Type ${contentType || '(none)'}`);
  if (img.status !== 'queued') return fail(409, `Image status transition from ${img.status} to saving is not allowed`);
  if (!img.diskFormat || !img.containerFormat) return fail(400, 'Properties disk_format, container_format must be set prior to saving data.');
  activateImage(img, req.rawBody, req.rawBody.length);
  return undefined;
}
