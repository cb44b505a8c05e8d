import { z } from 'zod';

/**
 * The cloud part of a simulator scenario (`scenario.cloud`): identity, regions, latencies and faults.
 * Every field has a default, so `cloud: {}` is a working cloud. Latencies are multiplied by the
 * scenario's `timeScale`; the token lifetime is wall-clock (it is not a simulated latency).
 */

/** Names of the simulated API calls: counters, faults and the request log use them. */
export const SIM_ENDPOINTS = [
  'identity.versions',
  'identity.tokens.create',
  'identity.tokens.validate',
  'compute.versions',
  'compute.servers.list',
  'compute.servers.get',
  'compute.servers.createImage',
  'compute.servers.stop',
  'compute.servers.start',
  'compute.servers.action',
  'compute.flavors.list',
  'compute.flavors.get',
  'image.versions',
  'image.images.list',
  'image.images.create',
  'image.images.get',
  'image.images.update',
  'image.images.upload',
  'image.images.delete',
  'image.tags.add',
  'image.tags.delete',
  'compute.servers.volumeAttachments',
  'volume.versions',
  'volume.volumes.list',
  'volume.volumes.get',
  'volume.snapshots.create',
  'volume.snapshots.list',
  'volume.snapshots.get',
  'volume.snapshots.update',
  'volume.snapshots.delete',
  'volume.snapshots.metadata',
] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];

/** Faults of one endpoint (or of a pattern: `*`, `compute.*`, `image.tags.*`). */
export const endpointFaultSchema = z
  .object({
    /** Probability (0..1) that a request fails with `errorStatus` before it takes effect. */
    errorRate: z.number().min(0).max(1).default(0),
    /** Probability (0..1) that a request takes effect and then fails with `errorStatus` anyway (lost answer). */
    errorAfterAcceptRate: z.number().min(0).max(1).default(0),
    /** @default 503 */
    errorStatus: z.number().int().min(500).max(599).default(503),
    /** Latency added to every request of the endpoint, ms (× timeScale). */
    latencyMs: z.number().min(0).default(0),
    /** The next N requests answer 409 (a burst of "busy"). Counts down. */
    conflictNext: z.number().int().min(0).default(0),
    /** The next N requests take effect, then the connection is reset before an answer (lost response). */
    dropNext: z.number().int().min(0).default(0),
    /** The next N requests fail with `errorStatus` before taking effect. Counts down. */
    failNext: z.number().int().min(0).default(0),
  })
  .strict();
export type EndpointFault = z.output<typeof endpointFaultSchema>;

export const cloudFaultsSchema = z
  .object({
    /** Seed of the fault dice, so a scenario fails the same way every run. */
    seed: z.number().int().default(42),
    /** Faults by endpoint name or pattern; every matching entry applies. */
    endpoints: z.record(z.string(), endpointFaultSchema).default({}),
    /** One-shot: every token issued so far is expired at once, so the next use answers 401. */
    expireTokens: z.boolean().default(false),
    /** The next N snapshots end with image status `killed`. Counts down. */
    killNextImages: z.number().int().min(0).default(0),
    /** Snapshots of these servers (uuids) end `killed`. */
    killImagesOfServers: z.array(z.string()).default([]),
    /** One-shot per server: the next N snapshots of server `uuid` end `killed`. Counts down, then the entry goes. */
    killNextImagesOf: z.record(z.string(), z.number().int().min(0)).default({}),
    /** The next N Cinder snapshots (of any volume, Nova's included) end with status `error`. Counts down. */
    killNextSnapshots: z.number().int().min(0).default(0),
    /** Snapshots of these volumes (uuids) end `error`. */
    killSnapshotsOfVolumes: z.array(z.string()).default([]),
    /** One-shot per volume: the next N snapshots of volume `uuid` end `error`. Counts down, then the entry goes. */
    killNextSnapshotsOf: z.record(z.string(), z.number().int().min(0)).default({}),
  })
  .strict();
export type CloudFaults = z.output<typeof cloudFaultsSchema>;
export type CloudFaultsInput = z.input<typeof cloudFaultsSchema>;

export const cloudLatenciesSchema = z
  .object({
    /** Added to every request, ms. */
    requestMs: z.number().min(0).default(0),
    /** Server `task_state` `image_snapshot` (image `queued`), ms. */
    snapshotMs: z.number().min(0).default(1500),
    /** `image_pending_upload` (image still `queued`), ms. */
    pendingUploadMs: z.number().min(0).default(500),
    /** `image_uploading` (image `saving`) until the image is `active`, ms. */
    uploadMs: z.number().min(0).default(4000),
    /** `os-stop` (`powering-off`) until `SHUTOFF`, ms. */
    powerOffMs: z.number().min(0).default(2000),
    /** `os-start` (`powering-on`) until `ACTIVE`, ms. */
    powerOnMs: z.number().min(0).default(3000),
    /** A Cinder snapshot `creating` until `available` (or `error`), ms. */
    volumeSnapshotMs: z.number().min(0).default(3000),
    /** A Cinder snapshot `deleting` until it is gone, ms. */
    volumeSnapshotDeleteMs: z.number().min(0).default(1000),
  })
  .strict();

