import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  isCancellation,
  log,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { formatDuration } from '../shared/duration.js';
import { FailureTypes } from '../shared/errors.js';
import { describeStatuses } from '../shared/failures.js';
import { parseSnapsetInputWithNotes, type SnapsetInput } from '../shared/input.js';
import {
  ansibleResult,
  imageName,
  seedTags,
  SNAP_ID_PROPERTY,
  snapIdFromUuid,
  snapIdFromUuidNoDash,
  snapsetImageProperties,
  stackParameters,
} from '../shared/snapset/index.js';
import type { PruneSnapsetsResult } from '../shared/snapset/index.js';
import type { Phase } from '../shared/types.js';
import {
  progressQuery,
  skipCertWaitUpdate,
  SnapIdKey,
  StackNameKey,
  type CertWaitStatus,
  type ImageRetry,
  type RetentionOutcome,
  type SnapsetFailureInfo,
  type SnapsetImage,
  type SnapsetProgress,
  type SnapsetResult,
} from '../shared/workflow-api.js';
import { isoAt, workflowNow } from './clock.js';
import type { CaptureImagesInput, CaptureImagesResult } from '../activities/snapset-images.js';
import {
  acquireStackLock,
  changes,
  checks,
  failureInfo,
  PATCHES,
  persistent,
  releaseStackLock,
  RunTracker,
  step,
  validateInput,
  waits,
  type HeldStackLock,
} from './common.js';
import { runPreflight } from './preflight.js';

/** Minimum length of a skipCertWait reason: an audit trail, not a checkbox. */
const MIN_REASON = 10;
/** Cleanup keeps trying this long (transient errors) before it reports what it could not delete. */
const CLEANUP_BUDGET_MS = 30 * 60_000;
/** `oc debug` shutdowns at once (channels of one SSH connection; the activity allows up to 8). */
const NODE_SHUTDOWN_PARALLEL = 4;
/** The wait before a failed image is taken again doubles from capture.imageRetryDelay up to this. */
const MAX_IMAGE_RETRY_DELAY_MS = 5 * 60_000;
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Builds a SnapSet of a Hotstack deployment (DESIGN §5): validate → take the stack's lock → preflight
 * (nothing changed yet) → wait for the kubelet certificate rotation → preflight again → cordon and
 * shut down the nodes → shut down the controller → wait SHUTOFF → capture every image → tag → verify
 * and mark complete. A failure or cancellation after the set exists deletes every image of it (unless
 * `capture.onFailure: keep`) and reports the VMs' real states, read from Nova.
 */
