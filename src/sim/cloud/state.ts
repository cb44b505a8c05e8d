import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Scenario } from '../scenario.js';
import type { CloudScenario } from './scenario.js';

/**
 * The simulated cloud's data: Keystone tokens, Nova servers, Glance images, Cinder volumes and
 * snapshots, and the timers that move them through their state machines (server ACTIVE ⇄ SHUTOFF,
 * snapshot task_states, image queued → saving → active|killed, volume snapshot creating →
 * available|error, deleting → gone). Pure state; HTTP lives in the service modules.
 */

export interface SimServer {
  id: string;
  name: string;
  role: string;
  macAddress: string;
  node?: string;
  vmState: 'active' | 'stopped';
  taskState: string | null;
  powerState: number;
  created: string;
  updated: string;
  launchedAt: string;
  /** The image it booted from; '' for a server booted from a volume (Nova shows `"image": ""`). */
  imageRef: string;
  /** The root volume of a volume-backed server (attached at `rootDeviceName`). */
  rootVolumeId?: string;
  rootDeviceName: string;
}

/** One attachment of a volume (Cinder's `attachments[]`, Nova's `os-volume_attachments`). */
export interface SimAttachment {
  /** Cinder's attachment id. */
  id: string;
  serverId: string;
  device: string;
  attachedAt: string;
  /** Nova's block device mapping uuid of it. */
  bdmUuid: string;
  bootIndex: number;
}

export interface SimVolume {
  id: string;
  name: string | null;
  description: string | null;
  /** GiB. */
  size: number;
  /** `available`, `in-use`, ... */
  status: string;
  bootable: boolean;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string | null;
  attachments: SimAttachment[];
}

export interface SimSnapshot {
  id: string;
  name: string | null;
  description: string | null;
  volumeId: string;
  /** GiB: the volume's size when taken. */
  size: number;
  /** `creating`, `available`, `error`, `deleting`. */
  status: string;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string | null;
  progress: string;
}

export interface SimImage {
  id: string;
  name: string | null;
  status: string;
  tags: string[];
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  size: number | null;
  checksum: string | null;
  osHashValue: string | null;
  owner: string;
  visibility: string;
  protected: boolean;
  minDisk: number;
  /** Absent means Glance's defaults (0, false). */
  minRam?: number;
  osHidden?: boolean;
  diskFormat: string | null;
  containerFormat: string | null;
  /** Server the snapshot was taken from, when it was. */
  fromServer?: string;
}

export interface SimToken {
  id: string;
  methods: string[];
  issuedAt: Date;
  expiresAt: Date;
  expired: boolean;
  appCredential: boolean;
  auditId: string;
}

/** Nova power states (nova/compute/power_state.py). */
export const POWER = { NOSTATE: 0, RUNNING: 1, SHUTDOWN: 4 } as const;

/** Glance/Nova timestamps: seconds precision, `Z`. */
export function isoSeconds(d = new Date()): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Cinder timestamps: microseconds, no zone (e.g. `2019-03-12T08:32:16.987617`). */
export function isoCinder(micros = Date.now() * 1000): string {
  const d = new Date(Math.floor(micros / 1000));
  return `${d.toISOString().slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

/** Keystone timestamps: microseconds, `Z` (e.g. `2015-11-07T02:58:43.578887Z`). */
export function isoMicros(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000Z`;
}

/** An image's data arrived: `active`, with the size and the hashes Glance computes (of `content`). */
export function activateImage(img: SimImage, content: string | Buffer, size: number): void {
  img.status = 'active';
  img.size = size;
  img.checksum = createHash('md5').update(content).digest('hex');
  img.osHashValue = createHash('sha512').update(content).digest('hex');
  img.updatedAt = isoSeconds();
}

const BASE_IMAGE_ID = 'b1d1f4c6-0a7e-4c1b-9f53-3e6f1c2a9d10';

