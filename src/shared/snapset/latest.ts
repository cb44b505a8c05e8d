/**
 * What a SnapSet is for: Hotstack stack parameters, the seed's result shape, and `snapset latest` —
 * the newest complete, unexpired set, in JSON or as the YAML hotstack reads with `-e @file`.
 */
import { formatDuration } from '../duration.js';
import { ageMs, compareText, isExpired, newestFirst, type StoredSnapset } from './model.js';

/** The image fields the result shapes are made of. */
export interface SetImage {
  imageId: string;
  imageName: string;
  role: string;
  macAddress: string;
  /** The instance's volume snapshots (absent: none), by device. */
  volumes?: LatestVolume[];
}

/** One volume of an instance in `snapset latest`: what a redeployment's `OS::Cinder::Volume` takes (`snapshot_id`, `size`). */
export interface LatestVolume {
  device: string | null;
  volumeName: string | null;
  /** GiB. */
  size: number;
  snapshotId: string;
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
  return [...count]
    .filter(([, n]) => n > 1)
    .map(([r]) => r)
    .sort();
}

/** The seed role's result: `snap_id` and, per instance, `image_id`, `role`, `mac_address`. */
export function ansibleResult(snapId: string, images: Record<string, SetImage>): Record<string, unknown> & { snap_id: string } {
  return {
    snap_id: snapId,
    ...Object.fromEntries(Object.entries(images).map(([n, i]) => [n, { image_id: i.imageId, role: i.role, mac_address: i.macAddress }])),
  };
}

export interface LatestQuery {
  stackName?: string;
  /** Only sets with every one of these roles; the answer names only their images. */
  roles?: readonly string[];
  now: number;
}

/** The `snapset latest --json` shape. */
export interface LatestSnapset {
  snapId: string;
  stackName: string | null;
  createdAt: string;
  expiresAt: string;
  /** Hotstack's `<role>_params.image` for every role with exactly one instance. */
  stack_parameters: Record<string, { image: string }>;
  images: Record<string, SetImage>;
  /** Roles with several instances: no Hotstack parameter can name one of their images, so they are listed here and in `images` only. */
  multiInstanceRoles: string[];
}

export type LatestAnswer = { found: true; latest: LatestSnapset } | { found: false; message: string };

/**
 * The newest complete set among `sets` (newest first by {@link newestFirst}), or undefined — the one
 * choice of "the latest set" that `snapset latest` and reviveSnapset share.
 */
export function newestComplete<S extends Pick<StoredSnapset, 'createdAt' | 'snapId' | 'complete'>>(sets: readonly S[]): S | undefined {
  return [...sets].sort(newestFirst).find((s) => s.complete);
}

/** The newest complete, unexpired set (of a stack, with the roles asked for); otherwise what exists instead. */
export function selectLatest(sets: readonly StoredSnapset[], q: LatestQuery): LatestAnswer {
  const roles = [...new Set(q.roles ?? [])];
  const ofStack = [...sets].filter((s) => !q.stackName || s.stackName === q.stackName).sort(newestFirst);
  const candidates = ofStack.filter((s) => roles.every((r) => s.roles.includes(r)));
  const good = newestComplete(candidates.filter((s) => !isExpired(s, q.now)));
  if (good) return { found: true, latest: latestShape(good, roles) };

  const scope = `${q.stackName ? `stack ${q.stackName}` : 'any stack'}${roles.length > 0 ? ` with role(s) ${roles.join(', ')}` : ''}`;
  if (ofStack.length === 0)
    return { found: false, message: `no SnapSet of ${scope} in the image store${q.stackName ? ` (stacks with sets: ${stackList(sets) || 'none'})` : ''}` };
  const parts: string[] = [];
  const newest = candidates[0] ?? ofStack[0]!;
  if (candidates.length === 0) parts.push(`no set has every role asked for (newest set ${newest.snapId} has ${newest.roles.join(', ') || 'no roles'})`);
  else if (!newest.complete) parts.push(`newest set ${newest.snapId} (${newest.createdAt}) is incomplete: ${newest.problems.join('; ')}`);
  const complete = newestComplete(candidates);
  if (complete)
    parts.push(
      `newest complete set ${complete.snapId} expired at ${complete.expiresAt} (age ${formatDuration(Math.floor(ageMs(complete, q.now) / 1000) * 1000)}, limit 30d)`,
    );
  else if (candidates.length > 0) parts.push(`none of its ${candidates.length} set(s) is complete`);
  return { found: false, message: `no complete unexpired SnapSet of ${scope}: ${parts.join('; ')}` };
}

