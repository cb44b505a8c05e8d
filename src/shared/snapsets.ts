/**
 * The image store read as SnapSets (DESIGN §1, §5 pruneSnapsets): grouping images into sets,
 * completeness, age and expiry, the latest good set, the prune plan, and the `latest` shapes.
 * Pure, and clock-free: every function that needs the time takes `now` (ms), so the CLI passes
 * `Date.now()`, a workflow its own deterministic time, and tests any instant they like.
 */
import { formatDuration, parseDuration } from './duration.js';
import { ValidationError, type FieldIssue } from './errors.js';
import { COMPLETE_TAG, multiInstanceRoles, SET_SIZE_PROPERTY, SNAP_ID, SNAP_ID_PROPERTY, SNAPSET_TAG, STACK_NAME_PROPERTY, stackParameters, WORKFLOW_ID_PROPERTY } from './snapset.js';

/** DESIGN §1: the rotated kubelet certificates live 30 days, so a set older than that cannot be revived. */
export const SNAPSET_LIFETIME_MS = 30 * 86_400_000;
/** Default grace of an incomplete set before prune deletes it: longer than any capture's image phase. */
export const DEFAULT_INCOMPLETE_GRACE = '2h';
export const DEFAULT_MAX_AGE = '30d';

/** What the store needs of a Glance image (src/openstack `Image` fits). */
export interface StoreImage {
  id: string;
  name: string | null;
  status: string;
  tags: readonly string[];
  /** Glance `created_at` (whole seconds). */
  created_at: string;
  properties: Readonly<Record<string, unknown>>;
}

/** One image of a stored set. */
export interface StoredSnapsetImage {
  imageId: string;
  imageName: string | null;
  /** Instance name: the `name=` tag, else read from the image name `hotstack-<name>-snapshot-<snap_id>`. */
  name: string;
  role: string | null;
  macAddress: string | null;
  status: string;
  tags: string[];
  createdAt: string;
}

/** A SnapSet as the image store holds it. */
export interface StoredSnapset {
  snapId: string;
  /** `hotstack_stack_name`, else from `hotstack_workflow_id` = `snapset-<stack>`, else null (unknown). */
  stackName: string | null;
  /** `hotstack_workflow_id`: the capture run that made it, when recorded. */
  workflowId: string | null;
  /** The newest `created_at` of its images (the set exists once its last image does). */
  createdAt: string;
  /** The oldest `created_at` of its images (when its capture began imaging). */
  firstCreatedAt: string;
  /** createdAt + 30 days. */
  expiresAt: string;
  /** `hotstack_set_size`, when every image agrees on it. */
  setSize: number | null;
  complete: boolean;
  /** Why it is not complete (empty when it is). */
  problems: string[];
  /** Sorted by instance name. */
  images: StoredSnapsetImage[];
  /** Distinct roles, sorted. */
  roles: string[];
}

const SEED_TAG_PREFIXES = ['name=', 'role=', 'snap_id=', 'mac_address='] as const;
const IMAGE_NAME = /^hotstack-(.+)-snapshot-([A-Za-z0-9_-]{8})$/;
const STACK_FROM_WORKFLOW_ID = /^snapset-(?!lock-)(.+)$/;

/** Code-unit order: deterministic whatever the locale. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ms = (iso: string) => Date.parse(iso);

function tagValue(tags: readonly string[], prefix: string): string | null {
  const t = tags.find((x) => x.startsWith(prefix));
  return t === undefined ? null : t.slice(prefix.length);
}

function prop(img: Pick<StoreImage, 'properties'>, key: string): string | null {
  const v = img.properties[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The set an image belongs to: its `snap_id=` tag, else its `hotstack_snap_id` property (a half-made set has no tags yet). */
export function snapIdOf(img: StoreImage): string | null {
  return tagValue(img.tags, 'snap_id=') ?? prop(img, SNAP_ID_PROPERTY);
}