export class CloudState {
  readonly servers = new Map<string, SimServer>();
  readonly images = new Map<string, SimImage>();
  readonly volumes = new Map<string, SimVolume>();
  readonly snapshots = new Map<string, SimSnapshot>();
  readonly tokens = new Map<string, SimToken>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Decides, when a snapshot finishes, whether its image ends `killed`. */
  shouldKill: (server: SimServer, image: SimImage) => boolean = () => false;
  /** Decides, when a volume snapshot finishes, whether it ends `error`. */
  shouldFailSnapshot: (snapshot: SimSnapshot) => boolean = () => false;
  /** Told when a stopped server runs again (the controller simulator boots its guest). */
  readonly powerOnListeners = new Set<(uuid: string) => void>();
  /** The last Cinder timestamp given out, µs: each is later than the one before, as the newest-first order needs. */
  private lastMicros = 0;
  /** Boots per server: an in-guest shutdown scheduled before a boot does not fire after it. */
  private readonly boots = new Map<string, number>();

  constructor(
    readonly scenario: Scenario,
    readonly cloud: CloudScenario,
  ) {
    const now = isoSeconds();
    for (const [name, inst] of Object.entries(scenario.instances)) {
      const stopped = inst.status === 'SHUTOFF';
      this.servers.set(inst.uuid, {
        id: inst.uuid,
        name,
        role: inst.role,
        macAddress: inst.mac_address,
        node: inst.node,
        vmState: stopped ? 'stopped' : 'active',
        taskState: null,
        powerState: stopped ? POWER.SHUTDOWN : POWER.RUNNING,
        created: now,
        updated: now,
        launchedAt: now,
        imageRef: inst.rootVolume ? '' : BASE_IMAGE_ID,
        rootVolumeId: inst.rootVolume?.id,
        rootDeviceName: '/dev/vda',
      });
      const attach = (rawId: string, name: string | null, size: number, device: string, bootIndex: number) => {
        const id = rawId.toLowerCase();
        const created = this.cinderNow();
        this.volumes.set(id, {
          id,
          name,
          description: null,
          size,
          status: 'in-use',
          bootable: bootIndex === 0,
          metadata: {},
          createdAt: created,
          updatedAt: created,
          attachments: [{ id: randomUUID(), serverId: inst.uuid, device, attachedAt: created, bdmUuid: randomUUID(), bootIndex }],
        });
      };
      if (inst.rootVolume) attach(inst.rootVolume.id, `${name}-root`, inst.rootVolume.size, '/dev/vda', 0);
      for (const [vname, v] of Object.entries(inst.volumes)) attach(v.id, vname, v.size, v.device, -1);
    }
    this.images.set(BASE_IMAGE_ID, {
      id: BASE_IMAGE_ID,
      name: 'hotstack-base',
      status: 'active',
      tags: [],
      properties: { os_distro: 'rhcos' },
      createdAt: now,
      updatedAt: now,
      size: 1_073_741_824,
      checksum: createHash('md5').update(BASE_IMAGE_ID).digest('hex'),
      osHashValue: createHash('sha512').update(BASE_IMAGE_ID).digest('hex'),
      owner: cloud.projectId,
      visibility: 'public',
      protected: true,
      minDisk: 0,
      diskFormat: 'qcow2',
      containerFormat: 'bare',
    });
    for (const seed of cloud.images) {
      const id = seed.id ?? randomUUID();
      const created = seed.createdAt ? isoSeconds(new Date(seed.createdAt)) : now;
      const done = seed.status === 'active' || seed.status === 'deactivated';
      this.images.set(id, {
        id,
        name: seed.name,
        status: seed.status,
        tags: [...new Set(seed.tags)],
        properties: { ...seed.properties },
        createdAt: created,
        updatedAt: created,
        size: done ? (seed.size ?? cloud.imageSizeBytes) : null,
        checksum: done ? createHash('md5').update(id).digest('hex') : null,
        osHashValue: done ? createHash('sha512').update(id).digest('hex') : null,
        owner: cloud.projectId,
        visibility: seed.visibility,
        protected: false,
        minDisk: 0,
        diskFormat: 'qcow2',
        containerFormat: 'bare',
      });
    }
  }

