/**
 * SnapSet naming and tagging rules of the seed (DESIGN §2). Pure: used by workflows and clients.
 */
import type { InstanceSpec } from './types.js';

/** Tag every SnapSet image carries; `openstack image list --tag hotstack-snapset` finds them. */
export const SNAPSET_TAG = 'hotstack-snapset';
/** Added last, after verification: a set without it is incomplete and never chosen by `latest`. */
export const COMPLETE_TAG = 'snapset_complete';

/** `hotstack-{instance_name}-snapshot-{snap_id}` */
export function imageName(instanceName: string, snapId: string): string {
  return `hotstack-${instanceName}-snapshot-${snapId}`;
}

/** The six seed tags, in the seed's order. */
export function seedTags(instanceName: string, inst: InstanceSpec, snapId: string): string[] {
  return ['hotstack', SNAPSET_TAG, `name=${instanceName}`, `role=${inst.role}`, `snap_id=${snapId}`, `mac_address=${inst.mac_address}`];
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

export const SNAP_ID = /^[A-Za-z0-9_-]{8}$/;

/** Image properties set at `createImage` (Nova copies the metadata into Glance properties): they find a set before it has tags. */
export const SNAP_ID_PROPERTY = 'hotstack_snap_id';
export const STACK_NAME_PROPERTY = 'hotstack_stack_name';
export const WORKFLOW_ID_PROPERTY = 'hotstack_workflow_id';
export const SET_SIZE_PROPERTY = 'hotstack_set_size';

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

/** The properties every image of a set carries from the moment it exists. */
export function snapsetImageProperties(p: { snapId: string; stackName: string; workflowId: string; setSize: number }): Record<string, string> {
  return {
    [SNAP_ID_PROPERTY]: p.snapId,
    [STACK_NAME_PROPERTY]: p.stackName,
    [WORKFLOW_ID_PROPERTY]: p.workflowId,
    [SET_SIZE_PROPERTY]: String(p.setSize),
  };
}

/** The image fields the result shapes are made of. */
export interface SetImage {
  imageId: string;
  imageName: string;
  role: string;
  macAddress: string;
}

/**
 * Hotstack stack parameters `<role>_params.image` (seed: `controller_params`, `ocp_master_params`).
 * Only roles with exactly one instance: no Hotstack parameter names one image of several.
 */
export function stackParameters(images: Record<string, Pick<SetImage, 'imageName' | 'role'>>): Record<string, { image: string }> {
  const byRole = new Map<string, string[]>();
  for (const img of Object.values(images)) byRole.set(img.role, [...(byRole.get(img.role) ?? []), img.imageName]);
  const out: Record<string, { image: string }> = {};
  for (const [role, names] of [...byRole].sort(([a], [b]) => a.localeCompare(b))) if (names.length === 1) out[`${role}_params`] = { image: names[0]! };
  return out;
}

/** Roles with several instances: `stackParameters` cannot name them, so callers say so. */
export function multiInstanceRoles(images: Record<string, Pick<SetImage, 'role'>>): string[] {
  const count = new Map<string, number>();
  for (const img of Object.values(images)) count.set(img.role, (count.get(img.role) ?? 0) + 1);
  return [...count].filter(([, n]) => n > 1).map(([r]) => r).sort();
}

/** The seed role's result: `snap_id` and, per instance, `image_id`, `role`, `mac_address`. */
export function ansibleResult(snapId: string, images: Record<string, SetImage>): Record<string, unknown> & { snap_id: string } {
  return {
    snap_id: snapId,
    ...Object.fromEntries(Object.entries(images).map(([n, i]) => [n, { image_id: i.imageId, role: i.role, mac_address: i.macAddress }])),
  };
}

/** What verification compares: per instance, the image it should be and the tags it should carry. */
export interface ExpectedSetImage {
  imageId: string;
  tags: string[];
}

/** Problems of a set as listed from Glance (empty: every image there, `active`, every tag present). */
export function setProblems(
  expected: Record<string, ExpectedSetImage>,
  listed: readonly { id: string; status: string; tags: readonly string[] }[],
): string[] {
  const problems: string[] = [];
  const byId = new Map(listed.map((i) => [i.id, i]));
  for (const [name, want] of Object.entries(expected)) {
    const img = byId.get(want.imageId);
    if (!img) problems.push(`${name}: image ${want.imageId} not found`);
    else if (img.status.toLowerCase() !== 'active') problems.push(`${name}: image ${want.imageId} is ${img.status}`);
    else {
      const missing = want.tags.filter((t) => !img.tags.includes(t));
      if (missing.length > 0) problems.push(`${name}: tags missing: ${missing.join(', ')}`);
    }
  }
  return problems;
}
