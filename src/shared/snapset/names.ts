/**
 * Every name a SnapSet is written with in the cloud (DESIGN §2, §5): tags, image properties, image
 * names and the snap_id. Nothing else in the project spells a tag or a property. Pure: used by
 * workflows, activities, the store and the CLI.
 */
import type { InstanceSpec } from '../types.js';

/** The seed's first tag. */
export const HOTSTACK_TAG = 'hotstack';
/** Tag every SnapSet image carries; `openstack image list --tag hotstack-snapset` finds them. */
export const SNAPSET_TAG = 'hotstack-snapset';
/** Added last, after verification: a set without it is incomplete and never chosen by `latest`. */
export const COMPLETE_TAG = 'snapset_complete';

/** `key=value` tags of the seed, in the seed's order (after `hotstack`, `hotstack-snapset`). */
export const SEED_TAG_KEYS = ['name', 'role', 'snap_id', 'mac_address'] as const;
export type SeedTagKey = (typeof SEED_TAG_KEYS)[number];

/** Image properties set at `createImage` (Nova copies the metadata into Glance properties): they find a set before it has tags. */
export const SNAP_ID_PROPERTY = 'hotstack_snap_id';
export const STACK_NAME_PROPERTY = 'hotstack_stack_name';
export const WORKFLOW_ID_PROPERTY = 'hotstack_workflow_id';
export const SET_SIZE_PROPERTY = 'hotstack_set_size';

/** A snap_id: 8 characters of URL-safe base64. */
export const SNAP_ID = /^[A-Za-z0-9_-]{8}$/;

/** `hotstack-{instance_name}-snapshot-{snap_id}` */
export function imageName(instanceName: string, snapId: string): string {
  return `hotstack-${instanceName}-snapshot-${snapId}`;
}

const IMAGE_NAME = /^hotstack-(.+)-snapshot-([A-Za-z0-9_-]{8})$/;

/** The instance name and snap_id an image name says, or undefined when it is not a SnapSet image name. */
export function parseImageName(name: string | null | undefined): { instanceName: string; snapId: string } | undefined {
  const m = IMAGE_NAME.exec(name ?? '');
  return m ? { instanceName: m[1]!, snapId: m[2]! } : undefined;
}

/** The `key=value` tag of an image. */
export function tag(key: SeedTagKey, value: string): string {
  return `${key}=${value}`;
}

/** The value of the image's `key=` tag, or null. */
export function tagValue(tags: readonly string[], key: SeedTagKey): string | null {
  const prefix = `${key}=`;
  const t = tags.find((x) => x.startsWith(prefix));
  return t === undefined ? null : t.slice(prefix.length);
}

/** The six seed tags, in the seed's order. */
export function seedTags(instanceName: string, inst: Pick<InstanceSpec, 'role' | 'mac_address'>, snapId: string): string[] {
  return [HOTSTACK_TAG, SNAPSET_TAG, tag('name', instanceName), tag('role', inst.role), tag('snap_id', snapId), tag('mac_address', inst.mac_address)];
}

/** The properties every image of a set carries from the moment it exists. */
export function snapsetImageProperties(p: { snapId: string; stackName: string; workflowId: string; setSize: number }): Record<string, string> {
  return {
    [SNAP_ID_PROPERTY]: p.snapId,
    [STACK_NAME_PROPERTY]: p.stackName,
    [WORKFLOW_ID_PROPERTY]: p.workflowId,
    [SET_SIZE_PROPERTY]: String(p.setSize),
  };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** URL-safe base64 of 6 bytes: 8 characters, no padding (the seed's `secrets.token_urlsafe(6)`). */
export function snapIdFromBytes(bytes: readonly number[]): string {
  if (bytes.length !== 6) throw new Error('a snap_id is made of 6 bytes');
  let out = '';
  for (let i = 0; i < 6; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  return out;
}

/**
 * The snap_id from a workflow `uuid4()` (seeded, so the same on replay): its first 6 random bytes,
 * URL-safe base64 like the seed's `secrets.token_urlsafe(6)`.
 */
export function snapIdFromUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return snapIdFromBytes(Array.from({ length: 6 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)));
}

/** The seed's alphabet without `-`: the first character of a new snap_id (see {@link snapIdFromUuidNoDash}). */
const FIRST_CHAR = B64URL.replace('-', '');

/**
 * {@link snapIdFromUuid}, except that the snap_id never starts with `-` (a shell tool reads such
 * an argument as an option: `snapset show -19Wif3X`). When the first character would be `-`
 * (1 in 64), it is drawn from the rest of the alphabet with UUID byte 7 (random in a v4 UUID; byte 6
 * holds the version). Every other snap_id is exactly {@link snapIdFromUuid}'s.
 */
export function snapIdFromUuidNoDash(uuid: string): string {
  const id = snapIdFromUuid(uuid);
  if (!id.startsWith('-')) return id;
  const byte7 = parseInt(uuid.replace(/-/g, '').slice(14, 16), 16);
  return FIRST_CHAR[byte7 % FIRST_CHAR.length]! + id.slice(1);
}
