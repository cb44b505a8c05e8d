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
/**
 * How many Cinder volume snapshots the set holds (absent on sets made before volumes were captured:
 * none). Every image states it alike, like `hotstack_set_size`, so a set missing a snapshot is seen
 * as incomplete from the store alone.
 */
export const SET_VOLUMES_PROPERTY = 'hotstack_set_volumes';

/**
 * Metadata of a set's Cinder volume snapshots (Block Storage v3 snapshot `metadata`): the set's
 * own properties (`hotstack_snap_id`, `hotstack_stack_name`, `hotstack_workflow_id`) plus which
 * instance, device and volume it is of. `openstack volume snapshot list --property
 * hotstack_snap_id=<id>` lists a set's snapshots.
 */
export const INSTANCE_METADATA = 'hotstack_instance';
export const DEVICE_METADATA = 'hotstack_device';
export const VOLUME_NAME_METADATA = 'hotstack_volume_name';

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
export function snapsetImageProperties(p: {
  snapId: string;
  stackName: string;
  workflowId: string;
  setSize: number;
  volumes?: number;
}): Record<string, string> {
  return {
    [SNAP_ID_PROPERTY]: p.snapId,
    [STACK_NAME_PROPERTY]: p.stackName,
    [WORKFLOW_ID_PROPERTY]: p.workflowId,
    [SET_SIZE_PROPERTY]: String(p.setSize),
    ...(p.volumes !== undefined ? { [SET_VOLUMES_PROPERTY]: String(p.volumes) } : {}),
  };
}

/** `hotstack-{instance_name}-{volume}-snapshot-{snap_id}`: `volume` is the volume's name, else the device's last part (`vdb`). */
export function volumeSnapshotName(
  instanceName: string,
  volume: { volumeName?: string | null; device?: string | null; volumeId: string },
  snapId: string,
): string {
  const label = volume.volumeName || (volume.device ? volume.device.split('/').pop() : '') || volume.volumeId;
  return `hotstack-${instanceName}-${label}-snapshot-${snapId}`;
}

/** The member key of a volume snapshot in a capture: `<instance>:<device>` (`master0:/dev/vdb`), else `<instance>:<volume id>`. */
export function volumeKey(instanceName: string, volume: { device?: string | null; volumeId: string }): string {
  return `${instanceName}:${volume.device || volume.volumeId}`;
}

/** The metadata of a set's volume snapshot: the set's properties and what it is a snapshot of. */
export function volumeSnapshotMetadata(
  setProperties: Record<string, string>,
  instanceName: string,
  volume: { volumeName?: string | null; device?: string | null },
): Record<string, string> {
  const { [SET_SIZE_PROPERTY]: _size, [SET_VOLUMES_PROPERTY]: _volumes, ...base } = setProperties;
  void _size;
  void _volumes;
  return {
    ...base,
    [INSTANCE_METADATA]: instanceName,
    ...(volume.device ? { [DEVICE_METADATA]: volume.device } : {}),
    ...(volume.volumeName ? { [VOLUME_NAME_METADATA]: volume.volumeName } : {}),
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

/** Nova's image property on a snapshot of a volume-backed server: its block devices, as a JSON list (bdm v2). */
export const BLOCK_DEVICE_MAPPING_PROPERTY = 'block_device_mapping';

/** One volume snapshot a volume-backed server's image points at (Nova's bdm v2 entry, the fields we read). */
export interface BlockDeviceSnapshot {
  snapshotId: string;
  deviceName: string | null;
  bootIndex: number | null;
  volumeSize: number | null;
}

/**
 * The volume snapshots of an image's `block_device_mapping` (Nova writes it as a JSON string when it
 * snapshots a volume-backed server; entries with `source_type: snapshot`). Anything unreadable is none.
 */
export function blockDeviceSnapshots(properties: Readonly<Record<string, unknown>>): BlockDeviceSnapshot[] {
  let bdm = properties[BLOCK_DEVICE_MAPPING_PROPERTY];
  if (typeof bdm === 'string') {
    try {
      bdm = JSON.parse(bdm);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(bdm)) return [];
  return bdm.flatMap((e: unknown) => {
    if (!e || typeof e !== 'object') return [];
    const d = e as Record<string, unknown>;
    if (typeof d.snapshot_id !== 'string' || d.snapshot_id === '') return [];
    return [
      {
        snapshotId: d.snapshot_id,
        deviceName: typeof d.device_name === 'string' ? d.device_name : null,
        bootIndex:
          typeof d.boot_index === 'number' ? d.boot_index : typeof d.boot_index === 'string' && /^-?\d+$/.test(d.boot_index) ? Number(d.boot_index) : null,
        volumeSize: typeof d.volume_size === 'number' ? d.volume_size : null,
      },
    ];
  });
}

export function blockDeviceSnapshotIds(properties: Readonly<Record<string, unknown>>): string[] {
  return blockDeviceSnapshots(properties).map((s) => s.snapshotId);
}
