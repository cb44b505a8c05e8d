/**
 * The one store of SnapSets on the OpenStack side (plain Node): read one set, list sets, delete a
 * set. The CLI reads it directly; the activities (capture, cleanup, prune, revive) through it. The
 * rules (grouping, completeness, expiry, order) are the model's, in src/shared/snapset/.
 */
import { SnapsetError } from '../shared/errors.js';
import {
  blockDeviceSnapshotIds,
  groupSnapsets,
  SNAP_ID_PROPERTY,
  SNAPSET_TAG,
  snapIdOfSnapshot,
  snapsetOf,
  tag,
  type StoredSnapset,
} from '../shared/snapset/index.js';
import type { OpenStackClient } from './client.js';
import type { CallOptions } from './compute.js';
import { OpenStackEndpointNotFoundError, OpenStackNotFoundError } from './errors.js';
import type { Image } from './image.js';
import type { VolumeSnapshot } from './volume.js';

/** Glance's largest page: fewer round trips over a big project. */
const PAGE = 1000;

export interface ReadSnapsetsOptions extends CallOptions {
  /** Only sets of this stack (filtered after grouping: older images carry the stack only in their workflow ID). */
  stackName?: string;
}

/**
 * Every image that may belong to a SnapSet. Glance filters by tag and by a property's value, never by
 * "has property", so this is two listings:
 * - `tag=hotstack-snapset`: every tagged image (complete sets, sets that failed after tagging, sets of
 *   the original Ansible role, which only tags);
 * - `image_type=snapshot` (Nova sets it on every `createImage` image), kept when it carries
 *   `hotstack_snap_id`: half-made sets that have no tags yet. This one costs a listing of every
 *   snapshot of the project, ours or not — one page per 1000 images.
 */
export async function listStoreImages(c: OpenStackClient, opts: CallOptions = {}): Promise<Image[]> {
  const [tagged, snapshots] = await Promise.all([
    c.image.listAllImages({ tags: [SNAPSET_TAG], limit: PAGE }, opts),
    c.image.listAllImages({ properties: { image_type: 'snapshot' }, limit: PAGE }, opts),
  ]);
  const byId = new Map<string, Image>();
  for (const img of [...tagged, ...snapshots.filter((i) => typeof i.properties[SNAP_ID_PROPERTY] === 'string')]) byId.set(img.id, img);
  return [...byId.values()];
}

/** A cloud without a block-storage service in its catalog has no volume snapshots: an empty list, not an error. */
async function volumeSnapshotsOrNone(list: () => Promise<VolumeSnapshot[]>): Promise<VolumeSnapshot[]> {
  try {
    return await list();
  } catch (err) {
    if (err instanceof OpenStackEndpointNotFoundError) return [];
    throw err;
  }
}

/**
 * Every Cinder volume snapshot that belongs to a SnapSet. Cinder filters metadata by value, never by
 * "has key", so this lists the project's snapshots and keeps those carrying `hotstack_snap_id`.
 */
export function listStoreSnapshots(c: OpenStackClient, opts: CallOptions = {}): Promise<VolumeSnapshot[]> {
  return volumeSnapshotsOrNone(async () => (await c.volume.listAllSnapshots({ limit: PAGE }, opts)).filter((v) => snapIdOfSnapshot(v) !== null));
}

/** Every volume snapshot of a set: those carrying `hotstack_snap_id=snapId` in their metadata (none on a cloud without Cinder). */
export function listSetSnapshots(c: OpenStackClient, snapId: string, opts: CallOptions = {}): Promise<VolumeSnapshot[]> {
  return volumeSnapshotsOrNone(() => c.volume.listAllSnapshots({ metadata: { [SNAP_ID_PROPERTY]: snapId }, limit: PAGE }, opts));
}

/** The SnapSets in the store (images and volume snapshots), newest first. */
export async function readSnapsets(c: OpenStackClient, opts: ReadSnapsetsOptions = {}): Promise<StoredSnapset[]> {
  const [images, snapshots] = await Promise.all([listStoreImages(c, opts), listStoreSnapshots(c, opts)]);
  const sets = groupSnapsets(images, snapshots);
  return opts.stackName ? sets.filter((s) => s.stackName === opts.stackName) : sets;
}

/**
 * Every image carrying `hotstack_snap_id=snapId`: the set as its capture made it, from the moment
 * each image exists (Nova copies the `createImage` metadata), long before it has tags.
 */
