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
