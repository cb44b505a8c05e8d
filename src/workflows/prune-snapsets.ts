import { isCancellation, setHandler } from '@temporalio/workflow';
import { parsePruneInput, planPrune, type PruneSnapsetsResult } from '../shared/snapset/index.js';
import type { Phase } from '../shared/types.js';
import { progressQuery, type RunProgress } from '../shared/workflow-api.js';
import { isoAt, workflowNow } from './clock.js';
import { checks, failureInfo, persistent, RunTracker, step, validateInput } from './common.js';

/** The phases of a prune, a subset of createSnapset's (the same `SnapsetPhase` values). */
export type PrunePhase = Extract<Phase, 'validating' | 'pruning' | 'completed' | 'failed' | 'cancelled'>;

/** Deleting keeps trying through transient errors this long. */
const DELETE_BUDGET_MS = 30 * 60_000;

/**
 * Retention of SnapSets (DESIGN §5 pruneSnapsets): read the image store, plan with the pure rules of
 * src/shared/snapsets.ts (newest `keep` complete sets per stack stay, never the newest complete one,
 * never a set whose capture run is still open), then delete — or only report, on a dry run. Also
 * `snapset delete` (input `snapIds`). It takes no stack lock: it runs as a child of createSnapset,
 * which holds it, and it never touches a set whose run is open.
 */
export async function pruneSnapsets(rawInput: unknown): Promise<PruneSnapsetsResult> {
  const progress: RunProgress<PrunePhase> = { phase: 'validating', phasesRun: [], details: 'validating input', startedAt: isoAt(workflowNow()) };
  const run = new RunTracker<PrunePhase>(progress);
  // One `progress` query for every workflow of the project; prune reports the common part only.
  setHandler(progressQuery, () => progress);
  const input = validateInput(rawInput, run, (raw) => ({ input: parsePruneInput(raw) }));
  if (input.stackName) progress.stackName = input.stackName;
  const cloud = input.cloud ? { cloud: input.cloud } : {};
  const scope = input.snapIds
    ? `set(s) ${input.snapIds.join(', ')}`
    : `${input.stackName ? `stack ${input.stackName}` : 'every stack'}, keeping ${input.keep} complete set(s)`;

  try {
    run.enter('pruning', `reading the image store (${scope})`);
    const { sets } = await step(checks.listSnapsets, `read the image store (${scope})`, {
      ...cloud,
      ...(input.stackName ? { stackName: input.stackName } : {}),
    });
    const workflowIds = [...new Set(sets.flatMap((s) => (s.workflowId ? [s.workflowId] : [])))];
    const { open } =
      workflowIds.length > 0
        ? await step(checks.openCaptureRuns, `which of ${workflowIds.length} capture run(s) are still open`, { workflowIds })
        : { open: {} };
    const plan = planPrune(sets, {
      ...(input.keep !== undefined ? { keep: input.keep } : {}),
      maxAgeMs: input.maxAgeMs,
      incompleteGraceMs: input.incompleteGraceMs,
      ...(input.stackName ? { stackName: input.stackName } : {}),
      ...(input.snapIds ? { snapIds: input.snapIds } : {}),
      now: workflowNow(),
      openRuns: open,
    });
    if (input.dryRun || plan.delete.length === 0) {
      run.enter(
        'completed',
        `${input.dryRun ? 'dry run: would delete' : 'nothing to delete:'} ${plan.delete.length > 0 ? plan.delete.join(', ') : 'no set'}; keeping ${plan.keep.length}`,
      );
      return { ...plan, deleted: [], left: [], dryRun: input.dryRun };
    }
    const byId = new Map(sets.map((s) => [s.snapId, s]));
    run.say(`deleting ${plan.delete.length} set(s): ${plan.delete.join(', ')}`);
    run.changed(`deleting sets ${plan.delete.join(', ')}`);
    const done = await step(persistent(DELETE_BUDGET_MS).deleteSnapsets, `delete ${plan.delete.length} set(s): ${plan.delete.join(', ')}`, {
      ...cloud,
      sets: Object.fromEntries(plan.delete.map((id) => [id, byId.get(id)?.images.map((i) => i.imageId) ?? []])),
      // Sets listed before volumes were captured have no `volumeSnapshots`.
      ...(plan.delete.some((id) => byId.get(id)?.volumeSnapshots?.length)
        ? { snapshots: Object.fromEntries(plan.delete.map((id) => [id, byId.get(id)?.volumeSnapshots?.map((v) => v.snapshotId) ?? []])) }
        : {}),
    });
    const left =
      done.left.length > 0
        ? `; NOT deleted: ${done.left.map((l) => `${l.imageId ?? `volume snapshot ${l.snapshotId}`} of ${l.snapId} (${l.reason})`).join(', ')}`
        : '';
    run.enter(
      'completed',
      `deleted ${done.deleted.length} set(s)${done.deleted.length > 0 ? `: ${done.deleted.join(', ')}` : ''}; kept ${plan.keep.length}${left}`,
    );
    return { ...plan, deleted: done.deleted, left: done.left, dryRun: false };
  } catch (err) {
    const cancelled = isCancellation(err);
    progress.failure = cancelled ? { message: 'cancelled', type: 'CancelledFailure' } : failureInfo(err);
    run.enter(
      cancelled ? 'cancelled' : 'failed',
      `${cancelled ? 'cancelled' : `failed: ${progress.failure.message}`}${run.untouched ? '; nothing was deleted' : '; some sets may be partly deleted (run again: deleting is idempotent)'}`,
    );
    throw err;
  }
}
