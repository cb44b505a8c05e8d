/**
 * Set-level activities of a capture: one activity per phase whatever the number of VMs (DESIGN §5
 * steps 1b, 6–8, 10). Each finds the set by the `hotstack_snap_id` image property, which Nova copies
 * from the `createImage` metadata the moment an image exists — long before it has tags — so a retried
 * activity, a re-run workflow and the cleanup all see every image a run may have made.
 */
import {
  OpenStackConflictError,
  OpenStackForbiddenError,
  OpenStackNotFoundError,
  OpenStackResourceFailedError,
  OpenStackUnauthorizedError,
  OpenStackWaitTimeoutError,
  type Image,
  type OpenStackClient,
} from '../openstack/index.js';
import { listSetImages } from '../openstack/snapset-store.js';
import {
  ConfigError,
  ConsistencyLostError,
  PreflightError,
  SnapsetError,
  SnapsetVerificationError,
  ValidationError,
  type PreflightCheck,
} from '../shared/errors.js';
import { COMPLETE_TAG, FAILED_IMAGE_STATES as FAILED, SNAP_ID_PROPERTY, setProblems, type ExpectedSetImage } from '../shared/snapset/index.js';
import { activityCtx, mapLimit } from './context.js';
import { REST_PARALLEL, type CloudInput, type OpenstackActivityDeps } from './types.js';
/** Glance list polls while images are saving: never faster than this… */
const MIN_POLL_MS = 500;
/** …and a twentieth of the time the oldest pending image has taken so far: ≤ 5 % overshoot, few requests on long snapshots. */
const POLL_FRACTION = 1 / 20;

export interface PreflightCloudInput extends CloudInput {
  /** Instance name → Nova server UUID. */
  instances: Record<string, string>;
}

export interface PreflightServer {
  uuid: string;
  /** Nova's name of the server. */
  serverName: string;
  status: string;
  taskState: string | null;
}

export interface PreflightCloudResult {
  /** The cloud that answered (clouds.yaml name) and the project of the token. */
  cloud: string;
  projectId: string | null;
  servers: Record<string, PreflightServer>;
  checks: PreflightCheck[];
}

export interface CaptureImagesInput extends CloudInput {
  snapId: string;
  /** Image properties of every image of the set; must include `hotstack_snap_id`. */
  properties: Record<string, string>;
  /** Instance name → its server and the image name it gets. */
  instances: Record<string, { uuid: string; imageName: string }>;
  /** Snapshots in progress at once. @default all */
  maxParallel?: number;
  timeoutSeconds: number;
  /** Longest interval between two polls of the set. @default 5 */
  maxPollSeconds?: number;
  /**
   * Return the images the cloud failed (killed, deactivated, deleted, not active in `timeoutSeconds`)
   * in `failed` instead of throwing, so the workflow can take them again. @default false
   */
  reportFailed?: boolean;
  /**
   * Before creating any image, check that every server of `instances` is SHUTOFF (one Nova list);
   * otherwise throw a non-retryable ConsistencyLostError. @default false
   */
  requireShutoff?: boolean;
}

/** An image the cloud failed, as `captureImages` reports it with `reportFailed`. */
export interface FailedImage {
  imageId?: string;
  /** Glance status last seen (`killed`, `deactivated`, `deleted`, or the status it was stuck in). */
  status: string;
  /** One line: what happened. */
  reason: string;
}

export interface CapturedImage {
  imageId: string;
  imageName: string;
  /** false: it existed already (a retried activity or a re-run workflow made it). */
  created: boolean;
  /** Seconds from `createImage` (or from when this attempt found it) to `active`. */
  seconds: number;
}

export interface CaptureImagesResult {
  images: Record<string, CapturedImage>;
  /** Glance list calls made to watch the set. */
  polls: number;
  /** With `reportFailed`: instance name → the image the cloud failed (absent when none failed). */
  failed?: Record<string, FailedImage>;
}

export interface RetakeImagesInput extends CloudInput {
  snapId: string;
  /** Every instance of the set → its server: all must still be SHUTOFF. */
  servers: Record<string, string>;
  /** Instance name → the failed image to delete before it is taken again (absent: nothing to delete). */
  failed: Record<string, { imageId?: string }>;
}

export interface RetakeImagesResult {
  /** Failed images deleted (or already gone). */
  deleted: string[];
}

