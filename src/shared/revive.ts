/**
 * The reviveSnapset input, phases and result (DESIGN §5), and the rule deciding whether a set may be
 * revived. Pure: runs inside workflows and in the CLI.
 */
import { z } from 'zod';
import { ValidationError } from './errors.js';
import { checkShape, cloudNameField, controllerSchema, duration, findSecrets, stackNameField, zodIssues } from './input.js';
import { COMPLETE_TAG, SNAP_ID } from './snapset.js';
import { stackNameOf, type StoreImage } from './snapsets.js';
import type { RunProgress } from './workflow-api.js';

/** A set older than this is refused unless `force` (the seed's limit: its images expire then). */
export const MAX_SET_AGE = '30d';

export const REVIVE_PHASES = [
  'validating',
  'checking-set',
  'preflight',
  'waiting-stable',
  'uncordoning',
  'waiting-route-api',
  'approving-csrs',
  'waiting-nodes-ready',
  'completed',
  'failed',
  'cancelled',
] as const;
export type RevivePhase = (typeof REVIVE_PHASES)[number];

function required(what: string) {
  return { error: (iss: { input: unknown }) => (iss.input === undefined ? `required (${what})` : `expected ${what}`) };
}

export const reviveInputSchema = z.strictObject(
  {
    stackName: stackNameField,
    cloud: cloudNameField.optional(),
    controller: controllerSchema,
    /** The set the stack was redeployed from. @default the newest complete set of the stack */
    snapId: z.string(required('a snap_id')).regex(SNAP_ID, 'expected a snap_id: 8 characters of URL-safe base64').optional(),
    /** Revive even a set that is incomplete, expired or another stack's. */
    force: z.boolean(required('true or false')).default(false),
    maxAge: duration(MAX_SET_AGE),
    /** The seed's first wait: stable for 5 s before the nodes are uncordoned. */
    initialStablePeriod: duration('5s'),
    /** The seed's two later waits. */
    stablePeriod: duration('60s'),
    stableTimeout: duration('20m'),
    routeApiTimeout: duration('20m'),
    nodesReadyTimeout: duration('30m'),
  },
  required('an object'),
);

/** The validated, defaulted reviveSnapset input (durations in milliseconds). */
export type ReviveInput = z.output<typeof reviveInputSchema>;
/** What callers send. */
export type ReviveInputArg = z.input<typeof reviveInputSchema>;

/** Validates a reviveSnapset input; throws {@link ValidationError} naming every field at fault. */
export function parseReviveInput(raw: unknown): ReviveInput {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError([{ path: '', message: 'expected an object (JSON or YAML mapping)' }]);
  const shape = checkShape(raw);
  if (shape.length > 0) throw new ValidationError(shape);
  const secrets = findSecrets(raw);
  if (secrets.length > 0) throw new ValidationError(secrets);
  const result = reviveInputSchema.safeParse(raw);
  if (!result.success) throw new ValidationError(zodIssues(result.error));
  return result.data;
}

/** One image of a set as Glance lists it: the store's shape. */
export type ListedSetImage = StoreImage;

export interface SetAssessment {
  snapId: string;
  /** The stack the images say they are of (property, or the CLI's `snapset-<stack>` workflow ID); undefined when they do not say. */
  stackName?: string;
  /** The oldest image's `created_at`: when the capture made the set. */
  createdAt: string;
  complete: boolean;
  /** Why it is not complete (empty when it is). */
  problems: string[];
  images: Record<string, { imageId: string; imageName: string | null; role?: string; macAddress?: string; status: string }>;
}

const TAG_VALUE = (tags: readonly string[], key: string) => tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);

/** The stack of an image: `hotstack_stack_name`, else `snapset-<stack>` from the capture's workflow ID (older images) — the store's rule. */
export function imageStack(properties: Record<string, unknown>): string | undefined {
  return stackNameOf([{ properties }]) ?? undefined;
}

/**
 * A set is complete when every image is `active`, carries the six seed tags and the completion
 * marker, and there are as many images as the capture said (`hotstack_set_size`).
 */
export function assessSet(snapId: string, images: readonly ListedSetImage[]): SetAssessment {
  const problems: string[] = [];
  const out: SetAssessment['images'] = {};
  const suffix = `-snapshot-${snapId}`;
  if (images.length === 0) problems.push('no image of this set exists');
  const sizes = new Set(images.map((i) => i.properties.hotstack_set_size).filter((s): s is string => typeof s === 'string'));
  for (const size of sizes) if (Number(size) !== images.length) problems.push(`the capture made ${size} image(s), ${images.length} exist`);
  for (const img of [...images].sort((a, b) => a.id.localeCompare(b.id))) {
    // A killed image may have no tags at all: its name still says which instance it was.
    const fromName = img.name?.startsWith('hotstack-') && img.name.endsWith(suffix) ? img.name.slice('hotstack-'.length, -suffix.length) : undefined;
    const name = TAG_VALUE(img.tags, 'name') ?? fromName ?? img.name ?? img.id;
    const role = TAG_VALUE(img.tags, 'role');
    const mac = TAG_VALUE(img.tags, 'mac_address');
    out[name] = { imageId: img.id, imageName: img.name, status: img.status, ...(role ? { role } : {}), ...(mac ? { macAddress: mac } : {}) };
    if (img.status.toLowerCase() !== 'active') {
      problems.push(`${name}: image ${img.id} is ${img.status}`);
      continue;
    }
    const missing = ['hotstack', 'hotstack-snapset', `snap_id=${snapId}`].filter((t) => !img.tags.includes(t));
    for (const key of ['name', 'role', 'mac_address']) if (TAG_VALUE(img.tags, key) === undefined) missing.push(`${key}=…`);
    if (!img.tags.includes(COMPLETE_TAG)) missing.push(COMPLETE_TAG);
    if (missing.length > 0) problems.push(`${name}: tags missing: ${missing.join(', ')}`);
  }
  const stacks = [...new Set(images.map((i) => imageStack(i.properties)).filter((s): s is string => s !== undefined))];
  if (stacks.length > 1) problems.push(`images of several stacks: ${stacks.join(', ')}`);
  // Glance's created_at has whole seconds in one format, so the text order is the time order.
  const createdAt = images.map((i) => i.created_at).sort()[0] ?? '';
  return { snapId, ...(stacks.length === 1 ? { stackName: stacks[0] } : {}), createdAt, complete: problems.length === 0, problems, images: out };
}

/** `3d 4h`, `5h 12m`, `40s`: an age as people read it. */
export function describeAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

export interface ReviveCsrs {
  approved: { name: string; node: string; kind: string }[];
  /** Pending CSRs left alone, with why (not a kubelet CSR of our nodes). */
  ignored: { name: string; reason: string }[];
}

export interface ReviveProgress extends RunProgress<RevivePhase> {
  snapId?: string;
  set?: { createdAt: string; age: string; complete: boolean; problems: string[]; forced?: string[] };
  csrs?: ReviveCsrs;
}

/** Result of reviveSnapset. */
export interface ReviveResult {
  stackName: string;
  snapId: string;
  set: { createdAt: string; age: string; ageMs: number; complete: boolean; problems: string[]; images: SetAssessment['images']; forced?: string[] };
  nodes: { name: string; ready: boolean; schedulable: boolean }[];
  csrs: ReviveCsrs;
  /** Seconds spent in each phase. */
  timings: Partial<Record<RevivePhase, number>>;
  phasesRun: RevivePhase[];
  warnings?: string[];
}
