/**
 * The reviveSnapset input, phases and result (DESIGN §5), and the rule deciding whether a set may be
 * revived. Pure: runs inside workflows and in the CLI.
 */
import { z } from 'zod';
import { ValidationError } from './errors.js';
import { checkShape, duration, findSecrets, inputSchemas, zodIssues } from './input.js';
import { SNAP_ID, type StoredSnapset } from './snapset/index.js';
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

/** Built per parse, not at import (see `inputSchemas`). */
export function reviveInputSchema() {
  const { stackNameField, cloudNameField, controllerSchema } = inputSchemas();
  return z.strictObject(
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
}

/** The validated, defaulted reviveSnapset input (durations in milliseconds). */
export type ReviveInput = z.output<ReturnType<typeof reviveInputSchema>>;
/** What callers send. */
export type ReviveInputArg = z.input<ReturnType<typeof reviveInputSchema>>;

/** Validates a reviveSnapset input; throws {@link ValidationError} naming every field at fault. */
export function parseReviveInput(raw: unknown): ReviveInput {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError([{ path: '', message: 'expected an object (JSON or YAML mapping)' }]);
  const shape = checkShape(raw);
  if (shape.length > 0) throw new ValidationError(shape);
  const secrets = findSecrets(raw);
  if (secrets.length > 0) throw new ValidationError(secrets);
  const result = reviveInputSchema().safeParse(raw);
  if (!result.success) throw new ValidationError(zodIssues(result.error));
  return result.data;
}

/** A set as reviveSnapset sees it: the model's reading of the store, keyed by instance name. */
export interface SetAssessment {
  snapId: string;
  /** The stack the images say they are of (property, or the capture's `snapset-<stack>` workflow ID); undefined when they do not say. */
  stackName?: string;
  /** When the set was made: the model's `createdAt` (its newest image). */
  createdAt: string;
  complete: boolean;
  /** Why it is not complete (empty when it is): the model's one list of problems. */
  problems: string[];
  images: Record<string, { imageId: string; imageName: string | null; role?: string; macAddress?: string; status: string }>;
}

/** The revive view of a stored set (a shape, not a rule: completeness and dates are the model's). */
export function setAssessment(set: StoredSnapset): SetAssessment {
  const images: SetAssessment['images'] = {};
  for (const i of set.images) {
    images[i.name] = {
      imageId: i.imageId,
      imageName: i.imageName,
      status: i.status,
      ...(i.role ? { role: i.role } : {}),
      ...(i.macAddress ? { macAddress: i.macAddress } : {}),
    };
  }
  return {
    snapId: set.snapId,
    ...(set.stackName ? { stackName: set.stackName } : {}),
    createdAt: set.createdAt,
    complete: set.complete,
    problems: set.problems,
    images,
  };
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
