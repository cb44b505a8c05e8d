/**
 * The one store of SnapSets on the OpenStack side (plain Node): read one set, list sets, delete a
 * set. The CLI reads it directly; the activities (capture, cleanup, prune, revive) through it. The
 * rules (grouping, completeness, expiry, order) are the model's, in src/shared/snapset/.
 */
import { SnapsetError } from '../shared/errors.js';
import { groupSnapsets, SNAP_ID_PROPERTY, SNAPSET_TAG, snapsetOf, tag, type StoredSnapset } from '../shared/snapset/index.js';
import type { OpenStackClient } from './client.js';
import type { CallOptions } from './compute.js';
import { OpenStackNotFoundError } from './errors.js';
import type { Image } from './image.js';

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

/** The SnapSets in the store, newest first. */
export async function readSnapsets(c: OpenStackClient, opts: ReadSnapsetsOptions = {}): Promise<StoredSnapset[]> {
  const sets = groupSnapsets(await listStoreImages(c, opts));
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
  const [byProperty, tagged] = await Promise.all([
    listSetImages(c, snapId, opts),
    c.image.listAllImages({ tags: [tag('snap_id', snapId)], limit: PAGE }, opts),
  ]);
  return snapsetOf(snapId, [...byProperty, ...tagged]);
}

/** One set, or undefined when no image of it exists. */
export async function readSnapset(c: OpenStackClient, snapId: string, opts: CallOptions = {}): Promise<StoredSnapset | undefined> {
  const set = await readSet(c, snapId, opts);
  return set.images.length > 0 ? set : undefined;
}

export interface DeleteSetResult {
  snapId: string;
  /** Images deleted now or already gone (404). */
  deleted: string[];
  /** Images the cloud refused to delete (protected, forbidden), with its answer. */
  left: { imageId: string; reason: string }[];
}

/**
 * Deletes every image of a set: the ones given and any the store lists for it now (found by tag and
 * property). Idempotent: an image already gone (404) counts as deleted. Refusals (403 on a protected
 * image) are reported, not thrown; transient errors are thrown for the caller's retry.
 */
export async function deleteSnapsetImages(
  c: OpenStackClient,
  snapId: string,
  opts: CallOptions & { knownImageIds?: readonly string[]; onDeleted?: (imageId: string) => void } = {},
): Promise<DeleteSetResult> {
  const now = await readSnapset(c, snapId, opts);
  const ids = [...new Set([...(opts.knownImageIds ?? []), ...(now?.images.map((i) => i.imageId) ?? [])])];
  const deleted: string[] = [];
  const left: DeleteSetResult['left'] = [];
  for (const id of ids) {
    try {
      await c.image.deleteImage(id, opts);
      deleted.push(id);
    } catch (err) {
      if (err instanceof OpenStackNotFoundError) deleted.push(id);
      else if (err instanceof SnapsetError && !err.retryable) left.push({ imageId: id, reason: (err as Error).message });
      else throw err;
    }
    opts.onDeleted?.(id);
  }
  return { snapId, deleted, left };
}
