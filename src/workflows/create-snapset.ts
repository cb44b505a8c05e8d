import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { durationMs, formatDuration } from '../shared/duration.js';
import { ValidationError } from '../shared/errors.js';
import { parseSnapsetInput, type SnapsetInput } from '../shared/input.js';
import { COMPLETE_TAG, imageName, seedTags, snapIdFromBytes } from '../shared/snapset.js';
import type { Phase } from '../shared/types.js';
import {
  progressQuery,
  skipCertWaitUpdate,
  SnapIdKey,
  SnapsetPhaseKey,
  StackNameKey,
  type CertWaitStatus,
  type SnapsetImage,
  type SnapsetProgress,
  type SnapsetResult,
} from '../shared/workflow-api.js';
import { isoAt, workflowNow } from './clock.js';

const RETRY = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 } as const;

/** One REST call or one `oc` command. */
const calls = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: RETRY });

/** Long waits: they heartbeat every poll, so a lost worker is noticed within a minute. */
function waits(timeoutMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: timeoutMs + 120_000,
    heartbeatTimeout: '1m',
    retry: { ...RETRY, maximumAttempts: 3 },
  });
}

/** Minimum length of a skipCertWait reason: an audit trail, not a checkbox. */
const MIN_REASON = 10;
const seconds = (d: string) => Math.max(1, Math.ceil(durationMs(d) / 1000));
const pollSeconds = (d: string) => Math.max(0.05, durationMs(d) / 1000);