export async function createSnapset(rawInput: unknown): Promise<SnapsetResult> {
  const progress: SnapsetProgress = { phase: 'validating', phasesRun: [], details: 'validating input', startedAt: isoAt(workflowNow()) };
  const run = new RunTracker<Phase>(progress);
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

  const input: SnapsetInput = validateInput(rawInput, run, parseSnapsetInputWithNotes);
  progress.stackName = input.stackName;
  upsertSearchAttributes([{ key: StackNameKey, value: input.stackName }]);

  const cloud = input.cloud ? { cloud: input.cloud } : {};
  const controller = input.controller;
  const instances = input.snapsetData.instances;
  const names = Object.keys(instances);
  const uuidOf = Object.fromEntries(names.map((n) => [n, instances[n]!.uuid]));
  const nameOfUuid = Object.fromEntries(names.map((n) => [instances[n]!.uuid, n]));
  const uuids = names.map((n) => uuidOf[n]!);

  let lock: HeldStackLock | undefined;
  let snapId: string | undefined;
  /** Set once verifySnapset marked the set complete: from then on nothing destroys it (DESIGN §5 step 8). */
  let verified = false;
  let retention: RetentionOutcome | undefined;
  const images: Record<string, SnapsetImage> = {};
  /** Takes the lock again if it ended under this run (a Reset), before anything is changed. */
  const beforeChange = () => lock?.ensureHeld() ?? Promise.resolve();
  const result = (): SnapsetResult => ({
    snapId: snapId!,
    stackName: input.stackName,
    ...(input.cloud ? { cloud: input.cloud } : {}),
    createdAt: isoAt(workflowNow()),
    images,
    stackParameters: stackParameters(images),
    ansible: ansibleResult(snapId!, images),
    phasesRun: [...progress.phasesRun],
    ...(progress.warnings!.length > 0 ? { warnings: [...progress.warnings!] } : {}),
    ...(retention ? { retention } : {}),
    ...(progress.certWait ? { certWait: progress.certWait } : {}),
    ...(progress.imageRetries?.length ? { imageRetries: [...progress.imageRetries] } : {}),
  });

  try {
    lock = await acquireStackLock(input.stackName);
    let checked = await runPreflight(input, run, 'checking before anything is changed');

    if (input.prepare.enabled && !checked.labShutoff) {
      const wait = await certRotationWait(input, progress, run, () => certWaitEnded);
      certWaitEnded = true;
      wait.endedAt = isoAt(workflowNow());
      if (!wait.alreadyOldEnough) checked = await runPreflight(input, run, 'checking again after the certificate wait');
    }
    if (input.prepare.enabled && !checked.labShutoff) {
      await beforeChange();

      // DESIGN §2 Prepare: uncordon → stable → cordon → shut down every node from inside.
      run.enter('preparing-cluster', 'uncordoning all nodes');
      const uncordoned = await step(changes.uncordonNodes, 'uncordon all nodes', { controller });
      if (uncordoned.changed.length > 0) run.changed(`uncordoned ${uncordoned.changed.join(', ')}`);
      run.say(`waiting until no cluster operator has changed for ${formatDuration(input.prepare.stablePeriod)} (at once when they have been stable that long)`);
      await step(waits(input.prepare.stableTimeout).waitClusterStable, `wait stable cluster (${formatDuration(input.prepare.stablePeriod)})`, {
        controller,
        minimumStablePeriodSeconds: seconds(input.prepare.stablePeriod),
        timeoutSeconds: seconds(input.prepare.stableTimeout),
      });
      run.say('cordoning all nodes');
      const cordoned = await step(changes.cordonNodes, 'cordon all nodes', { controller });
      if (cordoned.changed.length > 0) run.changed(`cordoned ${cordoned.changed.join(', ')}`);
      const { nodes } = await step(changes.listNodes, 'list nodes', { controller });
      run.say(`shutting down ${nodes.length} node(s) from inside`);
      if (nodes.length > 0) {
        run.changed(`shutting down nodes ${nodes.map((n) => n.name).join(', ')}`);
        // A retry after every master went down finds the API gone: that is the state we want; the SHUTOFF wait proves it.
        await step(waits(600_000).shutdownNodes, `shut down ${nodes.length} node(s) from inside`, {
          controller,
          nodes: nodes.map((n) => n.name),
          maxParallel: NODE_SHUTDOWN_PARALLEL,
          assumeDownIfApiUnavailable: true,
        });
      }
    }

    if (checked.controllerShutoff) {
      run.enter('shutting-down', `the controller ${controller.name} is already SHUTOFF`);
    } else {
      await beforeChange();
      run.enter('shutting-down', `shutting down the controller ${controller.name}`);
      run.changed(`controller ${controller.name} shutdown sent`);
      // A retry after the host went away finds it unreachable: that is the state we want, and the
      // SHUTOFF check below is what proves it.
      await step(changes.shutdownController, `shut down controller ${controller.name}`, { controller, acceptUnreachable: true });
    }

    run.enter('waiting-shutoff', `waiting until Nova reports all ${uuids.length} servers SHUTOFF`);
    await beforeChange();
    await waitShutoff(input, uuids, nameOfUuid, cloud, run);

    // snap_id: 6 random bytes from the workflow's seeded random source (same value on replay); new
    // runs never start one with '-' (a shell reads `snapset show -19Wif3X` as an option).
    const random = uuid4();
    snapId = patched(PATCHES.snapIdNoDash) ? snapIdFromUuidNoDash(random) : snapIdFromUuid(random);
    progress.snapId = snapId;
    upsertSearchAttributes([{ key: SnapIdKey, value: snapId }]);
    const setId = snapId;
    progress.images = Object.fromEntries(names.map((n) => [n, { state: 'pending' }]));

    run.enter(
      'creating-images',
      `creating ${names.length} images of set ${snapId}${input.capture.maxParallelImages ? `, at most ${input.capture.maxParallelImages} at once` : ''}`,
    );
    // A reset to the capture: the stack is held again before any image is made (the order recorded in
    // test/fixtures/histories/create-snapset-reset.json: after the phase upserts, before the capture).
    await beforeChange();
    run.changed(`images of set ${snapId} created`);
    const captureInput: CaptureImagesInput = {
      ...cloud,
      snapId,
      properties: snapsetImageProperties({ snapId, stackName: input.stackName, workflowId: workflowInfo().workflowId, setSize: names.length }),
      instances: Object.fromEntries(names.map((n) => [n, { uuid: uuidOf[n]!, imageName: imageName(n, setId) }])),
      ...(input.capture.maxParallelImages ? { maxParallel: input.capture.maxParallelImages } : {}),
      timeoutSeconds: seconds(input.capture.imageTimeout),
      maxPollSeconds: input.capture.imagePollInterval / 1000,
    };
    const captureStep = persistent(input.capture.imageTimeout + 120_000, input.capture.imageTimeout + 120_000).captureImages;
    const captured = patched(PATCHES.imageRetries)
      ? await captureWithRetries(input, captureInput, uuidOf, progress, run, beforeChange)
      : await step(captureStep, `create ${names.length} images of set ${snapId}`, captureInput);
    for (const n of names) {
      const img = captured.images[n]!;
      images[n] = { imageId: img.imageId, imageName: img.imageName, uuid: uuidOf[n]!, role: instances[n]!.role, macAddress: instances[n]!.mac_address };
      progress.images[n] = { state: 'active', imageId: img.imageId };
    }

    // Idempotent from here on: transient errors are retried for as long as the capture timeout allows.
    const afterCapture = persistent(input.capture.imageTimeout);
    const expected = Object.fromEntries(names.map((n) => [n, { imageId: images[n]!.imageId, tags: seedTags(n, instances[n]!, setId) }]));
    run.enter('tagging', `tagging ${names.length} images`);
    await beforeChange();
    await step(afterCapture.tagSnapset, `tag ${names.length} images`, { ...cloud, snapId, images: expected });
    for (const n of names) progress.images[n] = { state: 'tagged', imageId: images[n]!.imageId };

    run.enter('verifying', 'checking every image is active and fully tagged, then marking the set complete');
    await beforeChange();
    await step(afterCapture.verifySnapset, `verify set ${snapId} and mark it complete`, { ...cloud, snapId, images: expected });
    verified = true;
    for (const n of names) progress.images[n] = { state: 'complete', imageId: images[n]!.imageId };

    retention = input.retention ? await applyRetention(input, run) : undefined;

    run.enter(
      'completed',
      `SnapSet ${snapId} complete: ${names.length} images${retention ? `; retention deleted ${retention.deleted.length} older set(s)` : ''}`,
    );
    const held = lock;
    lock = undefined;
    await releaseStackLock(held, run);
    return result();
  } catch (err) {
    const cancelled = isCancellation(err);
    if (verified && patched(PATCHES.keepVerified)) {
      // DESIGN §5 step 8: the set is complete and marked; what failed after it is a warning, a cancel ends the run, nothing is deleted.
      const why = cancelled ? 'cancelled' : failureInfo(err).message;
      return await CancellationScope.nonCancellable(async () => {
        if (cancelled) {
          run.enter('cancelled', `cancelled after set ${snapId} was verified: the set is complete and kept (${names.length} images)`);
          await releaseStackLock(lock, run);
          throw err;
        }
        run.warn(`after set ${snapId} was verified: ${why} (the set is complete and kept)`);
        run.enter('completed', `SnapSet ${snapId} complete: ${names.length} images, with a warning: ${why}`);
        await releaseStackLock(lock, run);
        return result();
      });
    }
    let left: string[] = [];
    const failure: SnapsetFailureInfo = cancelled ? { message: 'cancelled', type: 'CancelledFailure' } : failureInfo(err);
    await CancellationScope.nonCancellable(async () => {
      if (snapId && input.capture.onFailure === 'cleanup') {
        run.enter('cleaning-up', `deleting every image of the unfinished set ${snapId}`);
        try {
          const known = Object.values(progress.images ?? {}).flatMap((i) => (i.imageId ? [i.imageId] : []));
          const cleanup = await step(persistent(CLEANUP_BUDGET_MS).cleanupSnapset, `delete every image of set ${snapId}`, {
            ...cloud,
            snapId,
            knownImageIds: known,
          });
          failure.cleanup = { deleted: cleanup.deleted, left: cleanup.left.map((l) => `${l.id} (${l.name ?? 'unnamed'}: ${l.reason})`) };
          for (const n of names) if (progress.images?.[n]?.imageId) progress.images[n] = { state: 'deleted', imageId: progress.images[n].imageId };
        } catch (cleanupErr) {
          failure.cleanup = { deleted: [], left: [`every image with ${SNAP_ID_PROPERTY}=${snapId}: cleanup failed (${failureInfo(cleanupErr).message})`] };
        }
      }
      if (!run.untouched) {
        try {
          const { statuses } = await step(checks.getServerStatuses, `read the state of ${uuids.length} VMs`, { ...cloud, uuids });
          failure.finalServerStatus = Object.fromEntries(names.map((n) => [n, statuses[uuidOf[n]!] ?? 'UNKNOWN']));
        } catch {
          // The report says the states could not be read.
        }
      }
      if (progress.imageRetries?.length) failure.imageRetries = [...progress.imageRetries];
      progress.failure = failure;
      left = leftBehind(failure, run, snapId, input.capture.onFailure);
      run.enter(cancelled ? 'cancelled' : 'failed', [cancelled ? 'cancelled' : `failed: ${failure.message}`, ...left].join('; '));
      await releaseStackLock(lock, run);
    });
    if (cancelled) throw err;
    throw ApplicationFailure.create({
      type: failure.type,
      // The cause once, what to do, then what the run leaves behind (not the cause again).
      message: `${failure.message}${failure.hint ? ` — ${failure.hint}` : ''}. ${left.join('; ')}`,
      nonRetryable: true,
      details: [failure],
      ...(err instanceof Error ? { cause: err } : {}),
    });
  }
}

