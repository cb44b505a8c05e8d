/**
 * What a SnapSet is, read from the image store (DESIGN §1, §5, §10): which images form a set, its
 * stack, when it was made, when it expires, whether it is complete — one list of problems, one
 * message per problem — and which set is newer. Every reader (`list`, `show`, `latest`, prune,
 * revive's set check, the capture's verification) goes through these functions.
 *
 * Pure and clock-free: a function that needs the time takes `now` (ms), so the CLI passes
 * `Date.now()`, a workflow its own deterministic time, and tests any instant they like.
 */
import { stackOfCaptureWorkflowId } from '../workflow-api.js';
import {
  COMPLETE_TAG,
  DEVICE_METADATA,
  HOTSTACK_TAG,
  INSTANCE_METADATA,
  parseImageName,
  SEED_TAG_KEYS,
  SET_SIZE_PROPERTY,
  SET_VOLUMES_PROPERTY,
  SNAP_ID_PROPERTY,
  SNAPSET_TAG,
  STACK_NAME_PROPERTY,
  tagValue,
  VOLUME_NAME_METADATA,
  volumeKey,
  WORKFLOW_ID_PROPERTY,
} from './names.js';

/** DESIGN §1: the rotated kubelet certificates live 30 days, so a set older than that cannot be revived. */
export const SNAPSET_LIFETIME_MS = 30 * 86_400_000;

/** Glance image states after which an image will never become `active`. */
export const FAILED_IMAGE_STATES: ReadonlySet<string> = new Set(['killed', 'deleted', 'pending_delete', 'deactivated']);

/** What the model needs of a Glance image (src/openstack `Image` fits). */
export interface StoreImage {
  id: string;
  name: string | null;
  status: string;
  tags: readonly string[];
  /** Glance `created_at` (whole seconds). */
  created_at: string;
  properties: Readonly<Record<string, unknown>>;
}

/** What the model needs of a Cinder volume snapshot (src/openstack `VolumeSnapshot` fits). */
export interface StoreVolumeSnapshot {
  id: string;
  name: string | null;
  /** Cinder status: `creating`, `available`, `error`, `deleting`, … */
  status: string;
  volumeId: string;
  /** GiB. */
  size: number;
  metadata: Readonly<Record<string, string>>;
  createdAt: string;
}

/** One volume snapshot of a stored set. */
export interface StoredVolumeSnapshot {
  snapshotId: string;
  snapshotName: string | null;
  volumeId: string;
  /** The instance the volume was attached to (`hotstack_instance`), when recorded. */
  instance: string | null;
  /** Its device on that instance (`/dev/vdb`), when recorded. */
  device: string | null;
  volumeName: string | null;
  /** GiB. */
  size: number;
  /** Cinder status, lower case. */
  status: string;
  createdAt: string;
}

/** One image of a stored set. */
export interface StoredSnapsetImage {
  imageId: string;
  imageName: string | null;
  /** Instance name: the `name=` tag, else read from the image name `hotstack-<name>-snapshot-<snap_id>`, else the image ID. */
  name: string;
  role: string | null;
  macAddress: string | null;
  /** Glance status, lower case. */
  status: string;
  tags: string[];
  createdAt: string;
}

/** A SnapSet as the image store holds it. */
export interface StoredSnapset {
  snapId: string;
  /** `hotstack_stack_name`, else from `hotstack_workflow_id` = `snapset-<stack>`, else null (unknown). */
  stackName: string | null;
  /** `hotstack_workflow_id`: the capture run that made it, when recorded. */
  workflowId: string | null;
  /** The newest `created_at` of its images: the set exists once its last image does. */
  createdAt: string;
  /** The oldest `created_at` of its images (when its capture began imaging). */
  firstCreatedAt: string;
  /** createdAt + 30 days. */
  expiresAt: string;
  /** `hotstack_set_size`, when every image agrees on it. */
  setSize: number | null;
  complete: boolean;
  /** Why it is not complete (empty when it is): {@link setProblems}. */
  problems: string[];
  /** Sorted by instance name. */
  images: StoredSnapsetImage[];
  /** The set's Cinder volume snapshots (found by their `hotstack_snap_id` metadata), by instance and device. */
  volumeSnapshots: StoredVolumeSnapshot[];
  /** `hotstack_set_volumes`, when every image agrees on it (null on sets made before volumes were captured). */
  volumeCount: number | null;
  /** Distinct roles, sorted. */
  roles: string[];
}