/**
 * Builds a SnapSet of a Hotstack deployment (DESIGN §5): validate → wait for the kubelet
 * certificate rotation → cordon and shut down the nodes → shut down the controller → wait SHUTOFF
 * → create images in parallel → tag → verify and mark complete. A failure or cancellation after
 * images exist deletes them (unless `capture.onFailure: keep`); VMs are left SHUTOFF.
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

  let input: SnapsetInput | undefined;
  /** Image IDs this run created or adopted; what compensation deletes. */
  const imageIds = new Map<string, string>();
  try {
    enter('validating', 'validating input');
    input = validate(rawInput);
    progress.stackName = input.stackName;
    upsertSearchAttributes([{ key: StackNameKey, value: input.stackName }]);
    const cloud = input.cloud ? { cloud: input.cloud } : {};
    const controller = input.controller;
    const names = Object.keys(input.snapsetData.instances);
    const uuids = names.map((n) => input!.snapsetData.instances[n]!.uuid);

    if (input.prepare.enabled) {
      const wait = await certRotationWait(input, progress, enter, () => certWaitEnded);
      certWaitEnded = true;
      wait.endedAt = isoAt(workflowNow());

      // DESIGN §2 Prepare: uncordon → stable → cordon → shut down every node from inside.
      enter('preparing-cluster', 'uncordoning all nodes');
      await calls.uncordonNodes({ controller });
      enter('preparing-cluster', `waiting for the cluster to be stable for ${input.prepare.stablePeriod}`);
      const stableTimeout = seconds(input.prepare.stableTimeout);
      await waits(stableTimeout * 1000).waitClusterStable({
        controller,
        minimumStablePeriodSeconds: seconds(input.prepare.stablePeriod),
        timeoutSeconds: stableTimeout,
      });
      enter('preparing-cluster', 'cordoning all nodes');
      await calls.cordonNodes({ controller });
      const { nodes } = await calls.listNodes({ controller });
      enter('preparing-cluster', `shutting down ${nodes.length} node(s) from inside`);
      // A retry after every master went down finds the API gone: that is the state we want; the SHUTOFF wait proves it.
      if (nodes.length > 0) await waits(600_000).shutdownNodes({ controller, nodes: nodes.map((n) => n.name), assumeDownIfApiUnavailable: true });
    }

    enter('shutting-down', `shutting down the controller ${controller.name}`);
    // A retry after the host went away finds it unreachable: that is the state we want, and the
    // SHUTOFF check below is what proves it.
    await calls.shutdownController({ controller, acceptUnreachable: true });

    enter('waiting-shutoff', `waiting until Nova reports all ${uuids.length} servers SHUTOFF`);
    await waitShutoff(input, uuids, cloud);

    // snap_id: 6 random bytes from the workflow's seeded random source (same value on replay).
    const snapId = snapIdFromBytes(uuid4().replace(/-/g, '').slice(0, 12).match(/../g)!.map((h) => parseInt(h, 16)));
    progress.snapId = snapId;
    upsertSearchAttributes([{ key: SnapIdKey, value: snapId }]);
    const workflowId = workflowInfo().workflowId;

    enter('creating-images', `creating ${names.length} images of set ${snapId}`);
    const imageWait = waits(durationMs(input.capture.imageTimeout));
    const images: Record<string, SnapsetImage> = {};
    await mapLimit(names, input.capture.maxParallelImages ?? names.length, async (name) => {
      const inst = input!.snapsetData.instances[name]!;
      const created = await calls.createServerImage({
        ...cloud,
        uuid: inst.uuid,
        imageName: imageName(name, snapId),
        metadata: { hotstack_snap_id: snapId, hotstack_workflow_id: workflowId, hotstack_set_size: String(names.length) },
      });
      imageIds.set(name, created.imageId);
      await imageWait.waitImageActive({
        ...cloud,
        imageId: created.imageId,
        timeoutSeconds: seconds(input!.capture.imageTimeout),
        pollSeconds: pollSeconds(input!.capture.imagePollInterval),
      });
      images[name] = { imageId: created.imageId, imageName: created.imageName, uuid: inst.uuid, role: inst.role, macAddress: inst.mac_address };
      progress.details = `images active: ${Object.keys(images).length}/${names.length} (set ${snapId})`;
    });

    enter('tagging', `tagging ${names.length} images`);
    await mapLimit(names, 8, (name) => calls.tagImage({ ...cloud, imageId: images[name]!.imageId, tags: seedTags(name, input!.snapsetData.instances[name]!, snapId) }));

    enter('verifying', 'checking every image is active and fully tagged');
    const listed = await calls.listSnapsetImages({ ...cloud, snapId });
    const problems: string[] = [];
    for (const name of names) {
      const img = listed.images.find((i) => i.id === images[name]!.imageId);
      if (!img) problems.push(`${name}: image ${images[name]!.imageId} not listed with tag snap_id=${snapId}`);
      else if (img.status !== 'active') problems.push(`${name}: image status ${img.status}`);
      else for (const tag of seedTags(name, input.snapsetData.instances[name]!, snapId)) if (!img.tags.includes(tag)) problems.push(`${name}: tag ${tag} missing`);
    }
    if (problems.length > 0) {
      throw ApplicationFailure.create({ type: 'SnapsetVerificationError', message: `SnapSet ${snapId} failed verification: ${problems.join('; ')}`, nonRetryable: true });
    }
    await mapLimit(names, 8, (name) => calls.tagImage({ ...cloud, imageId: images[name]!.imageId, tags: [COMPLETE_TAG] }));

    enter('completed', `SnapSet ${snapId} complete: ${names.length} images`);
    return {
      snapId,
      stackName: input.stackName,
      ...(input.cloud ? { cloud: input.cloud } : {}),
      createdAt: isoAt(workflowNow()),
      images,
      stackParameters: stackParameters(images),
      ansible: {
        snap_id: snapId,
        ...Object.fromEntries(Object.entries(images).map(([n, i]) => [n, { image_id: i.imageId, role: i.role, mac_address: i.macAddress }])),
      },
      phasesRun: [...progress.phasesRun],
      ...(input.retention ? { retention: 'not applied: pruneSnapsets is not part of this build; nothing was deleted' } : {}),
      ...(progress.certWait ? { certWait: progress.certWait } : {}),
    };
  } catch (err) {
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      if (progress.snapId && input) await compensate(input, progress.snapId, [...imageIds.values()], enter);
      enter(cancelled ? 'cancelled' : 'failed', outcome(cancelled, err, progress, input));
    });
    throw err;
  }
}

