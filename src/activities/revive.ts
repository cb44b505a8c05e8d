/**
 * What reviveSnapset reads from Glance: one set by snap_id, or the newest complete set of a stack.
 * Read-only; the workflow decides (complete? young enough? forced?).
 */
import type { Image, OpenStackClient } from '../openstack/index.js';
import { assessSet, imageStack, type SetAssessment } from '../shared/revive.js';
import { COMPLETE_TAG, SNAP_ID, SNAP_ID_PROPERTY, SNAPSET_TAG } from '../shared/snapset.js';
import { snapIdOf } from '../shared/snapsets.js';
import { ValidationError } from '../shared/errors.js';
import { activityCtx } from './context.js';
import type { CloudInput, OpenstackActivityDeps } from './openstack.js';

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

/** Every image of one set: by the property set at createImage, and by the seed's tag (images made before the property existed). */
async function readSet(c: OpenStackClient, snapId: string, signal?: AbortSignal): Promise<Image[]> {
  const [byProperty, byTag] = await Promise.all([
    c.image.listAllImages({ properties: { [SNAP_ID_PROPERTY]: snapId } }, { signal }),
    c.image.listAllImages({ tags: [`snap_id=${snapId}`] }, { signal }),
  ]);
  const all = new Map([...byProperty, ...byTag].map((i) => [i.id, i]));
  return [...all.values()];
}

export function createReviveActivities(deps: OpenstackActivityDeps) {
  return {
    /** The set reviveSnapset is asked about, assessed (complete, created, stack), or the newest complete set of the stack. */
    async findReviveSet(input: FindReviveSetInput): Promise<FindReviveSetResult> {
      if (input.snapId !== undefined && (typeof input.snapId !== 'string' || !SNAP_ID.test(input.snapId))) {
        throw new ValidationError([{ path: 'snapId', message: 'expected a snap_id: 8 characters of URL-safe base64' }], { source: 'findReviveSet' });
      }
      const { signal } = activityCtx();
      const c = await deps.openstack.client(input.cloud);
      if (input.snapId) {
        const set = assessSet(input.snapId, await readSet(c, input.snapId, signal));
        return { set, seen: [{ snapId: set.snapId, createdAt: set.createdAt, complete: set.complete, problems: set.problems }] };
      }
      // Sets of the stack, newest first; ties on Glance's whole-second created_at broken by snap_id.
      const marked = await c.image.listAllImages({ tags: [SNAPSET_TAG] }, { signal });
      const created = new Map<string, string>();
      for (const img of marked) {
        const id = snapIdOf(img);
        if (!id || imageStack(img.properties) !== input.stackName) continue;
        const at = created.get(id);
        if (at === undefined || img.created_at < at) created.set(id, img.created_at);
      }
      const order = [...created].sort(([a, ta], [b, tb]) => (ta === tb ? b.localeCompare(a) : tb.localeCompare(ta)));
      const seen: FindReviveSetResult['seen'] = [];
      for (const [snapId] of order) {
        const images = marked.filter((i) => snapIdOf(i) === snapId);
        // Only sets that look complete from the list are read whole (a killed image may have no tags at all).
        if (!images.every((i) => i.tags.includes(COMPLETE_TAG))) {
          if (seen.length < 10) seen.push({ snapId, createdAt: created.get(snapId)!, complete: false, problems: ['no completion marker'] });
          continue;
        }
        const set = assessSet(snapId, await readSet(c, snapId, signal));
        if (seen.length < 10) seen.push({ snapId, createdAt: set.createdAt, complete: set.complete, problems: set.problems });
        if (set.complete) return { set, seen };
      }
      return { seen };
    },
  };
}
