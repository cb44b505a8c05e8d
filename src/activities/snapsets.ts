/**
 * Activities of `pruneSnapsets`: read the image store as SnapSets, ask Temporal which capture runs
 * are still open, delete sets. Thin adapters over src/openstack/snapset-store.ts.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { deleteSnapsetImages, readSnapsets, type LeftBehind } from '../openstack/snapset-store.js';
import { ValidationError } from '../shared/errors.js';
import { SNAP_ID } from '../shared/snapset/index.js';
import type { StoredSnapset } from '../shared/snapset/index.js';
import { activityCtx } from './context.js';
import type { CloudInput, OpenstackActivityDeps } from './types.js';

export interface ListSnapsetsInput extends CloudInput {
  stackName?: string;
}

export interface DeleteSnapsetsInput extends CloudInput {
  /** snapId → the image IDs the plan saw (each set is listed again, so images made since are deleted too). */
  sets: Record<string, string[]>;
  /** snapId → the volume snapshot IDs the plan saw (found again by metadata anyway). */
  snapshots?: Record<string, string[]>;
}

export interface DeleteSnapsetsResult {
  /** Sets with no image and no volume snapshot left. */
  deleted: string[];
  /** Volume snapshots deleted (or already gone), all sets together. */
  deletedSnapshots?: number;
  left: (LeftBehind & { snapId: string })[];
}

export function createSnapsetStoreActivities(deps: OpenstackActivityDeps) {
  return {
    /** Every SnapSet in the store (of a stack), newest first. */
    async listSnapsets(input: ListSnapsetsInput): Promise<{ sets: StoredSnapset[] }> {
      const c = await deps.openstack.client(input?.cloud);
      return { sets: await readSnapsets(c, { ...(input?.stackName ? { stackName: input.stackName } : {}), signal: activityCtx().signal }) };
    },

    /**
     * Which of these workflow IDs has a run still open, and since when (ms). Sets carry only the
     * workflow ID, and the CLI re-uses `snapset-<stack>` for every run of a stack, so the start time
     * is what tells the open run's own set from older sets made under the same ID.
     */
    async openCaptureRuns(input: { workflowIds: string[] }): Promise<{ open: Record<string, number> }> {
      const { client } = Context.current();
      const open: Record<string, number> = {};
      for (const id of [...new Set(input?.workflowIds ?? [])]) {
        try {
          const d = await client.workflow.getHandle(id).describe();
          if (d.status.name === 'RUNNING') open[id] = d.startTime.getTime();
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
      return { open };
    },

    /** Deletes every image and volume snapshot of each set; idempotent (404 = gone), heartbeats per image, honours cancellation. */
    async deleteSnapsets(input: DeleteSnapsetsInput): Promise<DeleteSnapsetsResult> {
      const sets = input?.sets ?? {};
      const bad = Object.keys(sets).filter((s) => !SNAP_ID.test(s));
      if (bad.length > 0)
        throw new ValidationError(
          bad.map((s) => ({ path: `sets.${s}`, message: 'not a snap_id' })),
          { source: 'deleteSnapsets' },
        );
      const ctx = activityCtx();
      const c = await deps.openstack.client(input.cloud);
      const result: DeleteSnapsetsResult = { deleted: [], deletedSnapshots: 0, left: [] };
      let images = 0;
      for (const [snapId, known] of Object.entries(sets)) {
        const r = await deleteSnapsetImages(c, snapId, {
          knownImageIds: known,
          knownSnapshotIds: input.snapshots?.[snapId] ?? [],
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          onDeleted: () => ctx.heartbeat({ snapId, images: ++images }),
        });
        result.deletedSnapshots! += r.deletedSnapshots.length;
        if (r.left.length === 0) result.deleted.push(snapId);
        result.left.push(...r.left.map((l) => ({ snapId, ...l })));
        ctx.heartbeat({ sets: result.deleted.length, of: Object.keys(sets).length });
      }
      return result;
    },
  };
}
