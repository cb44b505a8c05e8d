import type { SimImage } from './state.js';

/**
 * Glance's list filters (Image API v2 reference, "List images" → "Filtering"; glance/common/utils.py
 * `split_filter_op`, `split_filter_value_for_quotes`, `evaluate_filter_op` and
 * glance/db/sqlalchemy/api.py `_make_conditions_from_filters`): which fields take which operators.
 */

/** Query parameters that are not filters, or handled apart (tags, visibility, os_hidden). */
const NOT_FILTERS = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort', 'member_status', 'tag', 'visibility', 'os_hidden']);
/** Take `in:` (a list, quotes allowed) and `eq:`; any other operator is a 400. */
const LIST_FIELDS = new Set(['name', 'id', 'status', 'container_format', 'disk_format']);
/** Take `gt:`, `gte:`, `lt:`, `lte:`, `neq:`, `eq:` with an ISO 8601 time. */
const TIME_FIELDS = new Set(['created_at', 'updated_at']);
/** `<field>_min` / `<field>_max` ranges. */
const RANGE_FIELDS = new Set(['size', 'virtual_size', 'min_disk', 'min_ram']);
/** Base attributes compared literally; any other name is a custom property (compared literally too). */
const PLAIN_BASE = new Set(['owner', 'min_disk', 'min_ram', 'protected', 'checksum', 'os_hash_value', 'os_hash_algo', 'size', 'virtual_size']);

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export type ImagePredicate = (img: SimImage, json: Record<string, unknown>) => boolean;

/** `op:value`, or `eq` for a plain value and for a whole ISO time (whose colons are not an operator). */
export function splitFilterOp(expression: string): [string, string] {
  const i = expression.indexOf(':');
  if (i < 0 || ISO.test(expression)) return ['eq', expression];
  return [expression.slice(0, i), expression.slice(i + 1)];
}

/** `a,"b, c",d` → `['a', 'b, c', 'd']` (api-wg filtering guideline); unbalanced quotes are a 400. */
export function splitQuoted(value: string): string[] | string {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    if (value[i] === '"') {
      let v = '';
      let j = i + 1;
      for (; j < value.length && value[j] !== '"'; j++) {
        if (value[j] === '\\' && j + 1 < value.length) j++;
        v += value[j];
      }
      if (j >= value.length) return 'Invalid filter value ' + value + '. The quote is not closed.';
      out.push(v);
      i = j + 1;
      if (i < value.length && value[i] !== ',') return 'Invalid filter value ' + value + '. There is no comma after closing quotation mark.';
      i++;
    } else {
      const j = value.indexOf(',', i);
      const end = j < 0 ? value.length : j;
      out.push(value.slice(i, end));
      i = end + 1;
      if (j < 0) break;
    }
  }
  return out;
}

const TIME_OPS: Record<string, (a: number, b: number) => boolean> = {
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  neq: (a, b) => a !== b,
  eq: (a, b) => a === b,
};

const asText = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/** Builds one predicate per filter parameter, or the message of Glance's 400. */
export function imageFilters(q: URLSearchParams): ImagePredicate[] | string {
  const preds: ImagePredicate[] = [];
  const visibility = q.get('visibility');
  if (visibility !== null && visibility !== 'all') {
    if (!['public', 'private', 'shared', 'community'].includes(visibility)) return `Invalid visibility value: ${visibility}`;
    preds.push((img) => img.visibility === visibility);
  }
  const hidden = q.get('os_hidden');
  if (hidden !== null && hidden !== 'true' && hidden !== 'false')
    return `Invalid value '${hidden}' for 'os_hidden' filter. Valid values are 'true' or 'false'.`;
  // Hidden images are listed only when asked for (os_hidden=true lists only them).
  preds.push((img) => (img.osHidden ?? false) === (hidden === 'true'));
  const tags = q.getAll('tag');
  if (tags.length) preds.push((img) => tags.every((t) => img.tags.includes(t)));

  for (const key of new Set(q.keys())) {
    if (NOT_FILTERS.has(key)) continue;
    // webob's MultiDict.get: the last of repeated values.
    const raw = q.getAll(key).at(-1)!;
    const range = /^(.+)_(min|max)$/.exec(key);
    if (range && RANGE_FIELDS.has(range[1]!)) {
      if (!/^-?\d+$/.test(raw)) return 'Unable to filter on a range with a non-numeric value.';
      const bound = Number(raw);
      const field = range[1]!;
      const min = range[2] === 'min';
      preds.push((_img, j) => typeof j[field] === 'number' && (min ? (j[field] as number) >= bound : (j[field] as number) <= bound));
    } else if (TIME_FIELDS.has(key)) {
      const [op, time] = splitFilterOp(raw);
      const t = ISO.test(time) ? Date.parse(time) : NaN;
      if (Number.isNaN(t)) return `Bad "${key}" query filter format. Use ISO 8601 DateTime notation.`;
      const cmp = TIME_OPS[op];
      if (!cmp) return 'Unable to filter using the specified operator.';
      preds.push((_img, j) => typeof j[key] === 'string' && cmp(Date.parse(j[key] as string), t));
    } else if (LIST_FIELDS.has(key)) {
      const [op, value] = splitFilterOp(raw);
      if (op === 'in') {
        const values = splitQuoted(value);
        if (typeof values === 'string') return values;
        preds.push((_img, j) => values.includes(asText(j[key]) ?? '\u0000'));
      } else if (op === 'eq') {
        preds.push((_img, j) => asText(j[key]) === value);
      } else {
        return `Unable to filter by unknown operator '${op}'.`;
      }
    } else if (key === 'checksum') {
      const values = raw.split(',');
      preds.push((img) => img.checksum !== null && values.includes(img.checksum));
    } else if (key === 'protected') {
      if (raw !== 'true' && raw !== 'false') return `Invalid value '${raw}' for 'protected' filter. Valid values are 'true' or 'false'.`;
      preds.push((img) => img.protected === (raw === 'true'));
    } else if (PLAIN_BASE.has(key)) {
      preds.push((_img, j) => asText(j[key]) === raw);
    } else {
      // A custom property: literal equality, operators included (Glance parses none here).
      preds.push((img) => img.properties[key] === raw);
    }
  }
  return preds;
}
