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
import { imageSnapshotIds, listSetImages, listSetSnapshots } from '../openstack/snapset-store.js';
import type { VolumeSnapshot } from '../openstack/volume.js';
import {
  ConfigError,
  ConsistencyLostError,
  PreflightError,
  SnapsetError,
  SnapsetVerificationError,
  ValidationError,
  type PreflightCheck,
} from '../shared/errors.js';
import {
  blockDeviceSnapshotIds,
  COMPLETE_TAG,
  describeVolume,
  DEVICE_METADATA,
  INSTANCE_METADATA,
  FAILED_IMAGE_STATES as FAILED,
  planVolumes,
  SNAP_ID_PROPERTY,
  setProblems,
  volumeKey,
  volumeSnapshotMetadata,
  volumeSnapshotName,
  type AttachedVolume,
  type ExpectedSetImage,
} from '../shared/snapset/index.js';
import { activityCtx, mapLimit } from './context.js';
import { REST_PARALLEL, type CloudInput, type OpenstackActivityDeps } from './types.js';
/** Glance list polls while images are saving: never faster than this… */
const MIN_POLL_MS = 500;
/** …and a twentieth of the time the oldest pending image has taken so far: ≤ 5 % overshoot, few requests on long snapshots. */
const POLL_FRACTION = 1 / 20;

export interface PreflightCloudInput extends CloudInput {
  /** Instance name → Nova server UUID. */
  instances: Record<string, string>;
  /**
   * Read every instance's attached Cinder volumes (Nova's attachments, then each volume): what the
   * capture will take. `explicit` lists, per instance, the volume UUIDs the input names: each must be
   * attached to it. Absent: volumes are not read (runs started before volumes were captured).
   */
  volumes?: { mode: 'snapshot' | 'ignore'; explicit?: Record<string, string[]> };
}

export interface PreflightServer {
  uuid: string;
  /** Nova's name of the server. */
  serverName: string;
  status: string;
  taskState: string | null;
  /** It boots from a Cinder volume (Nova shows no image): `createImage` snapshots its volumes itself. */
  volumeBacked?: boolean;
}

export interface PreflightCloudResult {
  /** The cloud that answered (clouds.yaml name) and the project of the token. */
  cloud: string;
  projectId: string | null;
  servers: Record<string, PreflightServer>;
  /** With `volumes`: instance name → its attached volumes. */
  volumes?: Record<string, AttachedVolume[]>;
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
  /** Instance name → the attached data volumes the capture snapshots itself (image-backed servers). */
  volumes?: Record<string, AttachedVolume[]>;
  /** Instance name → its volumes, for a volume-backed server: Nova snapshots them with the image; they are adopted into the set. */
  adopt?: Record<string, AttachedVolume[]>;
}

