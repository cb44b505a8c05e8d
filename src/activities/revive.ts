/**
 * What reviveSnapset reads from Glance: one set by snap_id, or the newest complete set of a stack —
 * read by the store and judged by the model, exactly as `snapset latest` does. Read-only; the
 * workflow decides (complete? young enough? forced?).
 */
import { readSet, readSnapsets } from '../openstack/snapset-store.js';
import { ValidationError } from '../shared/errors.js';
import { setAssessment, type SetAssessment } from '../shared/revive.js';
import { newestComplete, SNAP_ID } from '../shared/snapset/index.js';
import { activityCtx } from './context.js';
import type { CloudInput, OpenstackActivityDeps } from './types.js';

export interface FindReviveSetInput extends CloudInput {
  stackName: string;
  /** The set to read. @default the newest complete set of the stack */
  snapId?: string;
}

export interface FindReviveSetResult {
  /** Absent: the stack has no complete set (and no snapId was given). */
  set?: SetAssessment;
  /** Every set of the stack seen, newest first (at most 10), for the refusal message. */
  seen: { snapId: string; createdAt: string; complete: boolean; problems: string[] }[];
}

/** Sets named in a refusal: enough to see what went wrong, small enough for a workflow history. */
const SEEN_LIMIT = 10;

export function createReviveActivities(deps: OpenstackActivityDeps) {
  return {
    /** The set reviveSnapset is asked about, or the newest complete set of the stack (the model's order, as `snapset latest`). */
    async findReviveSet(input: FindReviveSetInput): Promise<FindReviveSetResult> {
      if (input.snapId !== undefined && (typeof input.snapId !== 'string' || !SNAP_ID.test(input.snapId))) {
        throw new ValidationError([{ path: 'snapId', message: 'expected a snap_id: 8 characters of URL-safe base64' }], { source: 'findReviveSet' });
      }
      const { signal } = activityCtx();
      const c = await deps.openstack.client(input.cloud);
      if (input.snapId) {
        const set = setAssessment(await readSet(c, input.snapId, { signal }));
        return { set, seen: [{ snapId: set.snapId, createdAt: set.createdAt, complete: set.complete, problems: set.problems }] };
      }
      const sets = await readSnapsets(c, { stackName: input.stackName, signal });
      const seen = sets.slice(0, SEEN_LIMIT).map((s) => ({ snapId: s.snapId, createdAt: s.createdAt, complete: s.complete, problems: s.problems }));
      const chosen = newestComplete(sets);
      return chosen ? { set: setAssessment(chosen), seen } : { seen };
    },
  };
}
