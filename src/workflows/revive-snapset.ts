import { ApplicationFailure, CancellationScope, defineQuery, isCancellation, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { formatDuration } from '../shared/duration.js';
import { FailureTypes } from '../shared/errors.js';
import {
  describeAge,
  parseReviveInput,
  type ReviveCsrs,
  type ReviveInput,
  type RevivePhase,
  type ReviveProgress,
  type ReviveResult,
} from '../shared/revive.js';
import { SnapIdKey, StackNameKey, type SnapsetFailureInfo } from '../shared/workflow-api.js';
import { isoAt, workflowNow } from './clock.js';
import { acquireStackLock, changes, checks, failureInfo, releaseStackLock, RunTracker, validateInput, waits, type HeldStackLock } from './common.js';

/** The same query name as createSnapset's, so `snapset watch` and the Web UI read both alike. */
export const reviveProgressQuery = defineQuery<ReviveProgress>('progress');

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Brings a cluster redeployed from a SnapSet back into service (DESIGN §5): validate → take the
 * stack's lock → check the set (complete, younger than `maxAge`, this stack's; refused otherwise
 * unless `force`) → preflight the controller → the seed's sequence: stable 5 s → uncordon → stable
 * 60 s → stable 60 s → route API → approve the pending kubelet CSRs of our nodes (and nothing else)
 * → every node Ready and schedulable.
 */