/** An image that exists before the scenario starts (e.g. the base image, an older SnapSet). */
export const seedImageSchema = z
  .object({
    id: z.uuid().optional(),
    name: z.string(),
    status: z.enum(['queued', 'saving', 'active', 'killed', 'deactivated']).default('active'),
    tags: z.array(z.string()).default([]),
    properties: z.record(z.string(), z.string()).default({}),
    createdAt: z.iso.datetime().optional(),
    size: z.number().int().min(0).optional(),
    visibility: z.enum(['public', 'private', 'shared', 'community']).default('private'),
  })
  .strict();

/** A Nova flavor (Compute API reference, "Flavors"); every server of the scenario uses the first one. */
export const flavorSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    vcpus: z.number().int().positive(),
    /** MiB. */
    ram: z.number().int().positive(),
    /** Root disk, GiB. */
    disk: z.number().int().min(0),
    ephemeral: z.number().int().min(0).default(0),
    /** MiB. */
    swap: z.number().int().min(0).default(0),
    description: z.string().nullable().default(null),
    extraSpecs: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type SimFlavor = z.output<typeof flavorSchema>;

const DEFAULT_FLAVORS: z.input<typeof flavorSchema>[] = [
  { id: 'hotstack.xlarge', name: 'hotstack.xlarge', vcpus: 8, ram: 32768, disk: 40, extraSpecs: { 'hw:cpu_policy': 'shared' } },
  { id: 'hotstack.large', name: 'hotstack.large', vcpus: 4, ram: 16384, disk: 40 },
  { id: 'hotstack.small', name: 'hotstack.small', vcpus: 2, ram: 4096, disk: 20 },
];

export const cloudScenarioSchema = z
  .object({
    /** The region of every endpoint. */
    region: z.string().min(1).default('RegionOne'),
    /** More regions in the catalog (same state, URLs under `/r/<region>/`), to exercise region selection. */
    extraRegions: z.array(z.string().min(1)).default([]),
    domainName: z.string().default('Default'),
    domainId: z.string().default('default'),
    projectName: z.string().default('hotstack'),
    projectId: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .default('5d1f0a4e8c6b4f2e9a7d3c1b0e8f6a42'),
    username: z.string().default('hotstack'),
    userId: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .default('9b2c4e6a8d0f4b1c3e5a7c9e1f3b5d70'),
    /** The simulator's own password; it lands in the clouds.yaml it writes. */
    password: z.string().min(1).default('sim-password'),
    applicationCredential: z
      .object({
        id: z.string().default('3f7a9c1e5b2d4f6a8c0e2b4d6f8a1c3e'),
        name: z.string().default('hotstack-snapset'),
        secret: z.string().min(1).default('sim-appcred-secret'),
      })
      .strict()
      .prefault({}),
    /** Token lifetime, seconds (Keystone's default is 3600). */
    tokenTtlSeconds: z.number().positive().default(3600),
    /** Highest Nova microversion the simulator speaks. */
    novaMaxMicroversion: z
      .string()
      .regex(/^2\.\d+$/)
      .default('2.96'),
    /** Nova flavors; servers use the first. */
    flavors: z
      .array(flavorSchema)
      .min(1)
      .default(() => DEFAULT_FLAVORS.map((f) => flavorSchema.parse(f))),
    /** Nova `[api]max_limit`: the largest page of a server list. */
    novaMaxLimit: z.number().int().positive().default(1000),
    /** Highest Cinder microversion the simulator speaks (Cinder 2025.x: 3.71). */
    cinderMaxMicroversion: z
      .string()
      .regex(/^3\.\d+$/)
      .default('3.71'),
    /** Cinder `osapi_max_limit`: the largest page of a volume or snapshot list. */
    cinderMaxLimit: z.number().int().positive().default(1000),
    latencies: cloudLatenciesSchema.prefault({}),
    /** Size of every snapshot image, bytes. */
    imageSizeBytes: z.number().int().min(0).default(10_737_418_240),
    /** Glance `limit_param_default` / `api_limit_max`. */
    imagePageSize: z.number().int().positive().default(25),
    imageMaxPageSize: z.number().int().positive().default(1000),
    images: z.array(seedImageSchema).default([]),
    faults: cloudFaultsSchema.prefault({}),
  })
  .strict();

export type CloudScenario = z.output<typeof cloudScenarioSchema>;
export type CloudScenarioInput = z.input<typeof cloudScenarioSchema>;