/** An image or volume snapshot the cloud failed, as `captureImages` reports it with `reportFailed`. */
export interface FailedImage {
  imageId?: string;
  /** A failed volume snapshot (its member key is `<instance>:<device>`). */
  snapshotId?: string;
  /** The snapshots Nova made with a failed volume-backed image: deleted with it. */
  snapshotIds?: string[];
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

/** A volume snapshot of the set: made by the capture, or made by Nova with a volume-backed image and adopted. */
export interface CapturedVolumeSnapshot {
  snapshotId: string;
  snapshotName: string | null;
  instance: string;
  volumeId: string;
  device: string | null;
  volumeName: string | null;
  /** GiB. */
  size: number;
  /** false: it existed already (a retried activity), or Nova made it (adopted). */
  created: boolean;
  adopted: boolean;
  seconds: number;
}

export interface CaptureImagesResult {
  images: Record<string, CapturedImage>;
  /** With volumes: `<instance>:<device>` → its snapshot (every one `available`). */
  volumeSnapshots?: Record<string, CapturedVolumeSnapshot>;
  /** Glance list calls made to watch the set. */
  polls: number;
  /** With `reportFailed`: instance name → the image the cloud failed (absent when none failed). */
  failed?: Record<string, FailedImage>;
}

export interface RetakeImagesInput extends CloudInput {
  snapId: string;
  /** Every instance of the set → its server: all must still be SHUTOFF. */
  servers: Record<string, string>;
  /** Member (instance name, or `<instance>:<device>`) → the failed image or volume snapshot to delete before it is taken again. */
  failed: Record<string, { imageId?: string; snapshotId?: string; snapshotIds?: string[] }>;
}

export interface RetakeImagesResult {
  /** Failed images deleted (or already gone). */
  deleted: string[];
  /** Failed volume snapshots deleted (or already gone). */
  deletedSnapshots?: string[];
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

export interface VerifySnapsetInput extends TagSnapsetInput {
  /** `<instance>:<device>` → the volume snapshot the capture made or adopted (absent: the set's snapshots are not checked). */
  snapshots?: Record<string, string>;
}

export interface CleanupSnapsetInput extends CloudInput {
  snapId: string;
  /** Image IDs the workflow knows of (found again by the property anyway). */
  knownImageIds?: string[];
  /** Volume snapshot IDs the workflow knows of (found again by metadata anyway). */
  knownSnapshotIds?: string[];
}

export interface CleanupSnapsetResult {
  deleted: string[];
  /** Volume snapshots deleted (present when the set had any). */
  deletedSnapshots?: string[];
  /** Images (and volume snapshots: `kind`) of the set still there after every round (somebody protected them, or the cloud refuses). */
  left: { id: string; name: string | null; kind?: 'volume snapshot'; reason: string }[];
}

/** Glance states of an image on its way out, and Cinder's of a snapshot: no longer part of the set. */
const GONE_IMAGE: ReadonlySet<string> = new Set(['deleted', 'pending_delete']);
const GONE_SNAPSHOT: ReadonlySet<string> = new Set(['deleting', 'deleted']);
/** Cleanup waits this long at most for snapshots still `creating` (Cinder deletes only `available` or `error` ones)… */
const SNAPSHOT_SETTLE_MS = 10 * 60_000;
/** …looking again this often. */
const SNAPSHOT_SETTLE_POLL_MS = 1000;

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

/** Nova shows a server booted from a volume with `image: ""` (or no image at all). */
function isVolumeBacked(raw: Record<string, unknown>): boolean {
  const image = raw.image;
  return image === '' || image === null || image === undefined || (typeof image === 'object' && !(image as { id?: unknown }).id);
}

/**
 * Preflight's look at the volumes: per server, Nova's attachments, then each volume from Cinder (name,
 * size). An instance whose volumes cannot be read fails its check, named; a volume the input lists
 * that is not attached to its instance too. Says, per instance, what the capture will take.
 */
async function readVolumes(
  c: OpenStackClient,
  want: NonNullable<PreflightCloudInput['volumes']>,
  instances: Record<string, string>,
  servers: Record<string, PreflightServer>,
  found: Map<string, { raw: Record<string, unknown> }>,
  checks: PreflightCheck[],
  signal?: AbortSignal,
): Promise<Record<string, AttachedVolume[]>> {
  const volumes: Record<string, AttachedVolume[]> = {};
  const names = Object.keys(instances).filter((n) => servers[n]);
  const results = await mapLimit(
    names,
    REST_PARALLEL,
    async (name): Promise<PreflightCheck> => {
      const uuid = instances[name]!;
      const check = `volumes of ${name}`;
      servers[name]!.volumeBacked = isVolumeBacked(found.get(uuid)!.raw);
      try {
        // Nova's server list already says whether any volume is attached (`os-extended-volumes:volumes_attached`):
        // a server without one costs no call; the attachments give the devices.
        const listed = found.get(uuid)!.raw['os-extended-volumes:volumes_attached'];
        const attachments = Array.isArray(listed) && listed.length === 0 ? [] : await c.compute.listVolumeAttachments(uuid, { signal });
        volumes[name] = await mapLimit(attachments, REST_PARALLEL, async (a) => {
          const v = await c.volume.getVolume(a.volumeId, { signal });
          return { volumeId: v.id, device: a.device ?? null, volumeName: v.name || null, size: v.size, bootable: v.bootable };
        });
      } catch (err) {
        if (err instanceof SnapsetError && err.retryable) throw err;
        return {
          check,
          instance: name,
          ok: false,
          message: `cannot read the volumes attached to ${name} (server ${uuid}): ${err instanceof Error ? err.message : String(err)}`,
          hint: `the capture must know every volume it takes: check that this project may read server ${uuid}'s volume attachments and its volumes (openstack server volume list ${uuid}), or set capture.volumes: ignore for an image-backed lab`,
        };
      }
      const listed = want.explicit?.[name];
      const notAttached = (listed ?? []).filter((id) => !volumes[name]!.some((v) => v.volumeId.toLowerCase() === id.toLowerCase()));
      if (notAttached.length > 0) {
        return {
          check,
          instance: name,
          ok: false,
          message: `snapsetData.instances.${name}.volumes lists ${notAttached.join(', ')}, not attached to ${name} (attached: ${volumes[name]!.map((v) => v.volumeId).join(', ') || 'none'})`,
          hint: `list only volumes attached to ${name} (openstack server volume list ${uuid}), or leave volumes out to capture every attached one`,
        };
      }
      return { check, instance: name, ok: true, message: volumeMessage(name, volumes[name]!, servers[name]!.volumeBacked!, want.mode, listed) };
    },
    signal,
  );
  checks.push(...results);
  return volumes;
}

function volumeMessage(name: string, attached: AttachedVolume[], volumeBacked: boolean, mode: 'snapshot' | 'ignore', listed?: string[]): string {
  if (attached.length === 0) return `${name}: no volume attached${volumeBacked ? ' (boots from a volume Nova does not list)' : ''}`;
  const plan = planVolumes({ volumes: { [name]: attached }, volumeBacked: { [name]: volumeBacked }, mode, explicit: listed ? { [name]: listed } : {} });
  const parts: string[] = [];
  if (plan.adopt[name])
    parts.push(
      `boots from a volume: Nova snapshots its ${attached.length} volume(s) with the image: ${plan.adopt[name].map((v) => describeVolume(name, v)).join(', ')}`,
    );
  if (plan.snapshot[name])
    parts.push(`${plan.snapshot[name].length} volume snapshot(s): ${plan.snapshot[name].map((v) => describeVolume(name, v)).join(', ')}`);
  if (plan.skipped[name])
    parts.push(
      `not captured (${mode === 'ignore' ? 'capture.volumes: ignore' : 'not listed in its volumes'}): ${plan.skipped[name].map((v) => describeVolume(name, v)).join(', ')}`,
    );
  return `${name}: ${parts.join('; ')}`;
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
      const volumes = input.volumes ? await readVolumes(c, input.volumes, instances, servers, found, checks, ctx.signal) : undefined;
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
      return { cloud: cloud ?? cloudName, projectId, servers, ...(volumes ? { volumes } : {}), checks };
    },

