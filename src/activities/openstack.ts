/**
 * OpenStack activities: thin, idempotent adapters over `src/openstack`. Each takes one input object
 * (with an optional `cloud`, else the worker's default cloud) and returns plain JSON. Typed errors
 * become `ApplicationFailure`s in `withFailureMapping` (non-retryable: 400/401/403/404, config,
 * failed resources, exhausted waits; retryable: 409, 5xx, network, request timeouts).
 */
import {
  OpenStackConflictError,
  OpenStackNotFoundError,
  OpenStackResourceFailedError,
  OpenStackWaitTimeoutError,
  type Image,
  type OpenStackClient,
  type OpenStackClientProvider,
  type Server,
} from '../openstack/index.js';
import { SnapsetError, ValidationError, type FieldIssue } from '../shared/errors.js';
import { SNAP_ID_PROPERTY, SNAPSET_TAG } from '../shared/snapset.js';
import { activityCtx, mapLimit } from './context.js';
import { serversByUuid } from './snapset-images.js';

export { SNAP_ID_PROPERTY, SNAPSET_TAG };

/** What the OpenStack activities need; the worker passes `{ openstack: new CloudsYamlClientProvider() }`. */
export interface OpenstackActivityDeps {
  /** Clients per cloud (clouds.yaml + secure.yaml; `cloud` omitted = `OS_CLOUD` / the only cloud). */
  openstack: OpenStackClientProvider;
}

export interface CloudInput {
  /** clouds.yaml cloud name. @default the worker's OS_CLOUD */
  cloud?: string;
}

export interface ServersInput extends CloudInput {
  /** Nova server UUIDs. */
  uuids: string[];
}

export interface ServerStatusView {
  name: string;
  /** Nova `status` (`ACTIVE`, `SHUTOFF`, ...); `NOT_FOUND` when Nova has no such server. */
  status: string;
  vmState: string | null;
  taskState: string | null;
  powerState: number | null;
}

export interface ServerStatusesResult {
  /** uuid → Nova status, `NOT_FOUND` when missing. */
  statuses: Record<string, string>;
  servers: Record<string, ServerStatusView>;
}

export interface WaitServersShutoffInput extends ServersInput {
  /** uuid → instance name, for messages. */
  names?: Record<string, string>;
  /** Give up after this long (seed: 25 × 10 s). */
  timeoutSeconds: number;
  /** @default 10 */
  pollSeconds?: number;
}

export interface WaitServersShutoffResult {
  statuses: Record<string, string>;
  waitedSeconds: number;
}

export interface StopServersResult {
  /** `os-stop` sent (or a stop already in progress). */
  stopped: string[];
  alreadyShutoff: string[];
}

export interface CreateServerImageInput extends CloudInput {
  /** Server UUID. */
  uuid: string;
  /** `hotstack-{instance_name}-snapshot-{snap_id}`. */
  imageName: string;
  /** Image properties; must contain `hotstack_snap_id` (the idempotency key with the name). */
  metadata: Record<string, string>;
}

export interface CreateServerImageResult {
  imageId: string;
  imageName: string;
  /** false: an image of this name and snap id already existed (a retried or re-run activity). */
  created: boolean;
  status: string;
}

export interface WaitImageActiveInput extends CloudInput {
  imageId: string;
  /** Give up after this long (seed: 1200 s). */
  timeoutSeconds: number;
  /** @default 10 */
  pollSeconds?: number;
}

export interface WaitImageActiveResult {
  imageId: string;
  status: 'active';
  size: number | null;
  checksum: string | null;
  waitedSeconds: number;
}

export interface TagImageInput extends CloudInput {
  imageId: string;
  /** Tags to be present, added in this order (the completion marker last). */
  tags: string[];
}

export interface TagImageResult {
  imageId: string;
  /** Tags this call added (the others were there already). */
  added: string[];
  /** Every tag of the image afterwards. */
  tags: string[];
}

export interface ListSnapsetImagesInput extends CloudInput {
  /** Only the images of this set (`snap_id=X` tag). */
  snapId?: string;
}

/** One image of a SnapSet, plain and secret-free: Glance's base attributes and the `hotstack_*` properties. */
export type SnapsetImageSummary = Pick<Image, 'id' | 'name' | 'status' | 'tags' | 'created_at' | 'updated_at' | 'size'> & {
  properties: Record<string, string>;
};