/** The stack of a set from its images: the property every image carries since it was added, else the CLI's workflow ID scheme. */
export function stackNameOf(images: readonly Pick<StoreImage, 'properties'>[]): string | null {
  for (const img of images) {
    const s = prop(img, STACK_NAME_PROPERTY);
    if (s) return s;
  }
  for (const img of images) {
    const m = STACK_FROM_WORKFLOW_ID.exec(prop(img, WORKFLOW_ID_PROPERTY) ?? '');
    if (m) return m[1]!;
  }
  return null;
}

/** ISO 8601 at whole seconds, `Z` (Glance's own shape). */
export function isoSecond(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

/** Newest first; ties on `created_at` (whole seconds) by snap_id, so every reader agrees on "the newest". */
export function newestFirst(a: Pick<StoredSnapset, 'createdAt' | 'snapId'>, b: Pick<StoredSnapset, 'createdAt' | 'snapId'>): number {
  return ms(b.createdAt) - ms(a.createdAt) || cmp(a.snapId, b.snapId);
}

/** Groups images into SnapSets (images of no set are ignored), newest first. */
export function groupSnapsets(images: readonly StoreImage[]): StoredSnapset[] {
  const bySet = new Map<string, StoreImage[]>();
  const seen = new Set<string>();
  for (const img of images) {
    if (seen.has(img.id)) continue; // the store lists with two queries that overlap
    seen.add(img.id);
    const id = snapIdOf(img);
    if (!id) continue;
    bySet.set(id, [...(bySet.get(id) ?? []), img]);
  }
  return [...bySet].map(([snapId, imgs]) => toSnapset(snapId, imgs)).sort(newestFirst);
}

function toSnapset(snapId: string, imgs: StoreImage[]): StoredSnapset {
  const images: StoredSnapsetImage[] = imgs
    .map((img) => ({
      imageId: img.id,
      imageName: img.name,
      name: tagValue(img.tags, 'name=') ?? IMAGE_NAME.exec(img.name ?? '')?.[1] ?? img.id,
      role: tagValue(img.tags, 'role='),
      macAddress: tagValue(img.tags, 'mac_address='),
      status: img.status.toLowerCase(),
      tags: [...img.tags],
      createdAt: img.created_at,
    }))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.imageId, b.imageId));
  const times = imgs.map((i) => ms(i.created_at)).filter((t) => !Number.isNaN(t));
  const created = times.length > 0 ? Math.max(...times) : 0;
  const sizes = [...new Set(imgs.map((i) => prop(i, SET_SIZE_PROPERTY)))];
  const setSize = sizes.length === 1 && sizes[0] !== null && /^\d+$/.test(sizes[0]) ? Number(sizes[0]) : null;
  const problems = setProblemsOf(snapId, imgs, images, sizes, setSize);
  const workflowIds = imgs.map((i) => prop(i, WORKFLOW_ID_PROPERTY)).filter((w): w is string => !!w);
  return {
    snapId,
    stackName: stackNameOf(imgs),
    workflowId: workflowIds[0] ?? null,
    createdAt: isoSecond(created),
    firstCreatedAt: isoSecond(times.length > 0 ? Math.min(...times) : 0),
    expiresAt: isoSecond(created + SNAPSET_LIFETIME_MS),
    setSize,
    complete: problems.length === 0,
    problems,
    images,
    roles: [...new Set(images.map((i) => i.role).filter((r): r is string => !!r))].sort(cmp),
  };
}

