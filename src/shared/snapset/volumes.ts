/**
 * Which Cinder volumes a capture takes, decided once from what preflight read (DESIGN §5 step 6).
 * Pure: the workflow calls it (the same answer on replay), the tests too.
 *
 * - An image-backed server: Nova's `createImage` copies its root disk only. Its attached data
 *   volumes are snapshotted by the capture itself (`capture.volumes: snapshot`), each one, or the
 *   ones `snapsetData.instances.<name>.volumes` lists; `ignore` leaves them out.
 * - A volume-backed server (boots from a volume; Nova shows `image: ""`): Nova's `createImage` makes
 *   a zero-size image and a snapshot of every attached volume itself. Those snapshots are the data:
 *   the capture adopts them into the set (its metadata) whatever `capture.volumes` says — leaving them
 *   out would leave them behind.
 */
import { volumeKey } from './names.js';

/** An attached volume as preflight read it (Nova's attachment + Cinder's volume). */
export interface AttachedVolume {
  volumeId: string;
  /** The device Nova reports for the attachment (`/dev/vdb`), when it does. */
  device: string | null;
  volumeName: string | null;
  /** GiB. */
  size: number;
  bootable: boolean;
}

export interface VolumePlanInput {
  /** Instance name → its attached volumes. */
  volumes: Readonly<Record<string, readonly AttachedVolume[]>>;
  /** Instance name → whether it boots from a volume. */
  volumeBacked: Readonly<Record<string, boolean>>;
  mode: 'snapshot' | 'ignore';
  /** Instance name → the volume UUIDs the input lists (absent: every attached volume). */
  explicit?: Readonly<Record<string, readonly string[] | undefined>>;
}

export interface VolumePlan {
  /** Instance name → the data volumes the capture snapshots itself (image-backed servers). */
  snapshot: Record<string, AttachedVolume[]>;
  /** Instance name → the volumes Nova snapshots with the image (volume-backed servers): adopted into the set. */
  adopt: Record<string, AttachedVolume[]>;
  /** Volume snapshots the set holds when complete (`hotstack_set_volumes`). */
  count: number;
  /** Instance name → attached volumes left out (`capture.volumes: ignore`, or not listed). */
  skipped: Record<string, AttachedVolume[]>;
}

export function planVolumes(p: VolumePlanInput): VolumePlan {
  const plan: VolumePlan = { snapshot: {}, adopt: {}, count: 0, skipped: {} };
  for (const [name, attached] of Object.entries(p.volumes)) {
    if (attached.length === 0) continue;
    if (p.volumeBacked[name]) {
      plan.adopt[name] = [...attached];
      plan.count += attached.length;
      continue;
    }
    const listed = p.explicit?.[name];
    const wanted =
      p.mode === 'ignore' ? [] : listed ? attached.filter((v) => listed.some((id) => id.toLowerCase() === v.volumeId.toLowerCase())) : [...attached];
    const skipped = attached.filter((v) => !wanted.includes(v));
    if (wanted.length > 0) plan.snapshot[name] = wanted;
    if (skipped.length > 0) plan.skipped[name] = skipped;
    plan.count += wanted.length;
  }
  return plan;
}

/** One line per volume for people: `master0:/dev/vdb master0-lvms-vol0 (20 GiB)`. */
export function describeVolume(instance: string, v: AttachedVolume): string {
  return `${volumeKey(instance, v)}${v.volumeName ? ` ${v.volumeName}` : ''} (${v.size} GiB)`;
}