export async function reviveSnapset(rawInput: unknown): Promise<ReviveResult> {
  const progress: ReviveProgress = { phase: 'validating', phasesRun: [], details: 'validating input', startedAt: isoAt(workflowNow()) };
  const run = new RunTracker<RevivePhase>(progress);
  setHandler(reviveProgressQuery, () => progress);

  const timings: ReviveResult['timings'] = {};
  let phaseStart = workflowNow();
  const enter = (phase: RevivePhase, details: string) => {
    const now = workflowNow();
    const prev = progress.phase;
    timings[prev] = (timings[prev] ?? 0) + Math.round((now - phaseStart) / 100) / 10;
    phaseStart = now;
    run.enter(phase, details);
  };

  const input: ReviveInput = validateInput(rawInput, run, (raw) => ({ input: parseReviveInput(raw) }));
  progress.stackName = input.stackName;
  upsertSearchAttributes([{ key: StackNameKey, value: input.stackName }]);
  const cloud = input.cloud ? { cloud: input.cloud } : {};
  const { controller } = input;
  const csrs: ReviveCsrs = { approved: [], ignored: [] };
  progress.csrs = csrs;
  let lock: HeldStackLock | undefined;

  try {
    lock = await acquireStackLock(input.stackName);

    enter('checking-set', input.snapId ? `reading set ${input.snapId} from Glance` : `finding the newest complete set of stack ${input.stackName}`);
    const found = await checks.findReviveSet({ ...cloud, stackName: input.stackName, ...(input.snapId ? { snapId: input.snapId } : {}) });
    if (!found.set) {
      const newest = found.seen[0];
      throw notRevivable(
        `stack ${input.stackName} has no complete SnapSet${newest ? `: newest set ${newest.snapId} (${newest.createdAt}) is incomplete: ${newest.problems.join('; ')}` : ' in the image store'}; nothing was changed`,
        { stackName: input.stackName, seen: found.seen },
      );
    }
    const set = found.set;
    const ageMs = workflowNow() - Date.parse(set.createdAt);
    const age = describeAge(ageMs);
    const reasons: string[] = [];
    if (!set.complete) reasons.push(`set ${set.snapId} is incomplete: ${set.problems.join('; ')}`);
    if (ageMs > input.maxAge)
      reasons.push(
        `set ${set.snapId} is ${age} old (created ${set.createdAt}), older than ${formatDuration(input.maxAge)}: its images are past their 30-day life`,
      );
    if (set.stackName && set.stackName !== input.stackName) reasons.push(`set ${set.snapId} is of stack ${set.stackName}, not ${input.stackName}`);
    progress.snapId = set.snapId;
    progress.set = { createdAt: set.createdAt, age, complete: set.complete, problems: set.problems };
    upsertSearchAttributes([{ key: SnapIdKey, value: set.snapId }]);
    if (reasons.length > 0 && !input.force) {
      throw notRevivable(`refused: ${reasons.join('; ')}; nothing was changed (force: true revives it anyway)`, {
        snapId: set.snapId,
        createdAt: set.createdAt,
        ageMs,
        reasons,
      });
    }
    if (reasons.length > 0) {
      progress.set.forced = reasons;
      for (const r of reasons) run.warn(`forced: ${r}`);
    }

    enter('preflight', `controller ${controller.user}@${controller.host}:${controller.port} over SSH and oc`);
    const pre = await checks.preflightController({ controller, instances: {}, checkCluster: true });
    const nodeNames = pre.nodes.map((n) => n.name);

    const stable = async (periodMs: number, which: string) => {
      enter(
        'waiting-stable',
        `${which}: waiting until no cluster operator has changed for ${formatDuration(periodMs)} (at once when they have been stable that long)`,
      );
      await waits(input.stableTimeout).waitClusterStable({
        controller,
        minimumStablePeriodSeconds: seconds(periodMs),
        timeoutSeconds: seconds(input.stableTimeout),
      });
    };
    await stable(input.initialStablePeriod, 'before uncordoning');

    enter('uncordoning', `uncordoning ${nodeNames.length} node(s)`);
    await lock.ensureHeld();
    const uncordoned = await changes.uncordonNodes({ controller });
    if (uncordoned.changed.length > 0) run.changed(`uncordoned ${uncordoned.changed.join(', ')}`);

    await stable(input.stablePeriod, 'after uncordoning (1 of 2)');
    await stable(input.stablePeriod, 'after uncordoning (2 of 2)');

    enter('waiting-route-api', 'waiting until oc api-versions lists route.openshift.io');
    await waits(input.routeApiTimeout).waitRouteApi({ controller, timeoutSeconds: seconds(input.routeApiTimeout) });

    enter('approving-csrs', `approving the pending kubelet CSRs of ${nodeNames.join(', ')}`);
    if (nodeNames.length > 0) {
      await lock.ensureHeld();
      const r = await changes.approveNodeCsrs({ controller, nodes: nodeNames });
      csrs.approved.push(...r.approved);
      csrs.ignored.push(...r.ignored);
      if (r.approved.length > 0) run.changed(`approved CSRs ${r.approved.map((c) => c.name).join(', ')}`);
      for (const i of r.ignored) run.warn(`CSR ${i.name} left pending: ${i.reason}`);
    }

    enter('waiting-nodes-ready', `waiting until every node is Ready (approving kubelet CSRs of our nodes that appear meanwhile)`);
    const ready = await waits(input.nodesReadyTimeout).waitNodesReady({ controller, timeoutSeconds: seconds(input.nodesReadyTimeout), approveCsrs: true });
    if (ready.approvedCsrs.length > 0) {
      csrs.approved.push(...ready.approvedCsrs);
      run.changed(`approved CSRs ${ready.approvedCsrs.map((c) => c.name).join(', ')}`);
    }
    let { nodes } = await checks.listNodes({ controller });
    const cordoned = nodes.filter((n) => n.unschedulable).map((n) => n.name);
    if (cordoned.length > 0) {
      // A node that joined after the uncordon (or was cordoned meanwhile) must be schedulable too.
      run.say(`uncordoning ${cordoned.join(', ')}, cordoned after the first uncordon`);
      const again = await changes.uncordonNodes({ controller, nodes: cordoned });
      if (again.changed.length > 0) run.changed(`uncordoned ${again.changed.join(', ')}`);
      nodes = (await checks.listNodes({ controller })).nodes;
    }

    enter(
      'completed',
      `stack ${input.stackName} revived from set ${set.snapId}: ${nodes.length} node(s) Ready and schedulable, ${csrs.approved.length} CSR(s) approved`,
    );
    const held = lock;
    lock = undefined;
    await releaseStackLock(held, run);
    return {
      stackName: input.stackName,
      snapId: set.snapId,
      set: {
        createdAt: set.createdAt,
        age,
        ageMs,
        complete: set.complete,
        problems: set.problems,
        images: set.images,
        ...(progress.set.forced ? { forced: progress.set.forced } : {}),
      },
      nodes: nodes.map((n) => ({ name: n.name, ready: n.ready, schedulable: !n.unschedulable })),
      csrs,
      timings,
      phasesRun: [...progress.phasesRun],
      ...(progress.warnings!.length > 0 ? { warnings: [...progress.warnings!] } : {}),
    };
  } catch (err) {
    const cancelled = isCancellation(err);
    const failure: SnapsetFailureInfo = cancelled ? { message: 'cancelled', type: 'CancelledFailure' } : failureInfo(err);
    await CancellationScope.nonCancellable(async () => {
      progress.failure = failure;
      const what = cancelled ? 'cancelled' : `failed: ${failure.message}`;
      enter(
        cancelled ? 'cancelled' : 'failed',
        run.untouched ? `${what}; nothing was changed` : `${what}; changed before it stopped: ${progress.changes!.join('; ')}`,
      );
      await releaseStackLock(lock, run);
    });
    if (cancelled) throw err;
    throw ApplicationFailure.create({
      type: failure.type,
      message: `${failure.message}${failure.hint ? ` — ${failure.hint}` : ''}`,
      nonRetryable: true,
      details: [failure],
      ...(err instanceof Error ? { cause: err } : {}),
    });
  }
}

function notRevivable(message: string, details: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureTypes.notRevivable, message, nonRetryable: true, details: [details] });
}