/** Code-unit order: deterministic whatever the locale. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const ms = (iso: string) => Date.parse(iso);

function prop(img: Pick<StoreImage, 'properties'>, key: string): string | null {
  const v = img.properties[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The set an image belongs to: its `snap_id=` tag, else its `hotstack_snap_id` property (a half-made set has no tags yet). */
export function snapIdOf(img: Pick<StoreImage, 'tags' | 'properties'>): string | null {
  return tagValue(img.tags, 'snap_id') ?? prop(img, SNAP_ID_PROPERTY);
}

/** The stack of an image: `hotstack_stack_name`, else the stack of the capture workflow ID it records (older images). */
export function imageStackName(img: Pick<StoreImage, 'properties'>): string | null {
  return prop(img, STACK_NAME_PROPERTY) ?? stackOfCaptureWorkflowId(prop(img, WORKFLOW_ID_PROPERTY) ?? '') ?? null;
}

/** The stacks the images of a set name, sorted (one for a sound set). */
function stacksOf(images: readonly Pick<StoreImage, 'properties'>[]): string[] {
  return [...new Set(images.map(imageStackName).filter((s): s is string => s !== null))].sort(compareText);
}

/** Instance name of an image of set `snapId`: its `name=` tag, else its image name, else its ID. */
function instanceNameOf(img: StoreImage): string {
  return tagValue(img.tags, 'name') ?? parseImageName(img.name)?.instanceName ?? img.id;
}