  /** Simulated latency in real ms. */
  scaled(ms: number): number {
    return ms * this.scenario.timeScale;
  }

  /** Runs `fn` after `ms` real milliseconds unless the simulator closed. */
  after(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.closed) fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---- Keystone ----

  issueToken(methods: string[], opts: { appCredential?: boolean; expiresAt?: Date } = {}): SimToken {
    const issuedAt = new Date();
    const token: SimToken = {
      // Fernet tokens start with gAAAAA; the simulator's are random and opaque like them.
      id: `gAAAAA${randomBytes(96).toString('base64url')}`,
      methods,
      issuedAt,
      expiresAt: opts.expiresAt ?? new Date(issuedAt.getTime() + this.cloud.tokenTtlSeconds * 1000),
      expired: false,
      appCredential: opts.appCredential ?? false,
      auditId: randomBytes(16).toString('base64url').slice(0, 22),
    };
    this.tokens.set(token.id, token);
    return token;
  }

  /** The token if it is known, not expired and not revoked. */
  validToken(id: string | undefined): SimToken | undefined {
    if (!id) return undefined;
    const t = this.tokens.get(id);
    if (!t || t.expired || t.expiresAt.getTime() <= Date.now()) return undefined;
    return t;
  }

  expireAllTokens(): number {
    let n = 0;
    for (const t of this.tokens.values()) {
      if (!t.expired) n++;
      t.expired = true;
    }
    return n;
  }

  // ---- Nova ----

  private touch(s: SimServer): void {
    s.updated = isoSeconds();
  }

  /** Nova `status` from vm_state (nova/api/openstack/common.py's state map, the subset we model). */
  static statusOf(s: SimServer): string {
    return s.vmState === 'stopped' ? 'SHUTOFF' : 'ACTIVE';
  }

  /** `os-stop` accepted: `powering-off`, then `stopped`. */
  stop(s: SimServer): void {
    s.taskState = 'powering-off';
    this.touch(s);
    const boot = this.boots.get(s.id) ?? 0;
    this.after(this.scaled(this.cloud.latencies.powerOffMs), () => {
      if ((this.boots.get(s.id) ?? 0) !== boot) return; // a reset overtook it
      s.vmState = 'stopped';
      s.powerState = POWER.SHUTDOWN;
      s.taskState = null;
      this.touch(s);
    });
  }

  /** `os-start` accepted: `powering-on`, then `active`. */
  start(s: SimServer): void {
    s.taskState = 'powering-on';
    this.touch(s);
    const boot = this.boots.get(s.id) ?? 0;
    this.after(this.scaled(this.cloud.latencies.powerOnMs), () => {
      if ((this.boots.get(s.id) ?? 0) !== boot) return; // a reset overtook it
      s.vmState = 'active';
      s.powerState = POWER.RUNNING;
      s.taskState = null;
      this.touch(s);
      this.booted(s);
    });
  }

  /** A lab reset: ACTIVE at once; power actions and in-guest shutdowns still pending are void. */
  reset(s: SimServer): void {
    const wasStopped = s.vmState === 'stopped';
    s.vmState = 'active';
    s.powerState = POWER.RUNNING;
    if (s.taskState === 'powering-off' || s.taskState === 'powering-on') s.taskState = null;
    this.touch(s);
    if (wasStopped) this.booted(s);
    else this.boots.set(s.id, (this.boots.get(s.id) ?? 0) + 1);
  }

  private booted(s: SimServer): void {
    this.boots.set(s.id, (this.boots.get(s.id) ?? 0) + 1);
    for (const listener of this.powerOnListeners) listener(s.id);
  }

