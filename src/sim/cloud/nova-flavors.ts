import type { SimReply, SimRequest } from './http.js';
import type { SimFlavor } from './scenario.js';

/**
 * Nova flavors (Compute API reference, "Flavors"): `GET /flavors`, `/flavors/detail` (`limit`,
 * `marker`, `minRam`, `minDisk`, `sort_key`/`sort_dir`, `flavors_links`) and `GET /flavors/{id}`,
 * with the fields each microversion shows (2.55 `description`, 2.61 `extra_specs`, 2.75 `swap` 0
 * instead of "" and no `rxtx_factor`).
 */

type Mv = [number, number];
const atLeast = (a: Mv, b: Mv) => a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);

function links(req: SimRequest, id: string) {
  return [
    { rel: 'self', href: `${req.serviceRoot}/v2.1/flavors/${id}` },
    { rel: 'bookmark', href: `${req.serviceRoot}/flavors/${id}` },
  ];
}

export function flavorJson(req: SimRequest, f: SimFlavor, mv: Mv, detail: boolean): Record<string, unknown> {
  const j: Record<string, unknown> = { id: f.id, name: f.name, links: links(req, f.id) };
  if (atLeast(mv, [2, 55])) j.description = f.description ?? null;
  if (!detail) return j;
  Object.assign(j, {
    ram: f.ram,
    disk: f.disk,
    vcpus: f.vcpus,
    swap: f.swap === 0 && !atLeast(mv, [2, 75]) ? '' : f.swap,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': false,
    'os-flavor-access:is_public': true,
  });
  if (!atLeast(mv, [2, 75])) j.rxtx_factor = 1.0;
  if (atLeast(mv, [2, 61])) j.extra_specs = { ...f.extraSpecs };
  return j;
}

const SORT: Record<string, (f: SimFlavor) => string | number> = {
  flavorid: (f) => f.id,
  id: (f) => f.id,
  name: (f) => f.name,
  memory_mb: (f) => f.ram,
  root_gb: (f) => f.disk,
  vcpus: (f) => f.vcpus,
  swap: (f) => f.swap,
  ephemeral_gb: (f) => f.ephemeral,
};

/** `GET /flavors[/detail]`: Nova's 400 message, or one page and its `flavors_links`. */
export function listFlavors(req: SimRequest, flavors: SimFlavor[], mv: Mv, detail: boolean, maxLimit: number): SimReply | { status: 400; message: string } {
  const q = req.query;
  const int = (name: string): number | undefined | string => {
    const v = q.get(name);
    if (v === null) return undefined;
    return /^\d+$/.test(v) ? Number(v) : `Invalid input for query parameters ${name}. Value: ${v}. '${v}' does not match '^[0-9]*$'`;
  };
  const limit = int('limit');
  const minRam = int('minRam');
  const minDisk = int('minDisk');
  for (const v of [limit, minRam, minDisk]) if (typeof v === 'string') return { status: 400, message: v };
  const key = q.get('sort_key') ?? 'flavorid';
  const dir = q.get('sort_dir') ?? 'asc';
  if (!(key in SORT)) return { status: 400, message: `Invalid input for query parameters sort_key. Value: ${key}.` };
  if (dir !== 'asc' && dir !== 'desc') return { status: 400, message: `Invalid input for query parameters sort_dir. Value: ${dir}.` };
  const get = SORT[key]!;
  const cmp = (a: SimFlavor, b: SimFlavor) => {
    const va = get(a);
    const vb = get(b);
    const c = va === vb ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : va < vb ? -1 : 1;
    return dir === 'asc' ? c : -c;
  };
  const all = flavors.filter((f) => f.ram >= ((minRam as number | undefined) ?? 0) && f.disk >= ((minDisk as number | undefined) ?? 0)).sort(cmp);
  let start = 0;
  const marker = q.get('marker');
  if (marker !== null) {
    const m = flavors.find((f) => f.id === marker);
    if (!m) return { status: 400, message: `marker [${marker}] not found` };
    const i = all.findIndex((f) => cmp(f, m) > 0);
    start = i < 0 ? all.length : i;
  }
  const size = Math.min((limit as number | undefined) || maxLimit, maxLimit);
  const page = all.slice(start, start + size);
  const body: Record<string, unknown> = { flavors: page.map((f) => flavorJson(req, f, mv, detail)) };
  if (start + size < all.length && page.length) {
    const next = new URLSearchParams(q);
    next.set('marker', page[page.length - 1]!.id);
    body.flavors_links = [{ rel: 'next', href: `${req.serviceRoot}/v2.1/flavors${detail ? '/detail' : ''}?${next.toString()}` }];
  }
  return { status: 200, json: body };
}