    /**
     * Creates the image of every instance (Nova `createImage`, the set's properties as metadata) and
     * a snapshot of every data volume the plan names (Cinder, `force`: the volume is attached, its
     * server SHUTOFF), in one fan-out, and waits until every image is `active` and every snapshot
     * `available`, watching the whole set with one Glance list (and one Cinder list) per poll. The
     * images of volume-backed servers (`adopt`) come with snapshots Nova made: they are adopted into
     * the set (given the set's metadata) and waited for too.
     *
     * Idempotent: the set is listed once first, and an image or snapshot that exists (a retried
     * activity, a lost answer) is not made again. At most `maxParallel` are in progress.
     * Fail-fast, settle-all: on a failed image or snapshot, a timeout or cancellation nothing new is
     * started, every call already sent is awaited (so cleanup finds what it made), then it throws.
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
      /** Volume members: `<instance>:<device>` → the volume. */
      const volumes = new Map<string, { instance: string; volume: AttachedVolume }>();
      for (const [instance, list] of Object.entries(input.volumes ?? {})) for (const v of list) volumes.set(volumeKey(instance, v), { instance, volume: v });
      const adopt = input.adopt ?? {};
      const keys = [...names, ...volumes.keys()];
      const withVolumes = volumes.size > 0 || Object.keys(adopt).length > 0;
      const maxParallel = Math.max(1, Math.min(input.maxParallel ?? keys.length, keys.length));
      const maxPollMs = Math.max(MIN_POLL_MS, (input.maxPollSeconds ?? 5) * 1000);
      const ctx = activityCtx();
      const c = await client(input);
      const started = Date.now();
      const deadline = started + input.timeoutSeconds * 1000;