export interface ListSnapsetImagesResult {
  images: SnapsetImageSummary[];
}

export interface DeleteImagesInput extends CloudInput {
  imageIds: string[];
}

export interface DeleteImagesResult {
  deleted: string[];
  /** 404: somebody (or an earlier attempt) deleted them already. */
  alreadyGone: string[];
}


const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FAILED_IMAGE_STATES = new Set(['killed', 'deleted', 'pending_delete']);
const DEFAULT_POLL_SECONDS = 10;

// ---- input checks: bad input is a non-retryable ValidationError naming the field ----

function check(issues: FieldIssue[], source: string): void {
  if (issues.length) throw new ValidationError(issues, { source });
}

function checkCloud(input: CloudInput, issues: FieldIssue[]): void {
  if (input.cloud !== undefined && (typeof input.cloud !== 'string' || input.cloud.trim() === '')) {
    issues.push({ path: 'cloud', message: 'expected a cloud name from clouds.yaml' });
  }
}

function checkObject(input: unknown, source: string): void {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError([{ path: '', message: 'expected one input object' }], { source });
  }
}

function checkIdList(v: unknown, path: string, issues: FieldIssue[], uuid: boolean): void {
  if (!Array.isArray(v) || v.length === 0) {
    issues.push({ path, message: 'expected a non-empty list' });
    return;
  }
  v.forEach((id, i) => {
    if (typeof id !== 'string' || (uuid ? !UUID.test(id) : id.trim() === '')) {
      issues.push({ path: `${path}[${i}]`, message: uuid ? 'expected a UUID' : 'expected an id' });
    }
  });
}

function checkSeconds(v: unknown, path: string, issues: FieldIssue[], optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) issues.push({ path, message: 'expected a positive number of seconds' });
}

function serverView(s: Server): ServerStatusView {
  return { name: s.name, status: s.status, vmState: s.vmState, taskState: s.taskState, powerState: s.powerState };
}

const NOT_FOUND_VIEW: ServerStatusView = { name: '', status: 'NOT_FOUND', vmState: null, taskState: null, powerState: null };

function summary(img: Image): SnapsetImageSummary {
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(img.properties)) if (k.startsWith('hotstack_')) properties[k] = String(v);
  return {
    id: img.id,
    name: img.name,
    status: img.status,
    tags: [...img.tags],
    created_at: img.created_at,
    updated_at: img.updated_at,
    size: img.size,
    properties,
  };
}

/** An error a poll loop may shrug off and try again at the next poll (409, 5xx, network, timeouts). */
function transient(err: unknown): err is SnapsetError {
  return err instanceof SnapsetError && err.retryable;
}