function outcome(cancelled: boolean, err: unknown, progress: SnapsetProgress, input?: SnapsetInput): string {
  const what = cancelled ? 'cancelled' : `failed: ${err instanceof Error ? err.message : String(err)}`;
  if (!progress.phasesRun.includes('shutting-down')) return `${what}; nothing outside was changed`;
  const kept = progress.snapId && input?.capture.onFailure === 'keep' ? `; images of ${progress.snapId} kept (onFailure: keep)` : '';
  return `${what}; the VMs were left SHUTOFF${kept}`;
}

/** Deletes every image of this snap_id (those we know of and any a lost answer hid from us). */
async function compensate(input: SnapsetInput, snapId: string, known: string[], enter: (phase: Phase, details: string) => void): Promise<void> {
  if (input.capture.onFailure === 'keep') return;
  enter('cleaning-up', `deleting the images of the unfinished set ${snapId}`);
  const cloud = input.cloud ? { cloud: input.cloud } : {};
  try {
    const listed = await calls.listSnapsetImages({ ...cloud, snapId });
    const ids = [...new Set([...known, ...listed.images.map((i) => i.id)])];
    if (ids.length > 0) await calls.deleteImages({ ...cloud, imageIds: ids });
  } catch (cleanupErr) {
    // Leave the original failure as the workflow's cause; say what is left behind.
    log.error('cleanup of an unfinished SnapSet failed; images may be left', { snapId, error: String(cleanupErr) });
  }
}

/** Waits for SHUTOFF; with `forceStopAfter`, sends Nova os-stop to the stragglers once it passes. */
async function waitShutoff(input: SnapsetInput, uuids: string[], cloud: { cloud?: string }): Promise<void> {
  const total = durationMs(input.capture.shutoffTimeout);
  const poll = pollSeconds(input.capture.shutoffPollInterval);
  const force = input.capture.forceStopAfter ? durationMs(input.capture.forceStopAfter) : undefined;
  if (force !== undefined && force < total) {
    try {
      await waits(force).waitServersShutoff({ ...cloud, uuids, timeoutSeconds: Math.max(1, force / 1000), pollSeconds: poll });
      return;
    } catch (err) {
      if (!(err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'OpenStackWaitTimeoutError')) throw err;
      log.warn('servers not SHUTOFF after forceStopAfter: stopping them through Nova', { forceStopAfter: input.capture.forceStopAfter });
    }
    await calls.stopServers({ ...cloud, uuids });
    const rest = total - force;
    await waits(rest).waitServersShutoff({ ...cloud, uuids, timeoutSeconds: Math.max(1, rest / 1000), pollSeconds: poll });
    return;
  }
  await waits(total).waitServersShutoff({ ...cloud, uuids, timeoutSeconds: Math.max(1, total / 1000), pollSeconds: poll });
}

/** Hotstack stack parameters `<role>_params.image` (seed: controller_params, ocp_master_params). */
function stackParameters(images: Record<string, SnapsetImage>): Record<string, { image: string }> {
  const byRole = new Map<string, string[]>();
  for (const img of Object.values(images)) byRole.set(img.role, [...(byRole.get(img.role) ?? []), img.imageName]);
  const out: Record<string, { image: string }> = {};
  for (const [role, names] of byRole) if (names.length === 1) out[`${role}_params`] = { image: names[0]! };
  return out;
}

/** Runs fn over items with at most `limit` at once (deterministic: workflow promises only). */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  const queue = [...items];
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(lanes);
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
    clusterCreatedAt = (await calls.getClusterCreationTime({ controller: input.controller })).createdAt;
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