/** ISO 8601 at whole seconds, `Z` (Glance's own shape). */
export function isoSecond(t: number): string {
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

/**
 * Newest first: by `createdAt`, ties (Glance has whole seconds) by snap_id in code-unit order. The
 * one order of sets: `latest`, revive's choice, `list` and prune all sort with it.
 */
export function newestFirst(a: Pick<StoredSnapset, 'createdAt' | 'snapId'>, b: Pick<StoredSnapset, 'createdAt' | 'snapId'>): number {
  return ms(b.createdAt) - ms(a.createdAt) || compareText(a.snapId, b.snapId);
}

/** The set a volume snapshot belongs to: its `hotstack_snap_id` metadata. */
export function snapIdOfSnapshot(s: Pick<StoreVolumeSnapshot, 'metadata'>): string | null {
  const v = s.metadata[SNAP_ID_PROPERTY];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The member key of a stored snapshot: `<instance>:<device>` as the capture names it, else its volume. */
export function snapshotKey(s: Pick<StoredVolumeSnapshot, 'instance' | 'device' | 'volumeId'>): string {
  return s.instance ? volumeKey(s.instance, s) : `volume ${s.volumeId}`;
}

function storedSnapshot(s: StoreVolumeSnapshot): StoredVolumeSnapshot {
  const meta = (k: string) => (typeof s.metadata[k] === 'string' && s.metadata[k] !== '' ? s.metadata[k]! : null);
  return {
    snapshotId: s.id,
    snapshotName: s.name,
    volumeId: s.volumeId,
    instance: meta(INSTANCE_METADATA),
    device: meta(DEVICE_METADATA),
    volumeName: meta(VOLUME_NAME_METADATA),
    size: s.size,
    status: s.status.toLowerCase(),
    createdAt: s.createdAt,
  };
}

/**
 * Groups images and volume snapshots into SnapSets (those of no set are ignored, anything listed
 * twice counts once), newest first. Volume snapshots whose images are all gone still form a set (an
 * incomplete one): cleanup and prune must see what a failed delete left.
 */
export function groupSnapsets(images: readonly StoreImage[], snapshots: readonly StoreVolumeSnapshot[] = []): StoredSnapset[] {
  const bySet = new Map<string, { images: StoreImage[]; snapshots: StoreVolumeSnapshot[] }>();
  const entry = (id: string) => bySet.get(id) ?? bySet.set(id, { images: [], snapshots: [] }).get(id)!;
  const seen = new Set<string>();
  for (const img of images) {
    if (seen.has(img.id)) continue; // the store lists with two queries that overlap
    seen.add(img.id);
    const id = snapIdOf(img);
    if (id) entry(id).images.push(img);
  }
  for (const snap of snapshots) {
    const id = snapIdOfSnapshot(snap);
    if (id) entry(id).snapshots.push(snap);
  }
  return [...bySet].map(([snapId, e]) => snapsetOf(snapId, e.images, e.snapshots)).sort(newestFirst);
}

/** The set `snapId` made of these images and volume snapshots (those of other sets are ignored); a set with no image is incomplete. */
export function snapsetOf(snapId: string, all: readonly StoreImage[], allSnapshots: readonly StoreVolumeSnapshot[] = []): StoredSnapset {
  const seen = new Set<string>();
  const imgs = all.filter((i) => snapIdOf(i) === snapId && !seen.has(i.id) && seen.add(i.id));
  const snaps = allSnapshots.filter((v) => snapIdOfSnapshot(v) === snapId && !seen.has(`volume:${v.id}`) && seen.add(`volume:${v.id}`));
  const volumeSnapshots = snaps.map(storedSnapshot).sort((a, b) => compareText(snapshotKey(a), snapshotKey(b)) || compareText(a.snapshotId, b.snapshotId));
  const images: StoredSnapsetImage[] = imgs
    .map((img) => ({
      imageId: img.id,
      imageName: img.name,
      name: instanceNameOf(img),
      role: tagValue(img.tags, 'role'),
      macAddress: tagValue(img.tags, 'mac_address'),
      status: img.status.toLowerCase(),
      tags: [...img.tags],
      createdAt: img.created_at,
    }))
    .sort((a, b) => compareText(a.name, b.name) || compareText(a.imageId, b.imageId));
  // Dated by its images; a set whose images are gone (left-over snapshots) by its snapshots.
  const times = (imgs.length > 0 ? imgs.map((i) => i.created_at) : snaps.map((v) => v.createdAt)).map(ms).filter((t) => !Number.isNaN(t));
  const created = times.length > 0 ? Math.max(...times) : 0;
  const stacks = [...new Set([...stacksOf(imgs), ...snaps.map((v) => v.metadata[STACK_NAME_PROPERTY]).filter((x): x is string => !!x)])].sort(compareText);
  const problems = setProblems(snapId, imgs, { snapshots: snaps });
  return {
    snapId,
    stackName: stacks.length === 1 ? stacks[0]! : null,
    workflowId: imgs.map((i) => prop(i, WORKFLOW_ID_PROPERTY)).find((w) => w !== null) ?? null,
    createdAt: isoSecond(created),
    firstCreatedAt: isoSecond(times.length > 0 ? Math.min(...times) : 0),
    expiresAt: isoSecond(created + SNAPSET_LIFETIME_MS),
    setSize: setSizeOf(imgs),
    complete: problems.length === 0,
    problems,
    images,
    volumeSnapshots,
    volumeCount: setVolumesOf(imgs),
    roles: [...new Set(images.map((i) => i.role).filter((r): r is string => !!r))].sort(compareText),
  };
}

/** `hotstack_set_volumes` when every image states it alike (null when none does or they disagree). */
function setVolumesOf(imgs: readonly StoreImage[]): number | null {
  const counts = [...new Set(imgs.map((i) => prop(i, SET_VOLUMES_PROPERTY)))];
  return counts.length === 1 && counts[0] !== null && /^\d+$/.test(counts[0]) ? Number(counts[0]) : null;
}

function setSizeOf(imgs: readonly StoreImage[]): number | null {
  const sizes = [...new Set(imgs.map((i) => prop(i, SET_SIZE_PROPERTY)))];
  return sizes.length === 1 && sizes[0] !== null && /^\d+$/.test(sizes[0]) ? Number(sizes[0]) : null;
}

/** What verification expects of one instance's image: the image this run made and the exact tags it must carry. */
export interface ExpectedSetImage {
  imageId: string;
  tags: string[];
}

export interface SetProblemsOptions {
  /**
   * Instance name → the image the capture made and its exact tags (the capture's verification):
   * an image not listed, or lacking one of these tags, is a problem too.
   */
  expected?: Readonly<Record<string, ExpectedSetImage>>;
  /** Whether the completion marker is required (false while verifying, before it is added). @default true */
  requireMarker?: boolean;
  /** The set's volume snapshots (found by their `hotstack_snap_id` metadata). @default none */
  snapshots?: readonly StoreVolumeSnapshot[];
  /** Volume key (`<instance>:<device>`) → the snapshot the capture made or adopted: each must be listed (the capture's verification). */
  expectedSnapshots?: Readonly<Record<string, string>>;
}

/**
 * Why the images of set `snapId` are not a complete SnapSet — the one completeness rule. Complete:
 * at least one image; each instance imaged once, `active`, with the six seed tags (its own
 * `snap_id=`); the completion marker on every image; as many images as `hotstack_set_size`, which
 * every image states alike; one stack.
 */
export function setProblems(snapId: string, images: readonly StoreImage[], options: SetProblemsOptions = {}): string[] {
  const problems: string[] = [];
  if (images.length === 0 && !options.expected) return ['no image of this set exists'];
  const byName = new Map<string, StoreImage[]>();
  for (const img of [...images].sort((a, b) => compareText(a.id, b.id))) byName.set(instanceNameOf(img), [...(byName.get(instanceNameOf(img)) ?? []), img]);
  const expectedOf = new Map(Object.entries(options.expected ?? {}).map(([name, want]) => [want.imageId, { name, want }]));
  for (const [name, want] of Object.entries(options.expected ?? {})) {
    if (!images.some((i) => i.id === want.imageId)) problems.push(`${name}: image ${want.imageId} not found`);
  }
  for (const [name, imgs] of [...byName].sort(([a], [b]) => compareText(a, b))) {
    if (imgs.length > 1) problems.push(`${name}: ${imgs.length} images (${imgs.map((i) => i.id).join(', ')})`);
    for (const img of imgs) {
      const label = expectedOf.get(img.id)?.name ?? name;
      if (img.status.toLowerCase() !== 'active') {
        // A failed image may have no tags at all: its state is the one thing to say.
        problems.push(`${label}: image ${img.id} is ${img.status.toLowerCase()}`);
        continue;
      }
      const exact = expectedOf.get(img.id)?.want.tags;
      const missing = exact
        ? exact.filter((t) => !img.tags.includes(t))
        : [
            ...[HOTSTACK_TAG, SNAPSET_TAG].filter((t) => !img.tags.includes(t)),
            ...SEED_TAG_KEYS.filter((k) => k !== 'snap_id' && tagValue(img.tags, k) === null).map((k) => `${k}=…`),
          ];
      if (!exact && tagValue(img.tags, 'snap_id') !== snapId) missing.push(`snap_id=${snapId}`);
      if (missing.length > 0) problems.push(`${label}: tags missing: ${missing.join(', ')}`);
    }
  }
  if (options.requireMarker !== false && images.length > 0) {
    const unmarked = [...byName].filter(([, imgs]) => imgs.some((i) => !i.tags.includes(COMPLETE_TAG))).map(([n]) => n);
    if (unmarked.length === byName.size) problems.push(`not marked complete (no ${COMPLETE_TAG} tag)`);
    else if (unmarked.length > 0) problems.push(`${unmarked.join(', ')} not marked ${COMPLETE_TAG}`);
  }
  const sizes = [...new Set(images.map((i) => prop(i, SET_SIZE_PROPERTY)))];
  const size = setSizeOf(images);
  if (sizes.length > 1) problems.push(`images disagree on ${SET_SIZE_PROPERTY} (${sizes.map((s) => s ?? 'none').join(', ')})`);
  else if (images.length > 0 && size === null) problems.push(`set size unknown (no ${SET_SIZE_PROPERTY} property)`);
  else if (size !== null && size !== images.length) problems.push(`${images.length} of ${size} images`);
  problems.push(...volumeProblems(images, options));
  const stacks = stacksOf(images);
  if (stacks.length > 1) problems.push(`images of several stacks: ${stacks.join(', ')}`);
  return problems;
}

/**
 * The volume snapshots' part of the completeness rule: each one `available`, one per volume, as many
 * as `hotstack_set_volumes` says (every image alike; absent on older sets: none expected), and each one
 * the capture made listed.
 */
function volumeProblems(images: readonly StoreImage[], options: SetProblemsOptions): string[] {
  const problems: string[] = [];
  const snaps = [...(options.snapshots ?? [])].map(storedSnapshot);
  const listed = new Set(snaps.map((s) => s.snapshotId));
  for (const [key, id] of Object.entries(options.expectedSnapshots ?? {}).sort(([a], [b]) => compareText(a, b))) {
    if (!listed.has(id)) problems.push(`${key}: volume snapshot ${id} not found`);
  }
  const byKey = new Map<string, StoredVolumeSnapshot[]>();
  for (const s of snaps.sort((a, b) => compareText(a.snapshotId, b.snapshotId))) byKey.set(snapshotKey(s), [...(byKey.get(snapshotKey(s)) ?? []), s]);
  for (const [key, list] of [...byKey].sort(([a], [b]) => compareText(a, b))) {
    if (list.length > 1) problems.push(`${key}: ${list.length} volume snapshots (${list.map((s) => s.snapshotId).join(', ')})`);
    for (const s of list) if (s.status !== 'available') problems.push(`${key}: volume snapshot ${s.snapshotId} is ${s.status}`);
  }
  const counts = [...new Set(images.map((i) => prop(i, SET_VOLUMES_PROPERTY)))];
  const want = setVolumesOf(images);
  if (counts.length > 1) problems.push(`images disagree on ${SET_VOLUMES_PROPERTY} (${counts.map((s) => s ?? 'none').join(', ')})`);
  else if (want !== null && want !== snaps.length) problems.push(`${snaps.length} of ${want} volume snapshots`);
  else if (want === null && images.length > 0 && snaps.length > 0)
    problems.push(`${snaps.length} volume snapshot(s) the images do not count (no ${SET_VOLUMES_PROPERTY})`);
  return problems;
}

/** Age of a set at `now`, ms (never negative). */
export function ageMs(set: Pick<StoredSnapset, 'createdAt'>, now: number): number {
  return Math.max(0, now - ms(set.createdAt));
}

export function isExpired(set: Pick<StoredSnapset, 'expiresAt'>, now: number): boolean {
  return ms(set.expiresAt) <= now;
}

/** The `snapset list --json` row. */
export interface SnapsetSummary {
  snapId: string;
  stackName: string | null;
  createdAt: string;
  expiresAt: string;
  complete: boolean;
  /** Number of images. */
  images: number;
  /** Number of Cinder volume snapshots. */
  volumeSnapshots: number;
  roles: string[];
}

export function summary(s: StoredSnapset): SnapsetSummary {
  return {
    snapId: s.snapId,
    stackName: s.stackName,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    complete: s.complete,
    images: s.images.length,
    volumeSnapshots: s.volumeSnapshots.length,
    roles: s.roles,
  };
}