/** What a failed or cancelled run says it leaves behind: only what it knows, read from Nova where it can. */
function leftBehind(f: SnapsetFailureInfo, run: RunTracker<Phase>, snapId: string | undefined, onFailure: 'cleanup' | 'keep'): string[] {
  if (run.untouched && !snapId) return ['nothing outside was changed'];
  const parts = [`changed before it stopped: ${run.progress.changes!.join('; ')}`];
  if (snapId && onFailure === 'keep') parts.push(`images of ${snapId} kept (onFailure: keep)`);
  if (f.cleanup)
    parts.push(
      f.cleanup.left.length === 0 ? `every image of set ${snapId} deleted (${f.cleanup.deleted.length})` : `images NOT deleted: ${f.cleanup.left.join(', ')}`,
    );
  parts.push(f.finalServerStatus ? `VMs now: ${describeStatuses(f.finalServerStatus)}` : 'the VMs’ states could not be read from Nova');
  return parts;
}

/**
 * DESIGN §5 step 9: the stack's older sets pruned by the `pruneSnapsets` child workflow (keep the
 * newest `keep` complete sets, none older than `maxAge`). The new set is the stack's newest complete
 * one, which prune never deletes. A failed prune is a warning, never a failed capture.
 */
async function applyRetention(input: SnapsetInput, run: RunTracker<Phase>): Promise<RetentionOutcome> {
  const { keep, maxAge } = input.retention!;
  const workflowId = `${workflowInfo().workflowId}-prune`;
  run.enter('pruning', `keeping the newest ${keep} complete set(s) of ${input.stackName}, none older than ${formatDuration(maxAge)}`);
  try {
    const r = (await executeChild('pruneSnapsets', {
      workflowId,
      args: [{ stackName: input.stackName, ...(input.cloud ? { cloud: input.cloud } : {}), keep, maxAge: formatDuration(maxAge) }],
      staticSummary: `retention of ${input.stackName}: keep ${keep}`,
      ...(patched(PATCHES.pruneStackName) ? { typedSearchAttributes: [{ key: StackNameKey, value: input.stackName }] } : {}),
    })) as PruneSnapsetsResult;
    // A cancel that reached the child after its last step lets it complete: the run is still cancelled.
    if (CancellationScope.current().consideredCancelled && patched(PATCHES.retentionCancelAfterChild)) {
      throw new CancelledFailure('cancelled during retention (the prune child had finished)');
    }
    return { workflowId, deleted: r.deleted, kept: r.keep, reasons: r.reasons };
  } catch (err) {
    if (isCancellation(err) && patched(PATCHES.retentionCancel)) throw err;
    const message = failureInfo(err).message;
    run.warn(`retention failed (the new set is complete and kept): ${message}`);
    return { workflowId, deleted: [], kept: [], reasons: {}, error: message };
  }
}

