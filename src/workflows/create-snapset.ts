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
  planVolumes,
  seedTags,
  volumeKey,
  SNAP_ID_PROPERTY,
  snapIdFromUuid,
  snapIdFromUuidNoDash,
  snapsetImageProperties,
  stackParameters,
  type VolumePlan,
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
  type SnapsetVolume,
} from '../shared/workflow-api.js';
import { isoAt, workflowNow } from './clock.js';
import type { CaptureImagesInput, CaptureImagesResult } from '../activities/snapset-images.js';
import {
  acquireStackLock,
  failureInfo,
  PATCHES,
  persistent,
  persistentQuickStep,
  quick,
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
      const uncordoned = await step(quick().changes.uncordonNodes, 'uncordon all nodes', { controller });
      if (uncordoned.changed.length > 0) run.changed(`uncordoned ${uncordoned.changed.join(', ')}`);
      run.say(`waiting until no cluster operator has changed for ${formatDuration(input.prepare.stablePeriod)} (at once when they have been stable that long)`);
      await step(waits(input.prepare.stableTimeout).waitClusterStable, `wait stable cluster (${formatDuration(input.prepare.stablePeriod)})`, {
        controller,
        minimumStablePeriodSeconds: seconds(input.prepare.stablePeriod),
        timeoutSeconds: seconds(input.prepare.stableTimeout),
      });
      run.say('cordoning all nodes');
      const cordoned = await step(quick().changes.cordonNodes, 'cordon all nodes', { controller });
      if (cordoned.changed.length > 0) run.changed(`cordoned ${cordoned.changed.join(', ')}`);
      const { nodes } = await step(quick().changes.listNodes, 'list nodes', { controller });
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
      await step(quick().changes.shutdownController, `shut down controller ${controller.name}`, { controller, acceptUnreachable: true });
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
    // DESIGN §5 step 6: the attached volumes preflight read are captured with the images (runs that
    // reached here before this existed capture images only).
    const volumePlan: VolumePlan | undefined = patched(PATCHES.volumes)
      ? planVolumes({
          volumes: checked.volumes ?? {},
          volumeBacked: Object.fromEntries(names.map((n) => [n, checked.servers[n]?.volumeBacked ?? false])),
          mode: input.capture.volumes,
          explicit: Object.fromEntries(names.map((n) => [n, instances[n]!.volumes])),
        })
      : undefined;
    const volumeCount = volumePlan?.count ?? 0;
    if (volumePlan) {
      for (const [n, vs] of Object.entries(volumePlan.snapshot)) for (const v of vs) (progress.volumeSnapshots ??= {})[volumeKey(n, v)] = { state: 'pending' };
      for (const [n, vs] of Object.entries(volumePlan.skipped))
        run.warn(
          `${n}: volume(s) not captured (${input.capture.volumes === 'ignore' ? 'capture.volumes: ignore' : 'not listed'}): ${vs.map((v) => volumeKey(n, v)).join(', ')}`,
        );
    }

    run.enter(
      'creating-images',
      `creating ${names.length} images${volumeCount > 0 ? ` and ${volumeCount} volume snapshots` : ''} of set ${snapId}${input.capture.maxParallelImages ? `, at most ${input.capture.maxParallelImages} at once` : ''}`,
    );
    // A reset to the capture: the stack is held again before any image is made (the order recorded in
    // test/fixtures/histories/create-snapset-reset.json: after the phase upserts, before the capture).
    await beforeChange();
    run.changed(`images of set ${snapId} created`);
    const captureInput: CaptureImagesInput = {
      ...cloud,
      snapId,
      properties: snapsetImageProperties({
        snapId,
        stackName: input.stackName,
        workflowId: workflowInfo().workflowId,
        setSize: names.length,
        ...(volumePlan ? { volumes: volumePlan.count } : {}),
      }),
      instances: Object.fromEntries(names.map((n) => [n, { uuid: uuidOf[n]!, imageName: imageName(n, setId) }])),
      ...(volumePlan && Object.keys(volumePlan.snapshot).length > 0 ? { volumes: volumePlan.snapshot } : {}),
      ...(volumePlan && Object.keys(volumePlan.adopt).length > 0 ? { adopt: volumePlan.adopt } : {}),
      ...(input.capture.maxParallelImages ? { maxParallel: input.capture.maxParallelImages } : {}),
      timeoutSeconds: seconds(input.capture.imageTimeout),
      maxPollSeconds: input.capture.imagePollInterval / 1000,
    };
    const captureStep = persistent(input.capture.imageTimeout + 120_000, input.capture.imageTimeout + 120_000).captureImages;
    const captured = patched(PATCHES.imageRetries)
      ? await captureWithRetries(input, captureInput, uuidOf, progress, run, beforeChange)
      : await step(captureStep, `create ${names.length} images of set ${snapId}`, captureInput);
    const volumesOf: Record<string, SnapsetVolume[]> = {};
    const snapshotIds: Record<string, string> = {};
    for (const [key, v] of Object.entries(captured.volumeSnapshots ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      snapshotIds[key] = v.snapshotId;
      (volumesOf[v.instance] ??= []).push({
        device: v.device,
        volumeName: v.volumeName,
        volumeId: v.volumeId,
        size: v.size,
        snapshotId: v.snapshotId,
        ...(v.adopted ? { adopted: true } : {}),
      });
      (progress.volumeSnapshots ??= {})[key] = { state: 'available', snapshotId: v.snapshotId };
    }
    for (const n of names) {
      const img = captured.images[n]!;
      images[n] = {
        imageId: img.imageId,
        imageName: img.imageName,
        uuid: uuidOf[n]!,
        role: instances[n]!.role,
        macAddress: instances[n]!.mac_address,
        ...(volumesOf[n] ? { volumes: volumesOf[n] } : {}),
      };
      progress.images[n] = { state: 'active', imageId: img.imageId };
    }

    // Idempotent from here on: transient errors are retried for as long as the capture timeout allows.
    const expected = Object.fromEntries(names.map((n) => [n, { imageId: images[n]!.imageId, tags: seedTags(n, instances[n]!, setId) }]));
    run.enter('tagging', `tagging ${names.length} images`);
    await beforeChange();
    await persistentQuickStep((s) => s.tagSnapset, input.capture.imageTimeout, `tag ${names.length} images`, { ...cloud, snapId, images: expected });
    for (const n of names) progress.images[n] = { state: 'tagged', imageId: images[n]!.imageId };

    run.enter(
      'verifying',
      `checking every image is active and fully tagged${volumePlan ? ' and every volume snapshot available' : ''}, then marking the set complete`,
    );
    await beforeChange();
    await persistentQuickStep((s) => s.verifySnapset, input.capture.imageTimeout, `verify set ${snapId} and mark it complete`, {
      ...cloud,
      snapId,
      images: expected,
      ...(volumePlan ? { snapshots: snapshotIds } : {}),
    });
    verified = true;
    for (const n of names) progress.images[n] = { state: 'complete', imageId: images[n]!.imageId };
    for (const [key, id] of Object.entries(snapshotIds)) progress.volumeSnapshots![key] = { state: 'complete', snapshotId: id };

    retention = input.retention ? await applyRetention(input, run) : undefined;

    run.enter(
      'completed',
      `SnapSet ${snapId} complete: ${names.length} images${volumeCount > 0 ? `, ${Object.keys(snapshotIds).length} volume snapshots` : ''}${retention ? `; retention deleted ${retention.deleted.length} older set(s)` : ''}`,
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
          const knownSnapshots = Object.values(progress.volumeSnapshots ?? {}).flatMap((v) => (v.snapshotId ? [v.snapshotId] : []));
          const cleanup = await step(
            persistent(CLEANUP_BUDGET_MS).cleanupSnapset,
            `delete every image${progress.volumeSnapshots ? ' and volume snapshot' : ''} of set ${snapId}`,
            {
              ...cloud,
              snapId,
              knownImageIds: known,
              ...(knownSnapshots.length > 0 ? { knownSnapshotIds: knownSnapshots } : {}),
            },
          );
          failure.cleanup = {
            deleted: cleanup.deleted,
            ...(cleanup.deletedSnapshots ? { deletedSnapshots: cleanup.deletedSnapshots } : {}),
            left: cleanup.left.map((l) => `${l.kind ? `${l.kind} ` : ''}${l.id} (${l.name ?? 'unnamed'}: ${l.reason})`),
          };
          for (const n of names) if (progress.images?.[n]?.imageId) progress.images[n] = { state: 'deleted', imageId: progress.images[n].imageId };
          for (const [key, v] of Object.entries(progress.volumeSnapshots ?? {}))
            if (v.snapshotId) progress.volumeSnapshots![key] = { state: 'deleted', snapshotId: v.snapshotId };
        } catch (cleanupErr) {
          failure.cleanup = { deleted: [], left: [`every image with ${SNAP_ID_PROPERTY}=${snapId}: cleanup failed (${failureInfo(cleanupErr).message})`] };
        }
      }
      if (!run.untouched) {
        try {
          const { statuses } = await step(quick().checks.getServerStatuses, `read the state of ${uuids.length} VMs`, { ...cloud, uuids });
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
  if (f.cleanup) {
    const snaps = f.cleanup.deletedSnapshots?.length;
    parts.push(
      f.cleanup.left.length > 0
        ? `${f.cleanup.left.some((l) => l.startsWith('volume snapshot ')) ? '' : 'images '}NOT deleted: ${f.cleanup.left.join(', ')}`
        : snaps
          ? `every image and volume snapshot of set ${snapId} deleted (${f.cleanup.deleted.length} images, ${snaps} volume snapshots)`
          : `every image of set ${snapId} deleted (${f.cleanup.deleted.length})`,
    );
  }
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
  // Members are instance names (images) and `<instance>:<device>` (volume snapshots): one attempt count each.
  const attempt = (n: string) => attempts[n] ?? 1;
  /** Progress of a member: its image, or its volume snapshot. */
  const mark = (n: string, state: string, id?: string) => {
    if (progress.volumeSnapshots && n in progress.volumeSnapshots) progress.volumeSnapshots[n] = { state, ...(id ? { snapshotId: id } : {}) };
    else progress.images![n] = { state, ...(id ? { imageId: id } : {}) };
  };
  for (;;) {
    const r = await step(capture, summary, { ...captureInput, reportFailed: true, requireShutoff: true });
    for (const [n, img] of Object.entries(r.images)) progress.images![n] = { state: 'active', imageId: img.imageId };
    for (const [k, v] of Object.entries(r.volumeSnapshots ?? {}))
      if (progress.volumeSnapshots && k in progress.volumeSnapshots) mark(k, 'available', v.snapshotId);
    const failed = r.failed ?? {};
    const failedNames = Object.keys(failed);
    if (failedNames.length === 0) return r;
    const spent = failedNames.filter((n) => attempt(n) >= of);
    if (spent.length > 0) {
      throw ApplicationFailure.create({
        type: FailureTypes.resourceFailed,
        nonRetryable: true,
        message: spent.map((n) => `${failed[n]!.reason}${of > 1 ? ` (attempt ${attempt(n)} of ${of}: capture.imageAttempts spent)` : ''}`).join('; '),
        details: [{ instances: spent, failed: Object.fromEntries(spent.map((n) => [n, failed[n]])) }],
      });
    }
    const delay = Math.min(MAX_IMAGE_RETRY_DELAY_MS, input.capture.imageRetryDelay * 2 ** (Math.max(...failedNames.map(attempt)) - 1));
    const at = isoAt(workflowNow());
    for (const n of failedNames) {
      attempts[n] = attempt(n) + 1;
      const retry: ImageRetry = {
        instance: n,
        attempt: attempts[n]!,
        of,
        reason: failed[n]!.reason,
        ...(failed[n]!.imageId ? { failedImageId: failed[n]!.imageId } : {}),
        ...(failed[n]!.snapshotId ? { failedSnapshotId: failed[n]!.snapshotId } : {}),
        at,
      };
      progress.imageRetries.push(retry);
      mark(n, `${failed[n]!.status}: taking it again (attempt ${attempts[n]} of ${of})`, failed[n]!.imageId ?? failed[n]!.snapshotId);
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
      failed: Object.fromEntries(
        failedNames.map((n) => {
          const f = failed[n]!;
          return [
            n,
            {
              ...(f.imageId ? { imageId: f.imageId } : {}),
              ...(f.snapshotId ? { snapshotId: f.snapshotId } : {}),
              ...(f.snapshotIds ? { snapshotIds: f.snapshotIds } : {}),
            },
          ];
        }),
      ),
    });
    for (const n of failedNames) mark(n, `pending (attempt ${attempts[n]} of ${of})`);
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
  await step(quick().changes.stopServers, `os-stop stragglers (${uuids.length})`, { ...cloud, uuids });
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
    clusterCreatedAt = (await step(quick().checks.getClusterCreationTime, 'read the cluster install time', { controller: input.controller })).createdAt;
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