export interface TagSnapsetInput extends CloudInput {
  snapId: string;
  /** Instance name → image and the tags it must carry. */
  images: Record<string, ExpectedSetImage>;
}

export interface TagSnapsetResult {
  /** Instance name → tags this call added. */
  added: Record<string, string[]>;
}

export interface VerifySnapsetInput extends TagSnapsetInput {}

export interface CleanupSnapsetInput extends CloudInput {
  snapId: string;
  /** Image IDs the workflow knows of (found again by the property anyway). */
  knownImageIds?: string[];
}

export interface CleanupSnapsetResult {
  deleted: string[];
  /** Images of the set still there after every round (somebody protected them, or the cloud refuses). */
  left: { id: string; name: string | null; reason: string }[];
}

/** A per-phase view of one image for heartbeats and progress. */
type ImageState = { imageId?: string; status: string };

function validateSnapId(snapId: unknown, source: string): string {
  if (typeof snapId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(snapId)) {
    throw new ValidationError([{ path: 'snapId', message: 'expected a snap id (URL-safe base64)' }], { source });
  }
  return snapId;
}

function validateMap(v: unknown, path: string, source: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) {
    throw new ValidationError([{ path, message: 'expected a non-empty mapping of instance names' }], { source });
  }
  return v as Record<string, unknown>;
}

/** Every image carrying `hotstack_snap_id=snapId`, all pages (the store's read of a set by its property). */
function setImages(c: OpenStackClient, snapId: string, signal?: AbortSignal): Promise<Image[]> {
  return listSetImages(c, snapId, { signal });
}

/**
 * A set stays consistent only while every VM is down: reads the servers of `servers` (instance name →
 * UUID) in one Nova list and throws a non-retryable ConsistencyLostError naming each one that is not
 * SHUTOFF, is being started, or is gone.
 */
async function requireAllShutoff(c: OpenStackClient, servers: Record<string, string>, signal?: AbortSignal): Promise<void> {
  const found = await c.compute.getServersByIds(Object.values(servers), { signal });
  const notShutoff: Record<string, string> = {};
  for (const [name, uuid] of Object.entries(servers)) {
    const s = found.get(uuid);
    if (!s) notShutoff[name] = 'gone from Nova';
    else if (s.status !== 'SHUTOFF') notShutoff[name] = s.status;
    else if (s.taskState === 'powering-on') notShutoff[name] = 'SHUTOFF (powering-on)';
  }
  if (Object.keys(notShutoff).length > 0) throw new ConsistencyLostError(notShutoff);
}

const hint = {
  config:
    'put clouds.yaml in ./, ~/.config/openstack/ or /etc/openstack/ (or set OS_CLIENT_CONFIG_FILE), and name the cloud with the input’s `cloud` or the worker’s OS_CLOUD',
  auth: (cloud: string) => `check the credentials of cloud ${cloud} in clouds.yaml / secure.yaml (openstack --os-cloud ${cloud} token issue)`,
  uuid: (name: string, uuid: string) => `check snapsetData.instances.${name}.uuid (openstack server show ${uuid}) and that the cloud and project are the lab's`,
};