/** Complete = every image `active`, the six seed tags, the completion marker, and as many images as `hotstack_set_size` says. */
function setProblemsOf(snapId: string, raw: StoreImage[], images: StoredSnapsetImage[], sizes: (string | null)[], setSize: number | null): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  for (const img of images) names.set(img.name, (names.get(img.name) ?? 0) + 1);
  for (const [name, n] of names) if (n > 1) problems.push(`${n} images of ${name}`);
  for (const img of images) {
    if (img.status !== 'active') problems.push(`${img.name} image ${img.status}`);
    const missing = [
      ...['hotstack', SNAPSET_TAG].filter((t) => !img.tags.includes(t)),
      ...SEED_TAG_PREFIXES.filter((p) => tagValue(img.tags, p) === null).map((p) => `${p}…`),
    ];
    const foreign = tagValue(img.tags, 'snap_id=');
    if (foreign !== null && foreign !== snapId) missing.push(`snap_id=${snapId}`);
    if (missing.length > 0) problems.push(`${img.name} image lacks tags ${missing.join(', ')}`);
  }
  const unmarked = images.filter((i) => !i.tags.includes(COMPLETE_TAG)).map((i) => i.name);
  if (unmarked.length === images.length) problems.push(`not marked complete (no ${COMPLETE_TAG} tag)`);
  else if (unmarked.length > 0) problems.push(`${unmarked.join(', ')} not marked ${COMPLETE_TAG}`);
  if (sizes.length > 1) problems.push(`images disagree on ${SET_SIZE_PROPERTY} (${sizes.map((s) => s ?? 'none').join(', ')})`);
  else if (setSize === null) problems.push(`set size unknown (no ${SET_SIZE_PROPERTY} property)`);
  else if (setSize !== raw.length) problems.push(`${raw.length} of ${setSize} images`);
  return problems;
}

/** Age of a set at `now`, ms (never negative). */
export function ageMs(set: Pick<StoredSnapset, 'createdAt'>, now: number): number {
  return Math.max(0, now - ms(set.createdAt));
}

export function isExpired(set: Pick<StoredSnapset, 'expiresAt'>, now: number): boolean {
  return ms(set.expiresAt) <= now;
}

/** The `snapset list --json` row. */
export interface SnapsetSummary {
  snapId: string;
  stackName: string | null;
  createdAt: string;
  expiresAt: string;
  complete: boolean;
  /** Number of images. */
  images: number;
  roles: string[];
}

export function summary(s: StoredSnapset): SnapsetSummary {
  return { snapId: s.snapId, stackName: s.stackName, createdAt: s.createdAt, expiresAt: s.expiresAt, complete: s.complete, images: s.images.length, roles: s.roles };
}

// ---- latest ---------------------------------------------------------------------------------------

export interface LatestQuery {
  stackName?: string;
  /** Only sets with every one of these roles; the answer names only their images. */
  roles?: readonly string[];
  now: number;
}

/** The `snapset latest --json` shape. */
export interface LatestSnapset {
  snapId: string;
  stackName: string | null;
  createdAt: string;
  expiresAt: string;
  /** Hotstack's `<role>_params.image` for every role with exactly one instance. */
  stack_parameters: Record<string, { image: string }>;
  images: Record<string, { imageId: string; imageName: string; role: string; macAddress: string }>;
  /** Roles with several instances: no Hotstack parameter can name one of their images, so they are listed here and in `images` only. */
  multiInstanceRoles: string[];
}

export type LatestAnswer = { found: true; latest: LatestSnapset } | { found: false; message: string };