/**
 * DESIGN §5 step 6: captures the set; a snapshot the cloud fails (killed, deactivated, deleted, not
 * active in time) is taken again while every VM is still SHUTOFF — after a backoff, its image deleted
 * and confirmed gone (`retakeImages`, which also refuses if any VM is no longer SHUTOFF) — up to
 * `capture.imageAttempts` times per instance. The other snapshots go on in the cloud meanwhile; each
 * `captureImages` call follows the images that exist and creates only the missing ones.
 */
async function captureWithRetries(
  input: SnapsetInput,
  captureInput: CaptureImagesInput,
  servers: Record<string, string>,
  progress: SnapsetProgress,
  run: RunTracker<Phase>,
  beforeChange: () => Promise<void>,
): Promise<CaptureImagesResult> {
  const { snapId } = captureInput;
  const names = Object.keys(captureInput.instances);
  const of = input.capture.imageAttempts;
  const attempts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 1]));
  const budget = input.capture.imageTimeout + 120_000;
  const capture = persistent(budget, budget).captureImages;
  const afterFailure = persistent(input.capture.imageTimeout);
  progress.imageRetries ??= [];
  let summary = `create ${names.length} images of set ${snapId}`;
  for (;;) {
    const r = await step(capture, summary, { ...captureInput, reportFailed: true, requireShutoff: true });
    for (const [n, img] of Object.entries(r.images)) progress.images![n] = { state: 'active', imageId: img.imageId };
    const failed = r.failed ?? {};
    const failedNames = Object.keys(failed);
    if (failedNames.length === 0) return r;
    const spent = failedNames.filter((n) => attempts[n]! >= of);
    if (spent.length > 0) {
      throw ApplicationFailure.create({
        type: FailureTypes.resourceFailed,
        nonRetryable: true,
        message: spent.map((n) => `${failed[n]!.reason}${of > 1 ? ` (attempt ${attempts[n]} of ${of}: capture.imageAttempts spent)` : ''}`).join('; '),
        details: [{ instances: spent, failed: Object.fromEntries(spent.map((n) => [n, failed[n]])) }],
      });
    }
    const delay = Math.min(MAX_IMAGE_RETRY_DELAY_MS, input.capture.imageRetryDelay * 2 ** (Math.max(...failedNames.map((n) => attempts[n]!)) - 1));
    const at = isoAt(workflowNow());
    for (const n of failedNames) {
      attempts[n]!++;
      const retry: ImageRetry = {
        instance: n,
        attempt: attempts[n]!,
        of,
        reason: failed[n]!.reason,
        ...(failed[n]!.imageId ? { failedImageId: failed[n]!.imageId } : {}),
        at,
      };
      progress.imageRetries.push(retry);
      progress.images![n] = {
        state: `${failed[n]!.status}: taking it again (attempt ${attempts[n]} of ${of})`,
        ...(failed[n]!.imageId ? { imageId: failed[n]!.imageId } : {}),
      };
      log.warn('the cloud failed a snapshot: taking it again', { instance: n, attempt: attempts[n], of, reason: failed[n]!.reason });
    }
    const which = failedNames.map((n) => `${n} (${failed[n]!.status}, attempt ${attempts[n]} of ${of})`).join(', ');
    run.say(`the cloud failed the snapshot of ${which}: taking it again in ${formatDuration(delay)} while every VM stays SHUTOFF; the other images go on`);
    await sleep(delay);
    await beforeChange();
    await step(afterFailure.retakeImages, `delete the failed image of ${failedNames.join(', ')} to take it again`, {
      ...(captureInput.cloud ? { cloud: captureInput.cloud } : {}),
      snapId,
      servers,
      failed: Object.fromEntries(failedNames.map((n) => [n, failed[n]!.imageId ? { imageId: failed[n]!.imageId } : {}])),
    });
    for (const n of failedNames) progress.images![n] = { state: `pending (attempt ${attempts[n]} of ${of})` };
    run.say(`taking again: ${which}`);
    summary = `capture set ${snapId} again: ${failedNames.join(', ')} (attempt ${Math.max(...failedNames.map((n) => attempts[n]!))} of ${of})`;
    await beforeChange();
  }
}