  /** The guest powered itself off; Nova's power-state sync notices and records `stopped`. */
  guestShutdown(uuid: string, delayMs: number): void {
    const s = this.servers.get(uuid);
    if (!s) return;
    const boot = this.boots.get(uuid) ?? 0;
    this.after(delayMs, () => {
      if (s.vmState === 'stopped' || (this.boots.get(uuid) ?? 0) !== boot) return;
      s.vmState = 'stopped';
      s.powerState = POWER.SHUTDOWN;
      if (s.taskState === 'powering-off') s.taskState = null;
      this.touch(s);
    });
  }

  /**
   * `createImage` accepted: the image record exists at once (Nova creates it in Glance before
   * answering 202), then image_snapshot → image_pending_upload → image_uploading (image `saving`)
   * → done (image `active`, or `killed` when a fault says so).
   */
  snapshot(s: SimServer, name: string, metadata: Record<string, string>): SimImage {
    const now = isoSeconds();
    const image: SimImage = {
      id: randomUUID(),
      name,
      status: 'queued',
      tags: [],
      properties: {
        image_type: 'snapshot',
        instance_uuid: s.id,
        user_id: this.cloud.userId,
        base_image_ref: s.imageRef,
        owner_project_name: this.cloud.projectName,
        owner_user_name: this.cloud.username,
        boot_roles: 'member,reader',
        ...metadata,
      },
      createdAt: now,
      updatedAt: now,
      size: null,
      checksum: null,
      osHashValue: null,
      owner: this.cloud.projectId,
      visibility: 'private',
      protected: false,
      minDisk: 40,
      diskFormat: 'qcow2',
      containerFormat: 'bare',
      fromServer: s.id,
    };
    this.images.set(image.id, image);
    s.taskState = 'image_snapshot';
    this.touch(s);
    const L = this.cloud.latencies;
    const live = () => this.images.get(image.id) === image;
    this.after(this.scaled(L.snapshotMs), () => {
      s.taskState = 'image_pending_upload';
      this.touch(s);
      this.after(this.scaled(L.pendingUploadMs), () => {
        s.taskState = 'image_uploading';
        this.touch(s);
        if (live()) {
          image.status = 'saving';
          image.updatedAt = isoSeconds();
        }
        this.after(this.scaled(L.uploadMs), () => {
          s.taskState = null;
          this.touch(s);
          if (!live()) return; // deleted while uploading: Nova just logs it
          if (this.shouldKill(s, image)) {
            image.status = 'killed';
          } else {
            activateImage(image, image.id, this.cloud.imageSizeBytes);
          }
          image.updatedAt = isoSeconds();
        });
      });
    });
    return image;
  }

  // ---- Cinder ----

  /** Now as Cinder writes it, strictly after the previous call's. */
  cinderNow(): string {
    this.lastMicros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    return isoCinder(this.lastMicros);
  }

  /** The attachments of a server, root disk first, then by device name (Nova's BDM order). */
  attachmentsOf(serverId: string): { volume: SimVolume; attachment: SimAttachment }[] {
    const out: { volume: SimVolume; attachment: SimAttachment }[] = [];
    for (const volume of this.volumes.values()) {
      for (const attachment of volume.attachments) if (attachment.serverId === serverId) out.push({ volume, attachment });
    }
    return out.sort((a, b) => (a.attachment.bootIndex === 0 ? -1 : b.attachment.bootIndex === 0 ? 1 : a.attachment.device.localeCompare(b.attachment.device)));
  }

