import type { SimRequest } from './http.js';
import { CloudState, type SimServer } from './state.js';

/**
 * Nova's server list query (Compute API reference, "List Servers" / "List Servers Detailed";
 * nova/api/openstack/common.py `get_sort_params`, `get_limit_and_marker`, ViewBuilder
 * `_get_collection_links`): filters, sort, `limit`/`marker` pages and the `servers_links` next link.
 */

/** Sort keys of Nova's query schema (the subset with a meaning here), mapped to what the simulator holds. */
const SORT_KEYS: Record<string, (s: SimServer) => string | number> = {
  created_at: (s) => s.created,
  updated_at: (s) => s.updated,
  display_name: (s) => s.name,
  uuid: (s) => s.id,
  vm_state: (s) => s.vmState,
  task_state: (s) => s.taskState ?? '',
  power_state: (s) => s.powerState,
  launched_at: (s) => s.launchedAt,
  image_ref: (s) => s.imageRef,
  hostname: (s) => s.name,
  key_name: () => 'hotstack',
  availability_zone: () => 'nova',
  config_drive: () => 'True',
  locked: () => 0,
  progress: () => 0,
  project_id: () => '',
  user_id: () => '',
};

/** oslo `timeutils.parse_isotime` accepts a date, or a date and time with an optional zone. */
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export type NovaFail = { status: number; message: string };
type Sort = { key: string; dir: 'asc' | 'desc' }[];

function invalidQuery(name: string, value: string, why: string): NovaFail {
  return { status: 400, message: `Invalid input for query parameters ${name}. Value: ${value}. ${why}` };
}

function parseSort(q: URLSearchParams): Sort | NovaFail {
  const keys = q.getAll('sort_key');
  const dirs = q.getAll('sort_dir');
  for (const k of keys) if (!(k in SORT_KEYS)) return invalidQuery('sort_key', k, `'${k}' is not one of the allowed sort keys`);
  for (const d of dirs) if (d !== 'asc' && d !== 'desc') return invalidQuery('sort_dir', d, `'${d}' is not one of ['asc', 'desc']`);
  if (dirs.length > keys.length && keys.length > 0) return { status: 400, message: 'Sort direction size exceeds sort key size' };
  // get_sort_params defaults, then process_sort_params: missing directions take the first one, and
  // created_at + id are appended so that pages are stable.
  const ks = keys.length ? keys : ['created_at'];
  const first = (dirs[0] ?? 'desc') as 'asc' | 'desc';
  const sort: Sort = ks.map((key, i) => ({ key, dir: (dirs[i] ?? first) as 'asc' | 'desc' }));
  for (const key of ['created_at', 'uuid']) if (!sort.some((s) => s.key === key)) sort.push({ key, dir: first });
  return sort;
}

function comparator(sort: Sort): (a: SimServer, b: SimServer) => number {
  return (a, b) => {
    for (const { key, dir } of sort) {
      const get = SORT_KEYS[key]!;
      const va = get(a);
      const vb = get(b);
      if (va === vb) continue;
      const c = va < vb ? -1 : 1;
      return dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

/** `name` is a regular expression searched anywhere in the name (Nova: Python `re.search`, SQL REGEXP). */
function nameMatcher(pattern: string): (name: string) => boolean {
  try {
    const re = new RegExp(pattern);
    return (name) => re.test(name);
  } catch {
    // MySQL refuses such a pattern; the list is empty rather than an error we would have to invent.
    return () => false;
  }
}

export interface ServerPage {
  servers: SimServer[];
  /** The next link's query (the request's own query with `marker` set), when more servers remain. */
  nextQuery?: URLSearchParams;
}

/** Selects one page of servers for a list request, or the 400 Nova gives for a bad query. */
export function selectServers(state: CloudState, q: URLSearchParams, maxLimit: number): ServerPage | NovaFail {
  let limit = maxLimit;
  const rawLimit = q.get('limit');
  if (rawLimit !== null) {
    if (!/^\d+$/.test(rawLimit)) return invalidQuery('limit', rawLimit, `'${rawLimit}' does not match '^[0-9]*$'`);
    // limit=0 is "no limit" in Nova's DB layer; more than max_limit is max_limit.
    limit = Math.min(Number(rawLimit) || maxLimit, maxLimit);
  }
  const sort = parseSort(q);
  if (!Array.isArray(sort)) return sort;
  const since = q.get('changes-since');
  if (since !== null && (!ISO_DATETIME.test(since) || Number.isNaN(Date.parse(since)))) {
    return invalidQuery('changes-since', since, `'${since}' is not a 'date-time'`);
  }
  const statuses = q.getAll('status').map((s) => s.toUpperCase());
  const name = q.get('name');
  const matchName = name === null ? () => true : nameMatcher(name);
  const sinceMs = since === null ? undefined : Date.parse(since);
  const cmp = comparator(sort);
  const all = [...state.servers.values()]
    .filter((s) => (statuses.length ? statuses.includes(CloudState.statusOf(s)) : true))
    .filter((s) => matchName(s.name))
    .filter((s) => sinceMs === undefined || Date.parse(s.updated) >= sinceMs)
    .sort(cmp);
  let start = 0;
  const marker = q.get('marker');
  if (marker !== null) {
    const m = state.servers.get(marker);
    if (!m) return { status: 400, message: `marker [${marker}] not found` };
    const i = all.findIndex((s) => cmp(s, m) > 0);
    start = i < 0 ? all.length : i;
  }
  const servers = all.slice(start, start + limit);
  const page: ServerPage = { servers };
  if (start + limit < all.length && servers.length > 0) {
    const next = new URLSearchParams(q);
    next.set('marker', servers[servers.length - 1]!.id);
    page.nextQuery = next;
  }
  return page;
}

/** The `servers_links` of a page: `rel: next` to `<root>/v2.1[/<project>]/servers[/detail]?…&marker=<last id>`. */
export function serversLinks(req: SimRequest, page: ServerPage, collectionPath: string): { rel: string; href: string }[] {
  if (!page.nextQuery) return [];
  return [{ rel: 'next', href: `${req.serviceRoot}${collectionPath}?${page.nextQuery.toString()}` }];
}