/** Waits for SHUTOFF; with `forceStopAfter`, sends Nova os-stop to the stragglers once it passes. */
async function waitShutoff(
  input: SnapsetInput,
  uuids: string[],
  names: Record<string, string>,
  cloud: { cloud?: string },
  run: RunTracker<Phase>,
): Promise<void> {
  const total = input.capture.shutoffTimeout;
  const pollSeconds = input.capture.shutoffPollInterval / 1000;
  const force = input.capture.forceStopAfter;
  const wait = (ms: number) =>
    step(waits(ms).waitServersShutoff, `wait SHUTOFF (${uuids.length})`, { ...cloud, uuids, names, timeoutSeconds: Math.max(1, ms / 1000), pollSeconds });
  if (force === undefined || force >= total) {
    await wait(total);
    return;
  }
  try {
    await wait(force);
    return;
  } catch (err) {
    if (!(err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FailureTypes.waitTimeout)) throw err;
    log.warn('servers not SHUTOFF after forceStopAfter: stopping them through Nova', { forceStopAfter: formatDuration(force) });
  }
  run.say(`servers still running after ${formatDuration(force)}: stopping them through Nova os-stop`);
  run.changed('stragglers stopped through Nova os-stop');
  await step(changes.stopServers, `os-stop stragglers (${uuids.length})`, { ...cloud, uuids });
  await wait(total - force);
}