  /**
   * A snapshot accepted by Cinder (`creating`, progress 0%), `available` after the snapshot latency,
   * or `error` when a fault says so. The caller has checked the volume's status and `force`.
   */
  createSnapshot(volume: SimVolume, req: { name: string | null; description: string | null; metadata: Record<string, string> }): SimSnapshot {
    const now = this.cinderNow();
    const snap: SimSnapshot = {
      id: randomUUID(),
      name: req.name,
      description: req.description,
      volumeId: volume.id,
      size: volume.size,
      status: 'creating',
      metadata: { ...req.metadata },
      createdAt: now,
      updatedAt: null,
      progress: '0%',
    };
    this.snapshots.set(snap.id, snap);
    this.after(this.scaled(this.cloud.latencies.volumeSnapshotMs), () => {
      if (this.snapshots.get(snap.id) !== snap || snap.status !== 'creating') return;
      if (this.shouldFailSnapshot(snap)) {
        snap.status = 'error';
      } else {
        snap.status = 'available';
        snap.progress = '100%';
      }
      snap.updatedAt = this.cinderNow();
    });
    return snap;
  }

  /** A delete accepted by Cinder: `deleting`, then gone. The caller has checked the status. */
  deleteSnapshot(snap: SimSnapshot): void {
    snap.status = 'deleting';
    snap.updatedAt = this.cinderNow();
    this.after(this.scaled(this.cloud.latencies.volumeSnapshotDeleteMs), () => {
      if (this.snapshots.get(snap.id) === snap) this.snapshots.delete(snap.id);
    });
  }

  /**
   * `createImage` of a volume-backed server, as nova/compute/api.py `snapshot_volume_backed` does it,
   * synchronously in the API call (no task_state): a forced Cinder snapshot of every attached volume,
   * named "snapshot for <image name>", then an image that is only a bucket of properties — zero size,
   * `block_device_mapping` (the BDMs as `snapshot_from_bdm(...).get_image_mapping()` dicts, a JSON
   * string: nova/image/glance.py `_convert_to_string`), `bdm_v2`, `root_device_name`.
   *
   * Its status: Glance v2 leaves an image without data `queued`, but nova/image/glance.py `API.create`
   * sets `force_activate` for `size == 0` without data, and `_create_v2` then forces
   * `disk_format: raw`, `container_format: bare` and uploads zero bytes: the image is `active` (size 0)
   * by the time Nova answers 202, while its volume snapshots may still be `creating`.
   */
  snapshotVolumeBacked(s: SimServer, name: string, metadata: Record<string, string>): SimImage {
    const mapping = this.attachmentsOf(s.id).map(({ volume, attachment }) => {
      const snap = this.createSnapshot(volume, { name: `snapshot for ${name}`, description: volume.description, metadata: {} });
      // Every bdm_new_fields key but connection_info (get_image_mapping), in a fixed order.
      return {
        source_type: 'snapshot',
        destination_type: 'volume',
        snapshot_id: snap.id,
        volume_id: null,
        image_id: null,
        boot_index: attachment.bootIndex,
        device_name: attachment.device,
        device_type: 'disk',
        disk_bus: 'virtio',
        delete_on_termination: false,
        volume_size: volume.size,
        guest_format: null,
        no_device: null,
        tag: null,
        volume_type: null,
        encrypted: null,
        encryption_secret_uuid: null,
        encryption_format: null,
        encryption_options: null,
      };
    });
    const properties: Record<string, string> = { ...metadata, root_device_name: s.rootDeviceName };
    if (mapping.length) {
      properties.block_device_mapping = pythonJson(mapping);
      properties.bdm_v2 = 'True';
    }
    const now = isoSeconds();
    const image: SimImage = {
      id: randomUUID(),
      name,
      status: 'queued',
      tags: [],
      properties,
      createdAt: now,
      updatedAt: now,
      size: null,
      checksum: null,
      osHashValue: null,
      owner: this.cloud.projectId,
      visibility: 'private',
      protected: false,
      minDisk: 0,
      diskFormat: 'raw',
      containerFormat: 'bare',
      fromServer: s.id,
    };
    activateImage(image, Buffer.alloc(0), 0);
    this.images.set(image.id, image);
    this.touch(s);
    return image;
  }
}

/** Python's `json.dumps` layout (`", "` and `": "` separators), as oslo's jsonutils writes it. */
export function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v);
}