export function createSnapsetImageActivities(deps: OpenstackActivityDeps) {
  const client = (input: CloudInput): Promise<OpenStackClient> => deps.openstack.client(input.cloud);

  return {
    /**
     * Read-only checks of the cloud before anything is changed: clouds.yaml, Keystone auth, every
     * instance's server (found, ACTIVE or SHUTOFF, not busy), Glance reachable. Definite problems
     * fail with a non-retryable `PreflightError` listing each with what to do; transient ones
     * (5xx, network) are thrown as they are, for the retry policy.
     */
    async preflightCloud(input: PreflightCloudInput): Promise<PreflightCloudResult> {
      const instances = validateMap(input?.instances, 'instances', 'preflightCloud') as Record<string, string>;
      const ctx = activityCtx();
      const cloudName = input.cloud ?? '(default cloud)';
      let c: OpenStackClient;
      try {
        c = await client(input);
      } catch (err) {
        if (err instanceof ConfigError) throw new PreflightError([{ check: 'clouds.yaml', ok: false, message: err.message, hint: hint.config }]);
        throw err;
      }
      const cloud = c.cloud.name;
      let projectId: string | null = null;
      try {
        projectId = (await c.session.getToken(ctx.signal)).projectId ?? null;
      } catch (err) {
        if (err instanceof OpenStackUnauthorizedError || err instanceof OpenStackForbiddenError) {
          throw new PreflightError([
            {
              check: 'cloud auth',
              ok: false,
              message: `Keystone refused the credentials of cloud ${cloud}: ${err.serviceMessage || err.message}`,
              hint: hint.auth(cloud),
            },
          ]);
        }
        if (err instanceof ConfigError) throw new PreflightError([{ check: 'cloud auth', ok: false, message: err.message, hint: hint.config }]);
        throw err;
      }
      const checks: PreflightCheck[] = [{ check: 'cloud auth', ok: true, message: `authenticated to ${cloud}${projectId ? ` (project ${projectId})` : ''}` }];
      const servers: Record<string, PreflightServer> = {};
      const names = Object.keys(instances);
      const found = await c.compute.getServersByIds(Object.values(instances), { signal: ctx.signal });
      for (const name of names) {
        const uuid = instances[name]!;
        const check = `instance ${name}`;
        const s = found.get(uuid);
        if (!s) {
          checks.push({
            check,
            instance: name,
            ok: false,
            message: `no server ${uuid} in Nova (cloud ${cloud}${projectId ? `, project ${projectId}` : ''})`,
            hint: hint.uuid(name, uuid),
          });
          continue;
        }
        servers[name] = { uuid, serverName: s.name, status: s.status, taskState: s.taskState };
        if (s.status !== 'ACTIVE' && s.status !== 'SHUTOFF') {
          checks.push({
            check,
            instance: name,
            ok: false,
            message: `server ${uuid} (${s.name}) is ${s.status}`,
            hint: 'a SnapSet needs every server ACTIVE or SHUTOFF: repair or rebuild it first',
          });
        } else if (s.taskState) {
          checks.push({
            check,
            instance: name,
            ok: false,
            message: `server ${uuid} (${s.name}) is busy (task_state ${s.taskState})`,
            hint: 'wait until Nova has finished with it, then start again',
          });
        } else {
          checks.push({ check, instance: name, ok: true, message: `server ${uuid} (${s.name}) ${s.status}` });
        }
      }
      try {
        for await (const img of c.image.listImages({ limit: 1 }, { signal: ctx.signal })) {
          void img;
          break;
        }
        checks.push({ check: 'image service', ok: true, message: 'Glance answers' });
      } catch (err) {
        if (!(err instanceof SnapsetError) || err.retryable) throw err;
        checks.push({
          check: 'image service',
          ok: false,
          message: `Glance: ${err.message}`,
          hint: `cloud ${cloud} must let this project list and create images`,
        });
      }
      const failed = checks.filter((k) => !k.ok);
      if (failed.length > 0) throw new PreflightError(failed);
      return { cloud: cloud ?? cloudName, projectId, servers, checks };
    },

    /**
     * Creates the image of every instance (Nova `createImage`, the set's properties as metadata) and
     * waits until all are `active`, watching the whole set with one Glance list per poll.
     *
     * Idempotent: the set is listed once first, and an instance whose image exists (a retried
     * activity, a lost answer) is not imaged again. At most `maxParallel` snapshots are in progress.
     * Fail-fast, settle-all: on a killed image, a timeout or cancellation nothing new is started,
     * every `createImage` already sent is awaited (so cleanup finds its image), then it throws.
     */
    async captureImages(input: CaptureImagesInput): Promise<CaptureImagesResult> {
      const snapId = validateSnapId(input?.snapId, 'captureImages');
      const instances = validateMap(input.instances, 'instances', 'captureImages') as CaptureImagesInput['instances'];
      if (input.properties?.[SNAP_ID_PROPERTY] !== snapId) {
        throw new ValidationError([{ path: `properties.${SNAP_ID_PROPERTY}`, message: 'must equal snapId (the set is found by it)' }], {
          source: 'captureImages',
        });
      }
      const names = Object.keys(instances);
      const maxParallel = Math.max(1, Math.min(input.maxParallel ?? names.length, names.length));
      const maxPollMs = Math.max(MIN_POLL_MS, (input.maxPollSeconds ?? 5) * 1000);
      const ctx = activityCtx();
      const c = await client(input);
      const started = Date.now();
      const deadline = started + input.timeoutSeconds * 1000;

      const state: Record<string, ImageState> = Object.fromEntries(names.map((n) => [n, { status: 'pending' }]));
      const since: Record<string, number> = {};
      const done: Record<string, CapturedImage> = {};
      const byName = new Map(names.map((n) => [instances[n]!.imageName, n]));
      const nameOf = (img: Image) => (img.name ? byName.get(img.name) : undefined);
      const createdHere = new Set<string>();
      /** With reportFailed: the images the cloud failed, returned instead of thrown. */
      const failedImages: Record<string, FailedImage> = {};
      /** A createImage answered 409 (the server busy): try again after this time, unless a poll finds its image. */
      const notBefore: Record<string, number> = {};
      let polls = 0;
      let failure: unknown;

      const heartbeat = () => ({ images: state, polls, elapsedSeconds: Math.round((Date.now() - started) / 1000) });
      /** Takes in one listing of the set; a failed image ends the capture. */
      const absorb = (listed: Image[]) => {
        for (const img of listed) {
          const name = nameOf(img);
          if (!name) continue;
          const status = img.status.toLowerCase();
          const prev = state[name]!;
          // The same name twice: keep following the one we know (the oldest live one otherwise).
          if (prev.imageId && prev.imageId !== img.id && !FAILED.has(prev.status)) continue;
          state[name] = { imageId: img.id, status };
          since[name] ??= Date.now();
          if (status === 'active' && !done[name]) {
            done[name] = {
              imageId: img.id,
              imageName: instances[name]!.imageName,
              created: false,
              seconds: Math.round((Date.now() - since[name]!) / 100) / 10,
            };
          }
          if (FAILED.has(status) && !failure && !failedImages[name]) {
            const reason = `the image of ${name} (${img.id}, ${img.name}) is ${status}: the cloud failed the snapshot of server ${instances[name]!.uuid}`;
            if (input.reportFailed) failedImages[name] = { imageId: img.id, status, reason };
            else failure = new OpenStackResourceFailedError('image', img.id, status, reason);
          }
        }
      };
      const anyFailed = () => Object.keys(failedImages).length > 0;
      const inFlight = new Set<Promise<void>>();
      /** With reportFailed: every createImage sent is answered, then the images done so far and the failed ones. */
      const settled = async (): Promise<CaptureImagesResult> => {
        await Promise.allSettled([...inFlight]);
        for (const [name, d] of Object.entries(done)) d.created = createdHere.has(name);
        return { images: done, polls, failed: failedImages };
      };

      absorb(await setImages(c, snapId, ctx.signal));
      polls++;
      if (input.requireShutoff && names.some((n) => state[n]!.status === 'pending')) {
        // A set is consistent only if every VM is still down when an image is taken (a reset run, a retake).
        await requireAllShutoff(c, Object.fromEntries(names.map((n) => [n, instances[n]!.uuid])), ctx.signal);
      }
      const create = async (name: string) => {
        const inst = instances[name]!;
        state[name] = { status: 'creating' };
        since[name] = Date.now();
        try {
          // No abort signal: a createImage once sent is let finish, so its image is known (or found) before we return.
          const { imageId } = await c.compute.createImage(inst.uuid, inst.imageName, input.properties);
          createdHere.add(name);
          if (!state[name]!.imageId) state[name] = { imageId, status: 'queued' };
        } catch (err) {
          if (err instanceof OpenStackConflictError) {
            // Busy: snapshotting for an earlier attempt whose answer was lost (a poll finds that image),
            // or still busy with a failed snapshot: ask again later unless a poll finds the image first.
            if (!state[name]!.imageId) {
              state[name] = { status: 'pending' };
              notBefore[name] = Date.now() + Math.min(maxPollMs, 2000);
            }
            return;
          }
          if (err instanceof OpenStackNotFoundError) {
            failure ??= new OpenStackResourceFailedError('server', inst.uuid, 'NOT_FOUND', `createImage for ${name}: no server ${inst.uuid} in Nova`);
            return;
          }
          failure ??= err;
        }
      };

      try {
        for (;;) {
          const active = names.filter((n) => done[n]).length;
          const inProgress = names.filter((n) => state[n]!.status !== 'pending' && !done[n]).length;
          let room = maxParallel - inProgress;
          const now0 = Date.now();
          for (const name of names) {
            if (room <= 0 || failure || anyFailed() || ctx.signal?.aborted) break;
            if (state[name]!.status !== 'pending' || (notBefore[name] ?? 0) > now0) continue;
            const p: Promise<void> = create(name).finally(() => inFlight.delete(p));
            inFlight.add(p);
            room--;
          }
          if (failure) throw failure;
          if (anyFailed()) {
            return settled();
          }
          if (active === names.length) {
            for (const [name, d] of Object.entries(done)) d.created = createdHere.has(name);
            return { images: done, polls };
          }
          const now = Date.now();
          if (now >= deadline && input.reportFailed) {
            for (const n of names.filter((x) => !done[x])) {
              const st = state[n]!;
              failedImages[n] = {
                ...(st.imageId ? { imageId: st.imageId } : {}),
                status: st.status,
                reason: `the image of ${n} was not active after ${input.timeoutSeconds} s (last status ${st.status})`,
              };
            }
            return settled();
          }
          if (now >= deadline) {
            const labels = Object.fromEntries(names.map((n) => [state[n]!.imageId ?? n, n]));
            const last = Object.fromEntries(names.filter((n) => !done[n]).map((n) => [state[n]!.imageId ?? n, state[n]!.status]));
            throw new OpenStackWaitTimeoutError('image', last, input.timeoutSeconds, 'active', labels);
          }
          const oldest = Math.min(...names.filter((n) => !done[n] && since[n] !== undefined).map((n) => since[n]!), now);
          const interval = Math.min(maxPollMs, Math.max(MIN_POLL_MS, (now - oldest) * POLL_FRACTION), deadline - now);
          await ctx.sleep(interval, heartbeat);
          try {
            absorb(await setImages(c, snapId, ctx.signal));
            polls++;
          } catch (err) {
            if (!(err instanceof SnapsetError && err.retryable)) throw err;
          }
          ctx.heartbeat(heartbeat());
        }
      } finally {
        // Settle-all: every createImage sent is answered before this attempt ends, whatever ended it.
        await Promise.allSettled([...inFlight]);
      }
    },

    /**
     * Makes room to take failed images again: checks that every server of the set is still SHUTOFF
     * (else a non-retryable ConsistencyLostError: the set could no longer be consistent), deletes each
     * failed image, and lists the set (by `hotstack_snap_id`) until none of them is left. Idempotent:
     * an image already gone counts as deleted. `captureImages` then creates the missing images.
     */
    async retakeImages(input: RetakeImagesInput): Promise<RetakeImagesResult> {
      const snapId = validateSnapId(input?.snapId, 'retakeImages');
      const servers = validateMap(input.servers, 'servers', 'retakeImages') as Record<string, string>;
      const failed = validateMap(input.failed, 'failed', 'retakeImages') as RetakeImagesInput['failed'];
      const ctx = activityCtx();
      const c = await client(input);
      await requireAllShutoff(c, servers, ctx.signal);
      const ids = Object.values(failed).flatMap((f) => (f.imageId ? [f.imageId] : []));
      await mapLimit(
        ids,
        REST_PARALLEL,
        async (id) => {
          try {
            await c.image.deleteImage(id, { signal: ctx.signal });
          } catch (err) {
            if (!(err instanceof OpenStackNotFoundError)) throw err;
          }
        },
        ctx.signal,
      );
      // Confirmed from the cloud's side: the set's listing no longer shows them (a retry of this activity deletes again).
      const left = (await setImages(c, snapId, ctx.signal)).filter(
        (i) => ids.includes(i.id) && !['deleted', 'pending_delete'].includes(i.status.toLowerCase()),
      );
      if (left.length > 0)
        throw new ImagesStillListedError(
          snapId,
          left.map((i) => `${i.id} (${i.status})`),
        );
      return { deleted: ids };
    },

    /** Adds the tags each image lacks: one listing of the set, then one PATCH per image that lacks any. */
    async tagSnapset(input: TagSnapsetInput): Promise<TagSnapsetResult> {
      const snapId = validateSnapId(input?.snapId, 'tagSnapset');
      const images = validateMap(input.images, 'images', 'tagSnapset') as Record<string, ExpectedSetImage>;
      const ctx = activityCtx();
      const c = await client(input);
      const current = new Map((await setImages(c, snapId, ctx.signal)).map((i) => [i.id, i]));
      const added: Record<string, string[]> = {};
      const names = Object.keys(images);
      await mapLimit(
        names,
        REST_PARALLEL,
        async (name) => {
          const want = images[name]!;
          const img = current.get(want.imageId);
          if (!img) throw new OpenStackResourceFailedError('image', want.imageId, 'deleted', `the image of ${name} (${want.imageId}) is gone`);
          const missing = want.tags.filter((t) => !img.tags.includes(t));
          added[name] = missing;
          // One JSON-patch sets every missing tag at once (Images API v2: PATCH `/tags` as a whole list).
          if (missing.length > 0)
            await c.image.updateImage(want.imageId, [{ op: 'replace', path: '/tags', value: [...img.tags, ...missing] }], { signal: ctx.signal });
          ctx.heartbeat({ tagged: Object.keys(added).length, of: names.length });
        },
        ctx.signal,
      );
      return { added };
    },

    /**
     * Checks every image of the set is there, `active` and carries its tags, then adds the completion
     * marker to each (idempotent). A set that fails the check is never marked.
     */
    async verifySnapset(input: VerifySnapsetInput): Promise<{ complete: true; images: number }> {
      const snapId = validateSnapId(input?.snapId, 'verifySnapset');
      const images = validateMap(input.images, 'images', 'verifySnapset') as Record<string, ExpectedSetImage>;
      const ctx = activityCtx();
      const c = await client(input);
      const listed = await setImages(c, snapId, ctx.signal);
      const problems = setProblems(snapId, listed, { expected: images, requireMarker: false });
      if (problems.length > 0) throw new SnapsetVerificationError(snapId, problems);
      const byId = new Map(listed.map((i) => [i.id, i]));
      await mapLimit(
        Object.values(images),
        REST_PARALLEL,
        async (want) => {
          if (!byId.get(want.imageId)!.tags.includes(COMPLETE_TAG)) await c.image.addTag(want.imageId, COMPLETE_TAG, { signal: ctx.signal });
        },
        ctx.signal,
      );
      return { complete: true, images: listed.length };
    },

    /**
     * Deletes every image of the set — found by its property, plus any the workflow knows of — and
     * lists again until none is left (an image whose `createImage` was answered late shows up in a
     * later round). Images already gone count as deleted.
     */
    async cleanupSnapset(input: CleanupSnapsetInput): Promise<CleanupSnapsetResult> {
      const snapId = validateSnapId(input?.snapId, 'cleanupSnapset');
      const ctx = activityCtx();
      const c = await client(input);
      const deleted = new Set<string>();
      const refused = new Map<string, string>();
      let known = [...(input.knownImageIds ?? [])];
      for (let round = 0; round < 5; round++) {
        const listed = await setImages(c, snapId, ctx.signal);
        const ids = [...new Set([...known, ...listed.filter((i) => !['deleted', 'pending_delete'].includes(i.status.toLowerCase())).map((i) => i.id)])].filter(
          (id) => !deleted.has(id) && !refused.has(id),
        );
        known = [];
        if (ids.length === 0) break;
        await mapLimit(ids, REST_PARALLEL, async (id) => {
          try {
            await c.image.deleteImage(id, { signal: ctx.signal });
            deleted.add(id);
          } catch (err) {
            if (err instanceof OpenStackNotFoundError) deleted.add(id);
            else if (err instanceof SnapsetError && !err.retryable) refused.set(id, err.message);
            else throw err;
          }
          ctx.heartbeat({ deleted: deleted.size, round });
        });
      }
      const remaining = (await setImages(c, snapId, ctx.signal)).filter((i) => !['deleted', 'pending_delete'].includes(i.status.toLowerCase()));
      return {
        deleted: [...deleted],
        left: remaining.map((i) => ({ id: i.id, name: i.name, reason: refused.get(i.id) ?? `still ${i.status}` })),
      };
    },
  };
}

/** Thrown when deleted images of a set are still listed: the cloud is slow to delete; retryable. */
export class ImagesStillListedError extends SnapsetError {
  readonly retryable = true;
  constructor(snapId: string, images: string[]) {
    super(`failed images of set ${snapId} still listed after delete: ${images.join(', ')}`);
  }
}

export type SnapsetImageActivities = ReturnType<typeof createSnapsetImageActivities>;