/** The newest complete, unexpired set (of a stack, with the roles asked for); otherwise what exists instead. */
export function selectLatest(sets: readonly StoredSnapset[], q: LatestQuery): LatestAnswer {
  const roles = [...new Set(q.roles ?? [])];
  const ofStack = [...sets].filter((s) => !q.stackName || s.stackName === q.stackName).sort(newestFirst);
  const candidates = ofStack.filter((s) => roles.every((r) => s.roles.includes(r)));
  const good = candidates.find((s) => s.complete && !isExpired(s, q.now));
  if (good) return { found: true, latest: latestShape(good, roles) };

  const scope = `${q.stackName ? `stack ${q.stackName}` : 'any stack'}${roles.length > 0 ? ` with role(s) ${roles.join(', ')}` : ''}`;
  if (ofStack.length === 0) return { found: false, message: `no SnapSet of ${scope} in the image store${q.stackName ? ` (stacks with sets: ${stacksOf(sets) || 'none'})` : ''}` };
  const parts: string[] = [];
  const newest = candidates[0] ?? ofStack[0]!;
  if (candidates.length === 0) parts.push(`no set has every role asked for (newest set ${newest.snapId} has ${newest.roles.join(', ') || 'no roles'})`);
  else if (!newest.complete) parts.push(`newest set ${newest.snapId} (${newest.createdAt}) is incomplete: ${newest.problems.join('; ')}`);
  const newestComplete = candidates.find((s) => s.complete);
  if (newestComplete) parts.push(`newest complete set ${newestComplete.snapId} expired at ${newestComplete.expiresAt} (age ${formatDuration(Math.floor(ageMs(newestComplete, q.now) / 1000) * 1000)}, limit 30d)`);
  else if (candidates.length > 0) parts.push(`none of its ${candidates.length} set(s) is complete`);
  return { found: false, message: `no complete unexpired SnapSet of ${scope}: ${parts.join('; ')}` };
}

function stacksOf(sets: readonly StoredSnapset[]): string {
  return [...new Set(sets.map((s) => s.stackName ?? '(unknown)'))].sort(cmp).join(', ');
}

function latestShape(s: StoredSnapset, roles: string[]): LatestSnapset {
  const chosen = s.images.filter((i) => roles.length === 0 || roles.includes(i.role!));
  const images = Object.fromEntries(chosen.map((i) => [i.name, { imageId: i.imageId, imageName: i.imageName ?? i.imageId, role: i.role!, macAddress: i.macAddress! }]));
  return {
    snapId: s.snapId,
    stackName: s.stackName,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    stack_parameters: stackParameters(images),
    images,
    multiInstanceRoles: multiInstanceRoles(images),
  };
}

/**
 * `snapset latest --format yaml`: a `stack_parameters:` block for hotstack's `-e @file`, with the
 * set named in a comment and the roles no parameter can express said so.
 */
export function latestYaml(l: LatestSnapset): string {
  const lines = [`# SnapSet ${l.snapId} of stack ${l.stackName ?? '(unknown)'}, created ${l.createdAt}, expires ${l.expiresAt}`];
  for (const role of l.multiInstanceRoles) {
    const names = Object.entries(l.images).filter(([, i]) => i.role === role).map(([n, i]) => `${n}=${i.imageName}`);
    lines.push(`# role ${role} has ${names.length} instances (${names.join(', ')}): no hotstack parameter names one image of several`);
  }
  lines.push('stack_parameters:');
  const params = Object.entries(l.stack_parameters);
  if (params.length === 0) lines[lines.length - 1] += ' {}';
  for (const [key, v] of params) lines.push(`  ${key}:`, `    image: ${JSON.stringify(v.image)}`);
  return lines.join('\n');
}

// ---- prune ----------------------------------------------------------------------------------------

export interface PrunePolicy {
  /** Complete sets kept per stack (newest first). */
  keep?: number;
  maxAgeMs: number;
  incompleteGraceMs: number;
  /** Only sets of this stack. */
  stackName?: string;
  /** Delete exactly these (`snapset delete`) instead of applying `keep`/`maxAge`/grace. */
  snapIds?: readonly string[];
  now: number;
  /**
   * Capture runs still open: workflow ID → when the running run started (ms). A set of that
   * workflow ID made at or after the run's start belongs to it and is never touched.
   */
  openRuns?: Readonly<Record<string, number>>;
}

export interface PrunePlan {
  delete: string[];
  keep: string[];
  /** snapId → why it is deleted or kept (also for snapIds asked for that do not exist). */
  reasons: Record<string, string>;
}