      /** Per member (instance name or volume key): the image or snapshot followed and its last status. */
      const state: Record<string, ImageState> = Object.fromEntries(keys.map((n) => [n, { status: 'pending' }]));
      const since: Record<string, number> = {};
      const done: Record<string, CapturedImage> = {};
      const volumeDone: Record<string, CapturedVolumeSnapshot> = {};
      const isDone = (k: string) => (volumes.has(k) ? !!volumeDone[k] : !!done[k]);
      const byName = new Map(names.map((n) => [instances[n]!.imageName, n]));
      const nameOf = (img: Image) => (img.name ? byName.get(img.name) : undefined);
      const createdHere = new Set<string>();
      /** Volume-backed instances: the snapshots their image names (Nova made them), and what Cinder says of each. */
      const adopted: Record<string, string[]> = {};
      const adoptedStatus = new Map<string, VolumeSnapshot>();
      const adoptedVolume = new Map<string, AttachedVolume | undefined>();
      /** With reportFailed: the members the cloud failed, returned instead of thrown. */
      const failedImages: Record<string, FailedImage> = {};
      /** A create answered 409 (busy) or failed transiently: try again after this time, unless a poll finds it. */
      const notBefore: Record<string, number> = {};
      let polls = 0;
      let failure: unknown;

      const heartbeat = () => ({ images: state, polls, elapsedSeconds: Math.round((Date.now() - started) / 1000) });
      const fail = (key: string, f: FailedImage, err: () => unknown) => {
        if (failure || failedImages[key]) return;
        if (input.reportFailed) failedImages[key] = f;
        else failure = err();
      };
      /** Takes in one listing of the set's images; a failed image ends the capture. */
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
          if (adopt[name] && !adopted[name]) {
            const ids = blockDeviceSnapshotIds(img.properties);
            if (ids.length > 0) adopted[name] = ids;
          }
          if (status === 'active' && !done[name] && (!adopt[name] || adoptedReady(name))) {
            done[name] = {
              imageId: img.id,
              imageName: instances[name]!.imageName,
              created: false,
              seconds: Math.round((Date.now() - since[name]!) / 100) / 10,
            };
          }
          if (FAILED.has(status)) {
            const reason = `the image of ${name} (${img.id}, ${img.name}) is ${status}: the cloud failed the snapshot of server ${instances[name]!.uuid}`;
            fail(
              name,
              { imageId: img.id, status, reason, ...(adopted[name] ? { snapshotIds: adopted[name] } : {}) },
              () => new OpenStackResourceFailedError('image', img.id, status, reason),
            );
          }
        }
      };
      /** Every snapshot a volume-backed instance's image names is known to Cinder and `available`. */
      const adoptedReady = (name: string) => !!adopted[name] && adopted[name].every((id) => adoptedStatus.get(id)?.status.toLowerCase() === 'available');
      /** Takes in one listing of the set's volume snapshots (by metadata); a failed snapshot ends the capture. */
      const absorbSnapshots = (listed: VolumeSnapshot[]) => {
        for (const snap of listed) {
          const status = snap.status.toLowerCase();
          if (GONE_SNAPSHOT.has(status)) continue; // a failed one being deleted to take it again
          const owner = Object.keys(adopted).find((n) => adopted[n]!.includes(snap.id));
          if (owner) {
            adoptedStatus.set(snap.id, snap);
            if (status === 'error') {
              const imageId = state[owner]!.imageId;
              const reason = `volume snapshot ${snap.id} that Nova made with the image of ${owner}${imageId ? ` (${imageId})` : ''} is ${status}: the cloud failed the snapshot of volume ${snap.volumeId}`;
              fail(
                owner,
                { ...(imageId ? { imageId } : {}), status: `volume snapshot ${status}`, reason, snapshotIds: adopted[owner] },
                () => new OpenStackResourceFailedError('volume snapshot', snap.id, status, reason),
              );
            }
            continue;
          }
          const key = volumeKey(snap.metadata[INSTANCE_METADATA] ?? '', { device: snap.metadata[DEVICE_METADATA] ?? null, volumeId: snap.volumeId });
          const member = volumes.get(key);
          if (!member || member.volume.volumeId !== snap.volumeId) continue;
          const prev = state[key]!;
          if (prev.imageId && prev.imageId !== snap.id && prev.status !== 'error') continue;
          state[key] = { imageId: snap.id, status };
          since[key] ??= Date.now();
          if (status === 'available' && !volumeDone[key]) {
            volumeDone[key] = {
              snapshotId: snap.id,
              snapshotName: snap.name ?? volumeSnapshotName(member.instance, member.volume, snapId),
              instance: member.instance,
              volumeId: member.volume.volumeId,
              device: member.volume.device,
              volumeName: member.volume.volumeName,
              size: snap.size,
              created: false,
              adopted: false,
              seconds: Math.round((Date.now() - since[key]!) / 100) / 10,
            };
          }
          if (status === 'error') {
            const reason = `the snapshot of volume ${member.volume.volumeId} (${key}${member.volume.volumeName ? `, ${member.volume.volumeName}` : ''}) is ${status}: the cloud failed it`;
            fail(key, { snapshotId: snap.id, status, reason }, () => new OpenStackResourceFailedError('volume snapshot', snap.id, status, reason));
          }
        }
      };
      /**
       * Gives the snapshots Nova made for a volume-backed image the set's metadata (idempotent), so the
       * store, cleanup and prune find them by metadata like the snapshots the capture makes itself.
       */
      const adoptSnapshots = async () => {
        for (const [name, ids] of Object.entries(adopted)) {
          for (const id of ids.filter((x) => !adoptedVolume.has(x))) {
            const snap = await c.volume.getSnapshot(id, { signal: ctx.signal });
            const volume = adopt[name]!.find((v) => v.volumeId === snap.volumeId);
            await c.volume.setSnapshotMetadata(
              id,
              volumeSnapshotMetadata(input.properties, name, { device: volume?.device ?? null, volumeName: volume?.volumeName ?? null }),
              { signal: ctx.signal },
            );
            adoptedVolume.set(id, volume);
            adoptedStatus.set(id, snap);
          }
        }
      };
      const listSnapshots = async () => {
        if (!withVolumes) return;
        absorbSnapshots(await listSetSnapshots(c, snapId, { signal: ctx.signal }));
        await adoptSnapshots();
        // An image seen active before its snapshots were: done once they are all available.
        for (const name of Object.keys(adopt)) {
          const img = state[name]!;
          if (!done[name] && img.status === 'active' && img.imageId && adoptedReady(name)) {
            done[name] = {
              imageId: img.imageId,
              imageName: instances[name]!.imageName,
              created: false,
              seconds: Math.round((Date.now() - since[name]!) / 100) / 10,
            };
          }
        }
      };
      const anyFailed = () => Object.keys(failedImages).length > 0;
      const inFlight = new Set<Promise<void>>();
      const adoptedResult = (): Record<string, CapturedVolumeSnapshot> =>
        Object.fromEntries(
          Object.entries(adopted).flatMap(([name, ids]) =>
            ids.map((id) => {
              const snap = adoptedStatus.get(id);
              const v = adoptedVolume.get(id);
              const captured: CapturedVolumeSnapshot = {
                snapshotId: id,
                snapshotName: snap?.name ?? null,
                instance: name,
                volumeId: snap?.volumeId ?? v?.volumeId ?? '',
                device: v?.device ?? null,
                volumeName: v?.volumeName ?? null,
                size: snap?.size ?? v?.size ?? 0,
                created: false,
                adopted: true,
                seconds: done[name]?.seconds ?? 0,
              };
              return [volumeKey(name, { device: captured.device, volumeId: captured.volumeId || id }), captured];
            }),
          ),
        );
      const finish = (): CaptureImagesResult => {
        for (const [name, d] of Object.entries(done)) d.created = createdHere.has(name);
        for (const [key, d] of Object.entries(volumeDone)) d.created = createdHere.has(key);
        const volumeSnapshots = { ...volumeDone, ...Object.fromEntries(Object.entries(adoptedResult()).filter(([, v]) => done[v.instance])) };
        return { images: done, polls, ...(withVolumes ? { volumeSnapshots } : {}), ...(input.reportFailed ? { failed: failedImages } : {}) };
      };
      /** With reportFailed: every create sent is answered, then what is done so far and what failed. */
      const settled = async (): Promise<CaptureImagesResult> => {
        await Promise.allSettled([...inFlight]);
        return finish();
      };

      absorb(await setImages(c, snapId, ctx.signal));
      await listSnapshots();
      polls++;
      if (input.requireShutoff && keys.some((n) => state[n]!.status === 'pending')) {
        // A set is consistent only if every VM is still down when an image is taken (a reset run, a retake).
        await requireAllShutoff(c, Object.fromEntries(names.map((n) => [n, instances[n]!.uuid])), ctx.signal);
      }
      const createImage = async (name: string) => {
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
      const createSnapshot = async (key: string) => {
        const { instance, volume } = volumes.get(key)!;
        state[key] = { status: 'creating' };
        since[key] = Date.now();
        try {
          // `force`: the volume is attached (in-use); its server is SHUTOFF, so the data is at rest. No abort signal, as above.
          const snap = await c.volume.createSnapshot({
            volumeId: volume.volumeId,
            name: volumeSnapshotName(instance, volume, snapId),
            description: `SnapSet ${snapId}: ${key}`,
            force: true,
            metadata: volumeSnapshotMetadata(input.properties, instance, volume),
          });
          createdHere.add(key);
          if (!state[key]!.imageId) state[key] = { imageId: snap.id, status: snap.status.toLowerCase() };
        } catch (err) {
          if (err instanceof OpenStackNotFoundError) {
            failure ??= new OpenStackResourceFailedError(
              'volume snapshot',
              volume.volumeId,
              'NOT_FOUND',
              `snapshot of ${key}: no volume ${volume.volumeId} in Cinder`,
            );
            return;
          }
          if (err instanceof OpenStackConflictError || (err instanceof SnapsetError && err.retryable)) {
            if (!state[key]!.imageId) {
              state[key] = { status: 'pending' };
              notBefore[key] = Date.now() + Math.min(maxPollMs, 2000);
            }
            return;
          }
          failure ??= err;
        }
      };

      try {
        for (;;) {
          const inProgress = keys.filter((n) => state[n]!.status !== 'pending' && !isDone(n)).length;
          let room = maxParallel - inProgress;
          const now0 = Date.now();
          for (const key of keys) {
            if (room <= 0 || failure || anyFailed() || ctx.signal?.aborted) break;
            if (state[key]!.status !== 'pending' || (notBefore[key] ?? 0) > now0) continue;
            const p: Promise<void> = (volumes.has(key) ? createSnapshot(key) : createImage(key)).finally(() => inFlight.delete(p));
            inFlight.add(p);
            room--;
          }
          if (failure) throw failure;
          if (anyFailed()) return settled();
          if (keys.every(isDone)) return finish();
          const now = Date.now();
          const notDone = keys.filter((x) => !isDone(x));
          if (now >= deadline && input.reportFailed) {
            for (const n of notDone) {
              const st = state[n]!;
              const what = volumes.has(n) ? `the snapshot of volume ${volumes.get(n)!.volume.volumeId} (${n})` : `the image of ${n}`;
              failedImages[n] = {
                ...(st.imageId ? (volumes.has(n) ? { snapshotId: st.imageId } : { imageId: st.imageId }) : {}),
                ...(adopted[n] ? { snapshotIds: adopted[n] } : {}),
                status: st.status,
                reason: `${what} was not ${volumes.has(n) ? 'available' : 'active'} after ${input.timeoutSeconds} s (last status ${st.status})`,
              };
            }
            return settled();
          }
          if (now >= deadline) {
            const labels = Object.fromEntries(keys.map((n) => [state[n]!.imageId ?? n, n]));
            const last = Object.fromEntries(notDone.map((n) => [state[n]!.imageId ?? n, state[n]!.status]));
            throw new OpenStackWaitTimeoutError('image', last, input.timeoutSeconds, 'active', labels);
          }
          const oldest = Math.min(...notDone.filter((n) => since[n] !== undefined).map((n) => since[n]!), now);
          const interval = Math.min(maxPollMs, Math.max(MIN_POLL_MS, (now - oldest) * POLL_FRACTION), deadline - now);
          await ctx.sleep(interval, heartbeat);
          try {
            absorb(await setImages(c, snapId, ctx.signal));
            await listSnapshots();
            polls++;
          } catch (err) {
            if (!(err instanceof SnapsetError && err.retryable)) throw err;
          }
          ctx.heartbeat(heartbeat());
        }
      } finally {
        // Settle-all: every create sent is answered before this attempt ends, whatever ended it.
        await Promise.allSettled([...inFlight]);
      }
    },

    /**
     * Makes room to take failed images or volume snapshots again: checks that every server of the set
     * is still SHUTOFF (else a non-retryable ConsistencyLostError: the set could no longer be
     * consistent), deletes each failed image (with the snapshots Nova made for it) and each failed
     * snapshot, and lists the set until none of them is left. Idempotent: what is already gone counts
     * as deleted. `captureImages` then makes the missing ones.
     */
    async retakeImages(input: RetakeImagesInput): Promise<RetakeImagesResult> {
      const snapId = validateSnapId(input?.snapId, 'retakeImages');
      const servers = validateMap(input.servers, 'servers', 'retakeImages') as Record<string, string>;
      const failed = validateMap(input.failed, 'failed', 'retakeImages') as RetakeImagesInput['failed'];
      const ctx = activityCtx();
      const c = await client(input);
      await requireAllShutoff(c, servers, ctx.signal);
      const ids = Object.values(failed).flatMap((f) => (f.imageId ? [f.imageId] : []));
      const snapshotIds = [...new Set(Object.values(failed).flatMap((f) => [...(f.snapshotId ? [f.snapshotId] : []), ...(f.snapshotIds ?? [])]))];
      const gone = async (del: () => Promise<void>) => {
        try {
          await del();
        } catch (err) {
          if (!(err instanceof OpenStackNotFoundError)) throw err;
        }
      };
      await mapLimit(ids, REST_PARALLEL, (id) => gone(() => c.image.deleteImage(id, { signal: ctx.signal })), ctx.signal);
      await mapLimit(snapshotIds, REST_PARALLEL, (id) => gone(() => c.volume.deleteSnapshot(id, { signal: ctx.signal })), ctx.signal);
      // Confirmed from the cloud's side: the set's listings no longer show them (a retry of this activity deletes again).
      const left = (await setImages(c, snapId, ctx.signal)).filter((i) => ids.includes(i.id) && !GONE_IMAGE.has(i.status.toLowerCase()));
      const leftSnapshots =
        snapshotIds.length > 0
          ? (await listSetSnapshots(c, snapId, { signal: ctx.signal })).filter((v) => snapshotIds.includes(v.id) && !GONE_SNAPSHOT.has(v.status.toLowerCase()))
          : [];
      if (left.length > 0 || leftSnapshots.length > 0)
        throw new ImagesStillListedError(snapId, [
          ...left.map((i) => `${i.id} (${i.status})`),
          ...leftSnapshots.map((v) => `volume snapshot ${v.id} (${v.status})`),
        ]);
      return { deleted: ids, ...(snapshotIds.length > 0 ? { deletedSnapshots: snapshotIds } : {}) };
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
     * Checks every image of the set is there, `active` and carries its tags, and every volume snapshot
     * is there and `available` (as many as the images say), then adds the completion marker to each
     * image (idempotent). A set that fails the check is never marked.
     */
    async verifySnapset(input: VerifySnapsetInput): Promise<{ complete: true; images: number; volumeSnapshots?: number }> {
      const snapId = validateSnapId(input?.snapId, 'verifySnapset');
      const images = validateMap(input.images, 'images', 'verifySnapset') as Record<string, ExpectedSetImage>;
      const ctx = activityCtx();
      const c = await client(input);
      const [listed, snapshots] = await Promise.all([
        setImages(c, snapId, ctx.signal),
        input.snapshots ? listSetSnapshots(c, snapId, { signal: ctx.signal }) : Promise.resolve(undefined),
      ]);
      const problems = setProblems(snapId, listed, {
        expected: images,
        requireMarker: false,
        ...(snapshots ? { snapshots, expectedSnapshots: input.snapshots } : {}),
      });
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
      return { complete: true, images: listed.length, ...(snapshots ? { volumeSnapshots: snapshots.length } : {}) };
    },

    /**
     * Deletes every image and volume snapshot of the set — found by property and metadata, named by a
     * volume-backed image's block device mapping, or known to the workflow — and lists again until none
     * is left (one answered late shows up in a later round). What is already gone counts as deleted.
     */
    async cleanupSnapset(input: CleanupSnapsetInput): Promise<CleanupSnapsetResult> {
      const snapId = validateSnapId(input?.snapId, 'cleanupSnapset');
      const ctx = activityCtx();
      const c = await client(input);
      const deleted = new Set<string>();
      const deletedSnapshots = new Set<string>();
      const refused = new Map<string, string>();
      let known = [...(input.knownImageIds ?? [])];
      /**
       * Snapshots known by ID — the run's, and those a volume-backed image names (Nova made them; a
       * failure before the capture gave them the set's metadata leaves them without it) — followed one by
       * one until deleted, whether or not a metadata listing finds them.
       */
      const tracked = new Set(input.knownSnapshotIds ?? []);
      /** The tracked snapshots no metadata listing shows, read one by one (gone ones left out). */
      const readUnlisted = async (listedIds: ReadonlySet<string>): Promise<VolumeSnapshot[]> => {
        const unlisted = [...tracked].filter((id) => !listedIds.has(id) && !deletedSnapshots.has(id));
        const read = await mapLimit(
          unlisted,
          REST_PARALLEL,
          async (id) => {
            try {
              return await c.volume.getSnapshot(id, { signal: ctx.signal });
            } catch (err) {
              if (!(err instanceof OpenStackNotFoundError)) throw err;
              deletedSnapshots.add(id); // gone: deleted by an earlier attempt, or with its volume
              return undefined;
            }
          },
          ctx.signal,
        );
        return read.filter((v): v is VolumeSnapshot => v !== undefined && !GONE_SNAPSHOT.has(v.status.toLowerCase()));
      };
      const attempt = async (id: string, done: Set<string>, del: () => Promise<void>, round: number) => {
        try {
          await del();
          done.add(id);
        } catch (err) {
          if (err instanceof OpenStackNotFoundError) done.add(id);
          else if (err instanceof SnapsetError && !err.retryable) refused.set(id, err.message);
          else throw err;
        }
        ctx.heartbeat({ deleted: deleted.size, deletedSnapshots: deletedSnapshots.size, round });
      };
      // Cinder refuses to delete a snapshot still `creating` (400): such ones are waited for, up to a bound.
      const settleBy = Date.now() + SNAPSHOT_SETTLE_MS;
      for (let round = 0; ; round++) {
        const listed = await setImages(c, snapId, ctx.signal);
        const live = listed.filter((i) => !GONE_IMAGE.has(i.status.toLowerCase()));
        const ids = [...new Set([...known, ...live.map((i) => i.id)])].filter((id) => !deleted.has(id) && !refused.has(id));
        // Images first: a volume-backed image names the snapshots Nova made for it, which deleting the image leaves behind.
        for (const id of imageSnapshotIds(listed)) tracked.add(id);
        await mapLimit(ids, REST_PARALLEL, (id) => attempt(id, deleted, () => c.image.deleteImage(id, { signal: ctx.signal }), round));
        const byMetadata = (await listSetSnapshots(c, snapId, { signal: ctx.signal })).filter((v) => !GONE_SNAPSHOT.has(v.status.toLowerCase()));
        const snapshots = [...byMetadata, ...(await readUnlisted(new Set(byMetadata.map((v) => v.id))))];
        const creating = new Set(snapshots.filter((v) => v.status.toLowerCase() === 'creating').map((v) => v.id));
        const snapshotIds = [...new Set(snapshots.map((v) => v.id))].filter((id) => !deletedSnapshots.has(id) && !refused.has(id) && !creating.has(id));
        known = [];
        if (ids.length === 0 && snapshotIds.length === 0 && creating.size === 0) break;
        await mapLimit(snapshotIds, REST_PARALLEL, (id) => attempt(id, deletedSnapshots, () => c.volume.deleteSnapshot(id, { signal: ctx.signal }), round));
        if (creating.size > 0 && Date.now() < settleBy) {
          await ctx.sleep(SNAPSHOT_SETTLE_POLL_MS, () => ({ deleted: deleted.size, deletedSnapshots: deletedSnapshots.size, creating: creating.size }));
          continue;
        }
        if (round >= 4) break;
      }
      const [remaining, byMetadata] = await Promise.all([setImages(c, snapId, ctx.signal), listSetSnapshots(c, snapId, { signal: ctx.signal })]);
      const remainingSnapshots = [...byMetadata, ...(await readUnlisted(new Set(byMetadata.map((v) => v.id))))];
      return {
        deleted: [...deleted],
        ...(deletedSnapshots.size > 0 || remainingSnapshots.length > 0 ? { deletedSnapshots: [...deletedSnapshots] } : {}),
        left: [
          ...remaining
            .filter((i) => !GONE_IMAGE.has(i.status.toLowerCase()))
            .map((i) => ({ id: i.id, name: i.name, reason: refused.get(i.id) ?? `still ${i.status}` })),
          ...remainingSnapshots
            .filter((v) => !GONE_SNAPSHOT.has(v.status.toLowerCase()))
            .map((v) => ({ id: v.id, name: v.name, kind: 'volume snapshot' as const, reason: refused.get(v.id) ?? `still ${v.status}` })),
        ],
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