export function listSetImages(c: OpenStackClient, snapId: string, opts: CallOptions = {}): Promise<Image[]> {
  return c.image.listAllImages({ properties: { [SNAP_ID_PROPERTY]: snapId }, limit: PAGE }, opts);
}

/**
 * One set as the model reads it, even when no image of it exists (then it is incomplete, saying so):
 * found by its property and by the seed's `snap_id=` tag (images made before the property existed).
 */
export async function readSet(c: OpenStackClient, snapId: string, opts: CallOptions = {}): Promise<StoredSnapset> {
  const [byProperty, tagged, snapshots] = await Promise.all([
    listSetImages(c, snapId, opts),
    c.image.listAllImages({ tags: [tag('snap_id', snapId)], limit: PAGE }, opts),
    listSetSnapshots(c, snapId, opts),
  ]);
  return snapsetOf(snapId, [...byProperty, ...tagged], snapshots);
}

/** One set, or undefined when nothing of it exists (no image, no volume snapshot). */
export async function readSnapset(c: OpenStackClient, snapId: string, opts: CallOptions = {}): Promise<StoredSnapset | undefined> {
  const set = await readSet(c, snapId, opts);
  return set.images.length > 0 || set.volumeSnapshots.length > 0 ? set : undefined;
}

/** What a delete could not remove: an image (`imageId`) or a volume snapshot (`snapshotId`), with the cloud's answer. */
export interface LeftBehind {
  imageId?: string;
  snapshotId?: string;
  reason: string;
}

export interface DeleteSetResult {
  snapId: string;
  /** Images deleted now or already gone (404). */
  deleted: string[];
  /** Volume snapshots deleted now or already gone (404). */
  deletedSnapshots: string[];
  /** What the cloud refused to delete (a protected image, a snapshot in use), with its answer. */
  left: LeftBehind[];
}

/** `DELETE` that counts 404 as done, reports refusals (non-retryable answers) and throws the transient rest. */
async function deleteOne(del: () => Promise<void>): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await del();
  } catch (err) {
    if (err instanceof OpenStackNotFoundError) return { ok: true };
    if (err instanceof SnapsetError && !err.retryable) return { ok: false, reason: (err as Error).message };
    throw err;
  }
  return { ok: true };
}

/**
 * The volume snapshots an image of a volume-backed server points at (its `block_device_mapping`):
 * Nova made them with the image, and deleting the image leaves them behind.
 */
export function imageSnapshotIds(images: readonly Pick<Image, 'properties'>[]): string[] {
  return [...new Set(images.flatMap((i) => blockDeviceSnapshotIds(i.properties)))];
}

/**
 * Deletes every image of a set: the ones given and any the store lists for it now (found by tag and
 * property). Idempotent: an image already gone (404) counts as deleted. Refusals (403 on a protected
 * image) are reported, not thrown; transient errors are thrown for the caller's retry.
 */
export async function deleteSnapsetImages(
  c: OpenStackClient,
  snapId: string,
  opts: CallOptions & { knownImageIds?: readonly string[]; knownSnapshotIds?: readonly string[]; onDeleted?: (id: string) => void } = {},
): Promise<DeleteSetResult> {
  const [byProperty, tagged, snapshots] = await Promise.all([
    listSetImages(c, snapId, opts),
    c.image.listAllImages({ tags: [tag('snap_id', snapId)], limit: PAGE }, opts),
    listSetSnapshots(c, snapId, opts),
  ]);
  const images = [...byProperty, ...tagged];
  const ids = [...new Set([...(opts.knownImageIds ?? []), ...images.map((i) => i.id)])];
  // Images first (a volume-backed image names its snapshots), then every snapshot: by metadata, known, or named by an image.
  const snapshotIds = [...new Set([...(opts.knownSnapshotIds ?? []), ...snapshots.map((v) => v.id), ...imageSnapshotIds(images)])];
  const result: DeleteSetResult = { snapId, deleted: [], deletedSnapshots: [], left: [] };
  for (const id of ids) {
    const r = await deleteOne(() => c.image.deleteImage(id, opts));
    if (r.ok) result.deleted.push(id);
    else result.left.push({ imageId: id, reason: r.reason });
    opts.onDeleted?.(id);
  }
  for (const id of snapshotIds) {
    const r = await deleteOne(() => c.volume.deleteSnapshot(id, opts));
    if (r.ok) result.deletedSnapshots.push(id);
    else result.left.push({ snapshotId: id, reason: r.reason });
    opts.onDeleted?.(id);
  }
  return result;
}
