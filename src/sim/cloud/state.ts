import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Scenario } from '../scenario.js';
import type { CloudScenario } from './scenario.js';

/**
 * The simulated cloud's data: Keystone tokens, Nova servers, Glance images, and the timers that move
 * them through their state machines (server ACTIVE ⇄ SHUTOFF, snapshot task_states, image
 * queued → saving → active|killed). Pure state; HTTP lives in the service modules.
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
  imageRef: string;
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
  readonly tokens = new Map<string, SimToken>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  /** Decides, when a snapshot finishes, whether its image ends `killed`. */
  shouldKill: (server: SimServer, image: SimImage) => boolean = () => false;
  /** Told when a stopped server runs again (the controller simulator boots its guest). */
  readonly powerOnListeners = new Set<(uuid: string) => void>();
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
        imageRef: BASE_IMAGE_ID,
      });
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
}