export function createOpenstackActivities(deps: OpenstackActivityDeps) {
  const client = (input: CloudInput): Promise<OpenStackClient> => deps.openstack.client(input.cloud);

  /** Images named `imageName` carrying `hotstack_snap_id`, oldest first, failed ones left out. */
  async function findSnapshot(c: OpenStackClient, imageName: string, snapId: string, signal?: AbortSignal): Promise<Image | undefined> {
    const found = await c.image.listAllImages(
      { name: imageName, properties: { [SNAP_ID_PROPERTY]: snapId }, sort: 'created_at:asc' },
      { signal },
    );
    return found.find((img) => !FAILED_IMAGE_STATES.has(img.status.toLowerCase()));
  }

  return {
    /** Nova status of each server; a missing server is `NOT_FOUND` (not an error here). */
    async getServerStatuses(input: ServersInput): Promise<ServerStatusesResult> {
      checkObject(input, 'getServerStatuses');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      checkIdList(input.uuids, 'uuids', issues, true);
      check(issues, 'getServerStatuses');
      const { signal } = activityCtx();
      const c = await client(input);
      const found = await serversByUuid(c, input.uuids, signal);
      const views = input.uuids.map((id) => (found.has(id) ? serverView(found.get(id)!) : NOT_FOUND_VIEW));
      const statuses: Record<string, string> = {};
      const servers: Record<string, ServerStatusView> = {};
      input.uuids.forEach((id, i) => {
        statuses[id] = views[i]!.status;
        servers[id] = views[i]!;
      });
      return { statuses, servers };
    },

    /**
     * Polls until every server is `SHUTOFF`, heartbeating the statuses. A missing server is a
     * non-retryable 404; a server in `ERROR` fails at once; running out of time is non-retryable.
     */
    async waitServersShutoff(input: WaitServersShutoffInput): Promise<WaitServersShutoffResult> {
      checkObject(input, 'waitServersShutoff');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      checkIdList(input.uuids, 'uuids', issues, true);
      checkSeconds(input.timeoutSeconds, 'timeoutSeconds', issues);
      checkSeconds(input.pollSeconds, 'pollSeconds', issues, true);
      check(issues, 'waitServersShutoff');
      const ctx = activityCtx();
      const c = await client(input);
      const pollMs = (input.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
      const started = Date.now();
      const deadline = started + input.timeoutSeconds * 1000;
      const statuses: Record<string, string> = Object.fromEntries(input.uuids.map((u) => [u, 'UNKNOWN']));
      for (;;) {
        let lastError: string | undefined;
        const pending = input.uuids.filter((u) => statuses[u] !== 'SHUTOFF');
        try {
          const found = await serversByUuid(c, pending, ctx.signal);
          for (const id of pending) {
            const label = input.names?.[id] ? `${input.names[id]} (server ${id})` : `server ${id}`;
            const s = found.get(id);
            if (!s) throw new OpenStackResourceFailedError('server', id, 'NOT_FOUND', `${label} is gone from Nova`);
            statuses[id] = s.status;
            if (s.status === 'ERROR') throw new OpenStackResourceFailedError('server', id, 'ERROR', `${label} (${s.name}) is in ERROR`);
          }
        } catch (err) {
          if (!transient(err)) throw err;
          lastError = err.message;
        }
        const waitedSeconds = Math.round((Date.now() - started) / 1000);
        ctx.heartbeat({ statuses, waitedSeconds, ...(lastError ? { lastError } : {}) });
        if (input.uuids.every((u) => statuses[u] === 'SHUTOFF')) return { statuses, waitedSeconds };
        if (Date.now() + pollMs > deadline) {
          throw new OpenStackWaitTimeoutError('server', statuses, input.timeoutSeconds, 'SHUTOFF', input.names);
        }
        await ctx.sleep(pollMs, () => ({ statuses, waitedSeconds: Math.round((Date.now() - started) / 1000) }));
      }
    },

    /** `os-stop` for every server not yet `SHUTOFF` (idempotent: skips stopped and stopping ones). */
    async stopServers(input: ServersInput): Promise<StopServersResult> {
      checkObject(input, 'stopServers');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      checkIdList(input.uuids, 'uuids', issues, true);
      check(issues, 'stopServers');
      const { signal } = activityCtx();
      const c = await client(input);
      const result: StopServersResult = { stopped: [], alreadyShutoff: [] };
      const outcome = await mapLimit(input.uuids, 8, async (id): Promise<'stopped' | 'alreadyShutoff'> => {
        const s = await c.compute.getServer(id, { signal });
        if (s.status === 'SHUTOFF') return 'alreadyShutoff';
        if (s.taskState === 'powering-off') return 'stopped';
        try {
          await c.compute.stopServer(id, { signal });
          return 'stopped';
        } catch (err) {
          if (!(err instanceof OpenStackConflictError)) throw err;
          // Busy or already stopping/stopped by someone else: fine if it is on its way down.
          const again = await c.compute.getServer(id, { signal });
          if (again.status === 'SHUTOFF') return 'alreadyShutoff';
          if (again.taskState === 'powering-off') return 'stopped';
          throw err;
        }
      });
      input.uuids.forEach((id, i) => result[outcome[i]!].push(id));
      return result;
    },

    /**
     * Nova `createImage`, idempotently: an image with this name and `hotstack_snap_id` (not failed)
     * is returned instead of making a second one; a 409 (server busy, e.g. snapshotting for an
     * earlier attempt whose answer was lost) looks again before failing.
     */
    async createServerImage(input: CreateServerImageInput): Promise<CreateServerImageResult> {
      checkObject(input, 'createServerImage');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      if (typeof input.uuid !== 'string' || !UUID.test(input.uuid)) issues.push({ path: 'uuid', message: 'expected a UUID' });
      if (typeof input.imageName !== 'string' || input.imageName.trim() === '' || input.imageName.length > 255) {
        issues.push({ path: 'imageName', message: 'expected a name of 1 to 255 characters' });
      }
      const md = input.metadata as unknown;
      if (!md || typeof md !== 'object' || Array.isArray(md)) {
        issues.push({ path: 'metadata', message: 'expected a mapping of strings' });
      } else {
        for (const [k, v] of Object.entries(md)) {
          if (typeof v !== 'string' || v.length > 255) issues.push({ path: `metadata.${k}`, message: 'expected a string of at most 255 characters' });
        }
        const snap = (md as Record<string, unknown>)[SNAP_ID_PROPERTY];
        if (typeof snap !== 'string' || snap === '') issues.push({ path: `metadata.${SNAP_ID_PROPERTY}`, message: 'required (the idempotency key)' });
      }
      check(issues, 'createServerImage');
      const { signal } = activityCtx();
      const c = await client(input);
      const snapId = input.metadata[SNAP_ID_PROPERTY]!;
      const existing = await findSnapshot(c, input.imageName, snapId, signal);
      if (existing) return { imageId: existing.id, imageName: input.imageName, created: false, status: existing.status };
      try {
        const { imageId } = await c.compute.createImage(input.uuid, input.imageName, input.metadata, { signal });
        return { imageId, imageName: input.imageName, created: true, status: 'queued' };
      } catch (err) {
        if (!(err instanceof OpenStackConflictError)) throw err;
        const again = await findSnapshot(c, input.imageName, snapId, signal);
        if (again) return { imageId: again.id, imageName: input.imageName, created: false, status: again.status };
        throw err;
      }
    },

    /**
     * Polls the image until `active`, heartbeating its status; `killed`/`deleted` (or gone) fail at
     * once and for good; cancellation stops the wait (and any request in flight).
     */
    async waitImageActive(input: WaitImageActiveInput): Promise<WaitImageActiveResult> {
      checkObject(input, 'waitImageActive');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      if (typeof input.imageId !== 'string' || input.imageId.trim() === '') issues.push({ path: 'imageId', message: 'expected an image id' });
      checkSeconds(input.timeoutSeconds, 'timeoutSeconds', issues);
      checkSeconds(input.pollSeconds, 'pollSeconds', issues, true);
      check(issues, 'waitImageActive');
      const ctx = activityCtx();
      const c = await client(input);
      const pollMs = (input.pollSeconds ?? DEFAULT_POLL_SECONDS) * 1000;
      const started = Date.now();
      const deadline = started + input.timeoutSeconds * 1000;
      let status = 'unknown';
      for (;;) {
        let lastError: string | undefined;
        try {
          const img = await c.image.getImage(input.imageId, { signal: ctx.signal });
          status = img.status;
          const s = status.toLowerCase();
          if (s === 'active') {
            const waitedSeconds = Math.round((Date.now() - started) / 1000);
            ctx.heartbeat({ imageId: img.id, status, waitedSeconds });
            return { imageId: img.id, status: 'active', size: img.size, checksum: (img.raw.checksum as string | null) ?? null, waitedSeconds };
          }
          if (FAILED_IMAGE_STATES.has(s)) throw new OpenStackResourceFailedError('image', input.imageId, status, `image ${input.imageId} (${img.name ?? 'unnamed'}) is ${status}`);
        } catch (err) {
          if (err instanceof OpenStackNotFoundError) {
            throw new OpenStackResourceFailedError('image', input.imageId, 'deleted', `image ${input.imageId} is gone (deleted)`);
          }
          if (!transient(err)) throw err;
          lastError = err.message;
        }
        ctx.heartbeat({ imageId: input.imageId, status, waitedSeconds: Math.round((Date.now() - started) / 1000), ...(lastError ? { lastError } : {}) });
        if (Date.now() + pollMs > deadline) {
          throw new OpenStackWaitTimeoutError('image', { [input.imageId]: status }, input.timeoutSeconds, 'active');
        }
        await ctx.sleep(pollMs, () => ({ imageId: input.imageId, status, waitedSeconds: Math.round((Date.now() - started) / 1000) }));
      }
    },

    /** Adds the tags the image lacks, in order (idempotent: present tags are not PUT again). */
    async tagImage(input: TagImageInput): Promise<TagImageResult> {
      checkObject(input, 'tagImage');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      if (typeof input.imageId !== 'string' || input.imageId.trim() === '') issues.push({ path: 'imageId', message: 'expected an image id' });
      if (!Array.isArray(input.tags) || input.tags.length === 0) issues.push({ path: 'tags', message: 'expected a non-empty list' });
      else
        input.tags.forEach((t, i) => {
          if (typeof t !== 'string' || t === '' || t.length > 255) issues.push({ path: `tags[${i}]`, message: 'expected a tag of 1 to 255 characters' });
        });
      check(issues, 'tagImage');
      const { signal } = activityCtx();
      const c = await client(input);
      const img = await c.image.getImage(input.imageId, { signal });
      const have = new Set(img.tags);
      const added: string[] = [];
      for (const tag of input.tags) {
        if (have.has(tag)) continue;
        await c.image.addTag(input.imageId, tag, { signal });
        have.add(tag);
        added.push(tag);
      }
      return { imageId: input.imageId, added, tags: [...have] };
    },

    /** Images tagged `hotstack-snapset` (and `snap_id=X` when given), newest first, all pages. */
    async listSnapsetImages(input: ListSnapsetImagesInput = {}): Promise<ListSnapsetImagesResult> {
      checkObject(input, 'listSnapsetImages');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      if (input.snapId !== undefined && (typeof input.snapId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(input.snapId))) {
        issues.push({ path: 'snapId', message: 'expected a snap id (URL-safe base64)' });
      }
      check(issues, 'listSnapsetImages');
      const { signal } = activityCtx();
      const c = await client(input);
      const tags = [SNAPSET_TAG, ...(input.snapId ? [`snap_id=${input.snapId}`] : [])];
      const images = await c.image.listAllImages({ tags, sort: 'created_at:desc' }, { signal });
      return { images: images.map(summary) };
    },

    /** Deletes images; an image already gone (404) counts as deleted. */
    async deleteImages(input: DeleteImagesInput): Promise<DeleteImagesResult> {
      checkObject(input, 'deleteImages');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      if (!Array.isArray(input.imageIds)) issues.push({ path: 'imageIds', message: 'expected a list' });
      else
        input.imageIds.forEach((id, i) => {
          if (typeof id !== 'string' || id.trim() === '') issues.push({ path: `imageIds[${i}]`, message: 'expected an image id' });
        });
      check(issues, 'deleteImages');
      const result: DeleteImagesResult = { deleted: [], alreadyGone: [] };
      if (input.imageIds.length === 0) return result;
      const { signal } = activityCtx();
      const c = await client(input);
      const outcome = await mapLimit(input.imageIds, 4, async (id): Promise<'deleted' | 'alreadyGone'> => {
        try {
          await c.image.deleteImage(id, { signal });
          return 'deleted';
        } catch (err) {
          if (err instanceof OpenStackNotFoundError) return 'alreadyGone';
          throw err;
        }
      });
      input.imageIds.forEach((id, i) => result[outcome[i]!].push(id));
      return result;
    },

    /** `os-start` for every server not yet `ACTIVE` (idempotent). */
    async startServers(input: ServersInput): Promise<{ started: string[]; alreadyActive: string[] }> {
      checkObject(input, 'startServers');
      const issues: FieldIssue[] = [];
      checkCloud(input, issues);
      checkIdList(input.uuids, 'uuids', issues, true);
      check(issues, 'startServers');
      const { signal } = activityCtx();
      const c = await client(input);
      const result = { started: [] as string[], alreadyActive: [] as string[] };
      const outcome = await mapLimit(input.uuids, 8, async (id): Promise<'started' | 'alreadyActive'> => {
        const s = await c.compute.getServer(id, { signal });
        if (s.status === 'ACTIVE') return 'alreadyActive';
        if (s.taskState === 'powering-on') return 'started';
        try {
          await c.compute.startServer(id, { signal });
          return 'started';
        } catch (err) {
          if (!(err instanceof OpenStackConflictError)) throw err;
          const again = await c.compute.getServer(id, { signal });
          if (again.status === 'ACTIVE') return 'alreadyActive';
          if (again.taskState === 'powering-on') return 'started';
          throw err;
        }
      });
      input.uuids.forEach((id, i) => result[outcome[i]!].push(id));
      return result;
    },
  };
}

export type OpenstackActivities = ReturnType<typeof createOpenstackActivities>;