/**
 * DESIGN §1/§5 step 2: OpenShift's kubelet bootstrap certificate is valid 24 h; shutting the cluster
 * down before its first rotation leaves it unable to rejoin. A durable timer (not a process sleep)
 * waits until clusterCreatedAt + certRotationWait, unless the cluster is already old enough or an
 * operator skips it.
 */
async function certRotationWait(input: SnapsetInput, progress: SnapsetProgress, run: RunTracker<Phase>, ended: () => boolean): Promise<CertWaitStatus> {
  run.enter('waiting-cert-rotation', 'finding when the cluster was installed');
  let clusterCreatedAt = input.prepare.clusterCreatedAt;
  let source: CertWaitStatus['clusterCreatedAtSource'] = 'input';
  if (!clusterCreatedAt) {
    clusterCreatedAt = (await step(checks.getClusterCreationTime, 'read the cluster install time', { controller: input.controller })).createdAt;
    source = 'cluster';
  }
  const waitMs = input.prepare.certRotationWait;
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
    run.enter(
      'waiting-cert-rotation',
      `waiting ${formatDuration(Math.ceil(remaining / 1000) * 1000)} until ${status.wakeAt} (cluster installed ${status.clusterCreatedAt} + ${formatDuration(waitMs)}) for the kubelet certificate rotation; Update skipCertWait ends it early`,
    );
    await condition(ended, remaining);
  } else {
    run.enter('waiting-cert-rotation', `no wait: the cluster was installed at ${status.clusterCreatedAt}, more than ${formatDuration(waitMs)} ago`);
  }
  return status;
}