function stackList(sets: readonly StoredSnapset[]): string {
  return [...new Set(sets.map((s) => s.stackName ?? '(unknown)'))].sort(compareText).join(', ');
}

function latestShape(s: StoredSnapset, roles: string[]): LatestSnapset {
  const chosen = s.images.filter((i) => roles.length === 0 || roles.includes(i.role!));
  const volumesOf = (name: string): LatestVolume[] =>
    (s.volumeSnapshots ?? [])
      .filter((v) => v.instance === name)
      .map((v) => ({ device: v.device, volumeName: v.volumeName, size: v.size, snapshotId: v.snapshotId }));
  const images = Object.fromEntries(
    chosen.map((i) => {
      const volumes = volumesOf(i.name);
      return [
        i.name,
        { imageId: i.imageId, imageName: i.imageName ?? i.imageId, role: i.role!, macAddress: i.macAddress!, ...(volumes.length > 0 ? { volumes } : {}) },
      ];
    }),
  );
  return {
    snapId: s.snapId,
    stackName: s.stackName,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    stack_parameters: stackParameters(images),
    images,
    multiInstanceRoles: multiInstanceRoles(images),
  };
}

/**
 * `snapset latest --format yaml`: a `stack_parameters:` block for hotstack's `-e @file`, with the
 * set named in a comment and the roles no parameter can express said so.
 */
export function latestYaml(l: LatestSnapset): string {
  const lines = [`# SnapSet ${l.snapId} of stack ${l.stackName ?? '(unknown)'}, created ${l.createdAt}, expires ${l.expiresAt}`];
  for (const role of l.multiInstanceRoles) {
    const names = Object.entries(l.images)
      .filter(([, i]) => i.role === role)
      .map(([n, i]) => `${n}=${i.imageName}`);
    lines.push(`# role ${role} has ${names.length} instances (${names.join(', ')}): no hotstack parameter names one image of several`);
  }
  lines.push('stack_parameters:');
  const params = Object.entries(l.stack_parameters);
  if (params.length === 0) lines[lines.length - 1] += ' {}';
  for (const [key, v] of params) lines.push(`  ${key}:`, `    image: ${JSON.stringify(v.image)}`);
  const withVolumes = Object.entries(l.images).filter(([, i]) => i.volumes?.length);
  if (withVolumes.length > 0) {
    // Not a stack parameter (a template that does not declare it would refuse the stack): pass it as
    // one where the template takes it, e.g. stack_parameters.snapset_volumes: "{{ snapset_volumes }}".
    lines.push(
      '# volume snapshots per instance and device: OS::Cinder::Volume {snapshot_id: {get_param: [snapset_volumes, <instance>, <device>, snapshot_id]}}',
      'snapset_volumes:',
    );
    for (const [name, img] of withVolumes) {
      lines.push(`  ${JSON.stringify(name)}:`);
      for (const v of img.volumes!) {
        lines.push(`    ${JSON.stringify(deviceLabel(v))}:`, `      snapshot_id: ${JSON.stringify(v.snapshotId)}`, `      size: ${v.size}`);
        if (v.volumeName) lines.push(`      volume_name: ${JSON.stringify(v.volumeName)}`);
      }
    }
  }
  return lines.join('\n');
}

/** The key of a volume in `snapset_volumes`: the device's last part (`vdb`), else the volume's name, else its snapshot. */
export function deviceLabel(v: Pick<LatestVolume, 'device' | 'volumeName' | 'snapshotId'>): string {
  return v.device?.split('/').pop() || v.volumeName || v.snapshotId;
}