/** Glance's whole seconds: an image made in the run's first second may carry a `created_at` just before its start. */
const CLOCK_SLACK_MS = 1000;

/**
 * What prune deletes (DESIGN §5): per stack, the newest `keep` complete sets stay; older complete
 * sets, sets older than `maxAge` and incomplete sets older than the grace go — but never the newest
 * complete set of a stack, and never a set whose capture run is still open.
 */
export function planPrune(sets: readonly StoredSnapset[], p: PrunePolicy): PrunePlan {
  const plan: PrunePlan = { delete: [], keep: [], reasons: {} };
  const keepSet = (s: StoredSnapset, why: string) => {
    plan.keep.push(s.snapId);
    plan.reasons[s.snapId] = why;
  };
  const deleteSet = (s: StoredSnapset, why: string) => {
    plan.delete.push(s.snapId);
    plan.reasons[s.snapId] = why;
  };
  const age = (s: StoredSnapset) => formatDuration(Math.floor(ageMs(s, p.now) / 1000) * 1000);
  const scoped = [...sets].filter((s) => !p.stackName || s.stackName === p.stackName).sort(newestFirst);
  const newestComplete = new Map<string, string>();
  for (const s of scoped) if (s.complete && !newestComplete.has(s.stackName ?? '')) newestComplete.set(s.stackName ?? '', s.snapId);
  const stackLabel = (s: StoredSnapset) => (s.stackName ? `stack ${s.stackName}` : 'sets of unknown stack');
  const openRun = (s: StoredSnapset) => {
    const since = s.workflowId ? p.openRuns?.[s.workflowId] : undefined;
    return since !== undefined && ms(s.firstCreatedAt) >= since - CLOCK_SLACK_MS;
  };
  /** The rules no policy overrides. */
  const protectedWhy = (s: StoredSnapset): string | undefined => {
    if (newestComplete.get(s.stackName ?? '') === s.snapId) return `newest complete set of ${stackLabel(s)}: never deleted`;
    if (openRun(s)) return `its capture run ${s.workflowId} is still open`;
    return undefined;
  };

  if (p.snapIds) {
    const byId = new Map(scoped.map((s) => [s.snapId, s]));
    for (const id of new Set(p.snapIds)) {
      const s = byId.get(id);
      if (!s) {
        plan.reasons[id] = `no such set${p.stackName ? ` of stack ${p.stackName}` : ''} in the image store`;
        continue;
      }
      const why = protectedWhy(s);
      if (why) keepSet(s, why);
      else deleteSet(s, `asked for (${s.complete ? 'complete' : 'incomplete'}, ${stackLabel(s)}, age ${age(s)})`);
    }
    return plan;
  }

  const keep = p.keep ?? 1;
  const rank = new Map<string, number>();
  for (const s of scoped) {
    const why = protectedWhy(s);
    if (why) {
      keepSet(s, why);
      if (s.complete) rank.set(s.stackName ?? '', (rank.get(s.stackName ?? '') ?? 0) + 1);
      continue;
    }
    const old = ageMs(s, p.now) > p.maxAgeMs;
    if (!s.complete) {
      if (ageMs(s, p.now) > p.incompleteGraceMs) deleteSet(s, `incomplete for longer than ${formatDuration(p.incompleteGraceMs)} (age ${age(s)}): ${s.problems.join('; ')}`);
      else keepSet(s, `incomplete but younger than ${formatDuration(p.incompleteGraceMs)} (age ${age(s)}): a capture may still be finishing it`);
      continue;
    }
    const n = (rank.get(s.stackName ?? '') ?? 0) + 1;
    rank.set(s.stackName ?? '', n);
    if (old) deleteSet(s, `older than ${formatDuration(p.maxAgeMs)} (age ${age(s)})`);
    else if (n > keep) deleteSet(s, `complete set number ${n} of ${stackLabel(s)}: only the newest ${keep} are kept`);
    else keepSet(s, `one of the newest ${keep} complete sets of ${stackLabel(s)}`);
  }
  return plan;
}

