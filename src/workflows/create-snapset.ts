import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { durationMs, formatDuration } from '../shared/duration.js';
import { ValidationError } from '../shared/errors.js';
import { parseSnapsetInput, type SnapsetInput } from '../shared/input.js';
import { PHASES, type Phase } from '../shared/types.js';
import {
  progressQuery,
  skipCertWaitUpdate,
  SnapsetPhaseKey,
  StackNameKey,
  type CertWaitStatus,
  type SnapsetProgress,
  type SnapsetResult,
} from '../shared/workflow-api.js';
import { isoAt, workflowNow } from './clock.js';

/** Short calls over SSH to the controller (one `oc` command). */
const clusterCalls = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

/** The phases this build runs; the rest of DESIGN §5 arrives with the OpenStack and cluster parts. */
const IMPLEMENTED: readonly Phase[] = ['validating', 'waiting-cert-rotation', 'completed'];

/** Minimum length of a skipCertWait reason: an audit trail, not a checkbox. */
const MIN_REASON = 10;

/**
 * Builds a SnapSet of a Hotstack deployment (DESIGN §5). Today: validation and the durable
 * certificate-rotation wait; the result lists which phases ran.
 */
export async function createSnapset(rawInput: unknown): Promise<SnapsetResult> {
  const progress: SnapsetProgress = { phase: 'validating', phasesRun: [], details: 'validating input' };
  let certWaitEnded = false;

  setHandler(progressQuery, () => progress);
  setHandler(
    skipCertWaitUpdate,
    (request) => {
      certWaitEnded = true;
      const wait = progress.certWait!;
      wait.skipped = { reason: request.reason.trim(), at: isoAt(workflowNow()) };
      log.info('certificate-rotation wait skipped by operator', { reason: wait.skipped.reason });
      return { skipped: true as const, wakeAt: wait.wakeAt };
    },
    {
      validator: (request) => {
        const reason = typeof request?.reason === 'string' ? request.reason.trim() : '';
        if (reason.length < MIN_REASON) {
          throw new Error(`reason: required, at least ${MIN_REASON} characters saying why shutting down early is safe`);
        }
        if (progress.phase !== 'waiting-cert-rotation' || !progress.certWait || certWaitEnded) {
          throw new Error(`not waiting for certificate rotation (phase: ${progress.phase})`);
        }
      },
    },
  );

  const enter = (phase: Phase, details: string) => {
    progress.phase = phase;
    if (!progress.phasesRun.includes(phase)) progress.phasesRun.push(phase);
    progress.details = details;
    upsertSearchAttributes([{ key: SnapsetPhaseKey, value: phase }]);
    setCurrentDetails(`**${phase}** — ${details}`);
  };

  try {
    enter('validating', 'validating input');
    const input = validate(rawInput);
    progress.stackName = input.stackName;
    upsertSearchAttributes([{ key: StackNameKey, value: input.stackName }]);

    if (input.prepare.enabled) {
      const wait = await certRotationWait(input, progress, enter, () => certWaitEnded);
      certWaitEnded = true;
      wait.endedAt = isoAt(workflowNow());
    }

    enter('completed', 'done: the capture phases are not part of this build yet');
    return {
      stackName: input.stackName,
      ...(input.cloud ? { cloud: input.cloud } : {}),
      phasesRun: [...progress.phasesRun],
      phasesNotRun: PHASES.filter((p) => !IMPLEMENTED.includes(p) && !['cleaning-up', 'failed', 'cancelled'].includes(p)),
      ...(progress.certWait ? { certWait: progress.certWait } : {}),
      completedAt: isoAt(workflowNow()),
    };
  } catch (err) {
    if (isCancellation(err)) {
      // Nothing outside was touched before the capture phases: just record the outcome.
      await CancellationScope.nonCancellable(async () => enter('cancelled', 'cancelled; nothing was changed'));
    } else {
      enter('failed', err instanceof Error ? err.message : String(err));
    }
    throw err;
  }
}

function validate(rawInput: unknown): SnapsetInput {
  try {
    return parseSnapsetInput(rawInput);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw ApplicationFailure.create({ type: 'ValidationError', message: err.message, nonRetryable: true, details: [err.details()] });
    }
    throw err;
  }
}

/**
 * DESIGN §1/§5 step 2: OpenShift's kubelet bootstrap certificate is valid 24 h; shutting the cluster
 * down before its first rotation leaves it unable to rejoin. A durable timer (not a process sleep)
 * waits until clusterCreatedAt + certRotationWait, unless the cluster is already old enough or an
 * operator skips it.
 */
async function certRotationWait(
  input: SnapsetInput,
  progress: SnapsetProgress,
  enter: (phase: Phase, details: string) => void,
  ended: () => boolean,
): Promise<CertWaitStatus> {
  enter('waiting-cert-rotation', 'finding when the cluster was installed');
  let clusterCreatedAt = input.prepare.clusterCreatedAt;
  let source: CertWaitStatus['clusterCreatedAtSource'] = 'input';
  if (!clusterCreatedAt) {
    clusterCreatedAt = (await clusterCalls.getClusterCreationTime({ controller: input.controller })).createdAt;
    source = 'cluster';
  }
  const waitMs = durationMs(input.prepare.certRotationWait);
  const wakeAtMs = Date.parse(clusterCreatedAt) + waitMs;
  const remaining = wakeAtMs - workflowNow();
  const status: CertWaitStatus = {
    clusterCreatedAt: isoAt(Date.parse(clusterCreatedAt)),
    clusterCreatedAtSource: source,
    wakeAt: isoAt(wakeAtMs),
    alreadyOldEnough: remaining <= 0,
  };
  progress.certWait = status;
  if (remaining > 0) {
    enter(
      'waiting-cert-rotation',
      `waiting ${formatDuration(remaining)} until ${status.wakeAt} (cluster installed ${status.clusterCreatedAt} + ${input.prepare.certRotationWait}) for the kubelet certificate rotation; Update skipCertWait ends it early`,
    );
    await condition(ended, remaining);
  } else {
    enter('waiting-cert-rotation', `no wait: the cluster was installed at ${status.clusterCreatedAt}, more than ${input.prepare.certRotationWait} ago`);
  }
  return status;
}
