/**
 * The prune plan (DESIGN §5 pruneSnapsets) and the input of `pruneSnapsets` / `snapset prune` /
 * `snapset delete`. Pure: runs in the workflow and in the CLI's dry run alike.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../duration.js';
import { ValidationError } from '../errors.js';
import { checkShape, inputSchemas, zodIssues } from '../input.js';
import { SNAP_ID } from './names.js';
import { ageMs, newestFirst, type StoredSnapset } from './model.js';

/** Default grace of an incomplete set before prune deletes it: longer than any capture's image phase. */
export const DEFAULT_INCOMPLETE_GRACE = '2h';
/** Default age limit of a set: the 30-day life of its certificates (DESIGN §1). */
export const DEFAULT_MAX_AGE = '30d';

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
    return since !== undefined && Date.parse(s.firstCreatedAt) >= since - CLOCK_SLACK_MS;
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
      if (ageMs(s, p.now) > p.incompleteGraceMs)
        deleteSet(s, `incomplete for longer than ${formatDuration(p.incompleteGraceMs)} (age ${age(s)}): ${s.problems.join('; ')}`);
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

const positiveDuration = (fallback: string) =>
  z
    .string({ error: `expected a duration such as ${fallback}` })
    .default(fallback)
    .refine((s) => (parseDuration(s) ?? 0) > 0, `expected a duration such as ${fallback}`)
    .transform((s) => parseDuration(s)!);

/** Built per parse, not at import (see `inputSchemas`). */
function pruneInputSchema() {
  const { stackNameField, cloudNameField } = inputSchemas();
  return z
    .strictObject(
      {
        stackName: stackNameField.optional(),
        cloud: cloudNameField.optional(),
        keep: z
          .number({ error: 'expected a whole number of at least 1' })
          .int('expected a whole number of at least 1')
          .min(1, 'expected a whole number of at least 1')
          .optional(),
        maxAge: positiveDuration(DEFAULT_MAX_AGE),
        incompleteGrace: positiveDuration(DEFAULT_INCOMPLETE_GRACE),
        dryRun: z.boolean({ error: 'expected true or false' }).default(false),
        snapIds: z
          .array(z.unknown(), { error: 'expected a non-empty list of snap_ids' })
          .min(1, 'expected a non-empty list of snap_ids')
          .superRefine((ids, ctx) => {
            const bad = ids.filter((s) => typeof s !== 'string' || !SNAP_ID.test(s));
            if (bad.length > 0)
              ctx.addIssue({ code: 'custom', message: `not snap_ids (8 URL-safe base64 characters): ${bad.map((b) => JSON.stringify(b)).join(', ')}` });
          })
          .transform((ids) => ids as string[])
          .optional(),
      },
      { error: 'expected an object' },
    )
    .superRefine((v, ctx) => {
      if (v.keep === undefined && v.snapIds === undefined)
        ctx.addIssue({ code: 'custom', path: ['keep'], message: 'required (how many complete sets to keep per stack) unless snapIds is given' });
    });
}

/** Validates a prune input; throws a ValidationError naming every bad field. */
export function parsePruneInput(raw: unknown): ParsedPruneInput {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ValidationError([{ path: '', message: 'expected an object' }], { source: 'pruneSnapsets' });
  const shape = checkShape(raw);
  if (shape.length > 0) throw new ValidationError(shape, { source: 'pruneSnapsets' });
  const r = pruneInputSchema().safeParse(raw);
  if (!r.success) throw new ValidationError(zodIssues(r.error), { source: 'pruneSnapsets' });
  const v = r.data;
  return {
    ...(v.stackName ? { stackName: v.stackName } : {}),
    ...(v.cloud ? { cloud: v.cloud } : {}),
    ...(v.keep !== undefined ? { keep: v.keep } : {}),
    maxAgeMs: v.maxAge,
    incompleteGraceMs: v.incompleteGrace,
    dryRun: v.dryRun,
    ...(v.snapIds ? { snapIds: v.snapIds } : {}),
  };
}

/** Result of `pruneSnapsets`. */
export interface PruneSnapsetsResult extends PrunePlan {
  /** Sets whose images are all gone now (empty on a dry run). */
  deleted: string[];
  /** Images that could not be deleted, with why. */
  /** What could not be deleted: an image (`imageId`) or a volume snapshot (`snapshotId`) of a set, with the cloud’s answer. */
  left: { snapId: string; imageId?: string; snapshotId?: string; reason: string }[];
  dryRun: boolean;
}