// ---- input of pruneSnapsets ----------------------------------------------------------------------

/** Input of the `pruneSnapsets` workflow (and of `snapset prune` / `snapset delete`). */
export interface PruneSnapsetsInput {
  stackName?: string;
  cloud?: string;
  /** Complete sets kept per stack; required unless `snapIds` is given. */
  keep?: number;
  /** @default 30d */
  maxAge?: string;
  /** @default 2h */
  incompleteGrace?: string;
  /** Report the plan, delete nothing. */
  dryRun?: boolean;
  /** Delete exactly these sets (`snapset delete`), still never the newest complete set of a stack nor one whose run is open. */
  snapIds?: string[];
}

export interface ParsedPruneInput {
  stackName?: string;
  cloud?: string;
  keep?: number;
  maxAgeMs: number;
  incompleteGraceMs: number;
  dryRun: boolean;
  snapIds?: string[];
}

/** Validates a prune input; throws a ValidationError naming every bad field. */
export function parsePruneInput(raw: unknown): ParsedPruneInput {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError([{ path: '', message: 'expected an object' }], { source: 'pruneSnapsets' });
  const r = raw as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  const known = new Set(['stackName', 'cloud', 'keep', 'maxAge', 'incompleteGrace', 'dryRun', 'snapIds']);
  for (const k of Object.keys(r)) if (!known.has(k)) issue(k, `unknown field`);
  const str = (k: string) => {
    const v = r[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') issue(k, `expected a non-empty string`);
    return typeof v === 'string' ? v : undefined;
  };
  const stackName = str('stackName');
  const cloud = str('cloud');
  const dur = (k: string, dflt: string) => {
    const v = str(k) ?? dflt;
    const n = parseDuration(v);
    if (n === undefined || n <= 0) issue(k, `expected a duration such as ${dflt}`);
    return n ?? 0;
  };
  const maxAgeMs = dur('maxAge', DEFAULT_MAX_AGE);
  const incompleteGraceMs = dur('incompleteGrace', DEFAULT_INCOMPLETE_GRACE);
  if (r.dryRun !== undefined && typeof r.dryRun !== 'boolean') issue('dryRun', 'expected true or false');
  let snapIds: string[] | undefined;
  if (r.snapIds !== undefined) {
    if (!Array.isArray(r.snapIds) || r.snapIds.length === 0) issue('snapIds', 'expected a non-empty list of snap_ids');
    else {
      snapIds = r.snapIds.map(String);
      const bad = r.snapIds.filter((s) => typeof s !== 'string' || !SNAP_ID.test(s));
      if (bad.length > 0) issue('snapIds', `not snap_ids (8 URL-safe base64 characters): ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
    }
  }
  if (r.keep !== undefined && (typeof r.keep !== 'number' || !Number.isInteger(r.keep) || r.keep < 1)) issue('keep', 'expected a whole number of at least 1');
  if (r.keep === undefined && snapIds === undefined) issue('keep', 'required (how many complete sets to keep per stack) unless snapIds is given');
  if (issues.length > 0) throw new ValidationError(issues, { source: 'pruneSnapsets' });
  return {
    ...(stackName ? { stackName } : {}),
    ...(cloud ? { cloud } : {}),
    ...(typeof r.keep === 'number' ? { keep: r.keep } : {}),
    maxAgeMs,
    incompleteGraceMs,
    dryRun: r.dryRun === true,
    ...(snapIds ? { snapIds } : {}),
  };
}

/** Result of `pruneSnapsets`. */
export interface PruneSnapsetsResult extends PrunePlan {
  /** Sets whose images are all gone now (empty on a dry run). */
  deleted: string[];
  /** Images that could not be deleted, with why. */
  left: { snapId: string; imageId: string; reason: string }[];
  dryRun: boolean;
}
