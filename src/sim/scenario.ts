import { z } from 'zod';
import { cloudScenarioSchema } from './cloud/scenario.js';
import { controllerScenarioSchema } from './controller/scenario.js';

/** A Nova device name of a virtio disk (`/dev/vdb`). */
const deviceName = z.string().regex(/^\/dev\/[a-z]+[a-z0-9]*$/, 'a device name such as /dev/vdb');

/** A Cinder data volume attached (`in-use`) to an instance, as Heat's `OS::Cinder::Volume` + `block_device_mapping_v2` make it. */
export const simVolumeSchema = z
  .object({
    id: z.uuid(),
    /** GiB. */
    size: z.number().int().positive(),
    /** Where Nova attached it. */
    device: deviceName,
  })
  .strict();

/** One simulated VM. `node` is its OpenShift node name (absent for the controller). */
export const simInstanceSchema = z
  .object({
    uuid: z.uuid(),
    role: z.string().min(1),
    mac_address: z.string().min(1),
    node: z.string().optional(),
    status: z.enum(['ACTIVE', 'SHUTOFF']).default('ACTIVE'),
    /** Data volumes by volume name, attached to this server. */
    volumes: z.record(z.string().min(1), simVolumeSchema).default({}),
    /** The server boots from this (bootable) volume at /dev/vda: Nova shows `image: ""`. */
    rootVolume: z.object({ id: z.uuid(), size: z.number().int().positive() }).strict().optional(),
  })
  .strict()
  .superRefine((inst, ctx) => {
    const devices = new Map<string, string>(inst.rootVolume ? [['/dev/vda', 'rootVolume']] : []);
    for (const [name, v] of Object.entries(inst.volumes)) {
      const other = devices.get(v.device);
      if (other) ctx.addIssue({ code: 'custom', path: ['volumes', name, 'device'], message: `device ${v.device} is also ${other}` });
      devices.set(v.device, name);
    }
  });

/** A further lab in the same cloud: its own VMs and its own controller (its own SSH port). */
export const simLabSchema = z
  .object({
    instances: z.record(z.string(), simInstanceSchema),
    controller: controllerScenarioSchema.prefault({}),
  })
  .strict();

/**
 * A simulator scenario, read from `temporal-dev.yml` (`simulator:`) or given by a test.
 * `timeScale` multiplies every simulated latency (0.01 makes a 60 s wait last 0.6 s).
 *
 * `stackName`, `instances` and `controller` are the default lab (what a one-lab scenario always
 * meant). `labs` adds more labs to the same cloud, keyed by stack name, each with its own
 * controller on its own SSH port — as every Hotstack lab has its own controller address — so
 * several labs can be captured at once. Their Nova servers are named `<stack>-<instance>`.
 */
export const scenarioSchema = z
  .object({
    stackName: z.string().default('hs-sim'),
    timeScale: z.number().positive().default(1),
    instances: z.record(z.string(), simInstanceSchema),
    cloud: cloudScenarioSchema.prefault({}),
    controller: controllerScenarioSchema.prefault({}),
    labs: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a stack name'), simLabSchema).default({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.stackName in s.labs) {
      ctx.addIssue({ code: 'custom', path: ['labs', s.stackName], message: `lab ${s.stackName} is already the default lab (stackName)` });
    }
    const seen = new Map<string, string>();
    const volumes = new Map<string, string>();
    const labs: [string, Record<string, SimInstance>, (string | number)[]][] = [
      [s.stackName, s.instances, ['instances']],
      ...Object.entries(s.labs).map(([name, lab]): [string, Record<string, SimInstance>, (string | number)[]] => [
        name,
        lab.instances,
        ['labs', name, 'instances'],
      ]),
    ];
    for (const [lab, instances, path] of labs) {
      for (const [name, inst] of Object.entries(instances)) {
        const other = seen.get(inst.uuid.toLowerCase());
        if (other) ctx.addIssue({ code: 'custom', path: [...path, name, 'uuid'], message: `uuid ${inst.uuid} is also ${other}` });
        seen.set(inst.uuid.toLowerCase(), `${lab}/${name}`);
        const vols: [string, { id: string }, (string | number)[]][] = [
          ...(inst.rootVolume ? [['rootVolume', inst.rootVolume, ['rootVolume']] as [string, { id: string }, (string | number)[]]] : []),
          ...Object.entries(inst.volumes).map(([v, vol]): [string, { id: string }, (string | number)[]] => [v, vol, ['volumes', v]]),
        ];
        for (const [vname, vol, vpath] of vols) {
          const owner = volumes.get(vol.id.toLowerCase());
          if (owner) ctx.addIssue({ code: 'custom', path: [...path, name, ...vpath, 'id'], message: `volume id ${vol.id} is also ${owner}` });
          volumes.set(vol.id.toLowerCase(), `${lab}/${name}/${vname}`);
        }
      }
    }
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type SimInstance = z.output<typeof simInstanceSchema>;

/**
 * The data volumes of a snapshot-sno master (openstack-k8s-operators/hotstack
 * `scenarios/snapshot-sno/heat_template.yaml`): one for LVMS/TopoLVM and three for Cinder PVs, 20 GiB
 * each, attached by `block_device_mapping_v2` in this order (so Nova names them vdb…vde).
 */
export function snapshotSnoVolumes(master: string, ids: readonly [string, string, string, string]): NonNullable<ScenarioInput['instances'][string]['volumes']> {
  const names = [`${master}-lvms-vol0`, `${master}-cinder-vol0`, `${master}-cinder-vol1`, `${master}-cinder-vol2`];
  return Object.fromEntries(names.map((name, i) => [name, { id: ids[i]!, size: 20, device: `/dev/vd${String.fromCharCode(98 + i)}` }]));
}

/** A single-node OpenShift lab as hotstack's snapshot-sno scenario: the controller plus one master with four data volumes. */
export const DEFAULT_SCENARIO: ScenarioInput = {
  stackName: 'hs-sno-1',
  instances: {
    controller: {
      uuid: '6f4512de-f744-4979-8ab2-45f5461e304c',
      role: 'controller',
      mac_address: 'fa:16:9e:81:f6:05',
    },
    master0: {
      uuid: '7a5623ef-0855-4a8a-9bc3-56b6572f415d',
      role: 'ocp_master',
      mac_address: 'fa:16:9e:81:f6:10',
      node: 'master-0',
      volumes: snapshotSnoVolumes('master0', [
        'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a20',
        'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a21',
        'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a22',
        'a7e1c3d5-0b2f-4e6a-8c1d-3f5b7d9e1a23',
      ]),
    },
  },
};

export function parseScenario(input: unknown): Scenario {
  return scenarioSchema.parse(input);
}

/**
 * Every lab of a scenario as a one-lab scenario of its own (the default lab first, unchanged):
 * what one controller simulator runs.
 */
export function labScenarios(scenario: Scenario): Scenario[] {
  return [
    { ...scenario, labs: {} },
    ...Object.entries(scenario.labs).map(([stackName, lab]) => ({ ...scenario, stackName, instances: lab.instances, controller: lab.controller, labs: {} })),
  ];
}

/** The one cloud every lab lives in: all the labs' servers (other labs' named `<stack>-<instance>`). */
export function cloudScenario(scenario: Scenario): Scenario {
  const instances = { ...scenario.instances };
  for (const [stackName, lab] of Object.entries(scenario.labs)) {
    for (const [name, inst] of Object.entries(lab.instances)) instances[`${stackName}-${name}`] = inst;
  }
  return { ...scenario, instances, labs: {} };
}

/** A deterministic UUID (v4 layout) from two numbers, so generated labs are the same every run. */
function labUuid(lab: number, vm: number): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return `${hex(lab, 8)}-${hex(vm, 4)}-4000-8000-${hex(lab * 4096 + vm, 12)}`;
}

/** A deterministic MAC in OpenStack's fa:16:3e range. */
function labMac(lab: number, vm: number): string {
  return ['fa', '16', '3e', (lab >> 8) & 0xff, lab & 0xff, vm & 0xff].map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0'))).join(':');
}

/** A deterministic volume UUID (v4 layout, variant 9 so it never equals a {@link labUuid}). */
function labVolumeUuid(lab: number, vm: number, volume: number): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return `${hex(lab, 8)}-${hex(vm, 4)}-4${hex(volume, 3)}-9000-${hex(lab * 4096 + vm, 12)}`;
}

/** The data volumes of one generated master: `<master>-lvms-vol0`, then `<master>-cinder-vol0..` (snapshot-sno's shape when n = 4). */
function labVolumes(master: string, lab: number, vm: number, n: number): NonNullable<ScenarioInput['instances'][string]['volumes']> {
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      i === 0 ? `${master}-lvms-vol0` : `${master}-cinder-vol${i - 1}`,
      { id: labVolumeUuid(lab, vm, i), size: 20, device: `/dev/vd${String.fromCharCode(98 + i)}` },
    ]),
  );
}

/**
 * `labs` labs of `vms` VMs each (a controller, then masters `master-0..`), all in one cloud:
 * `hs-lab-01` is the default lab, the others are in `labs`. For the benchmark and multi-lab tests.
 * `volumesPerMaster` attaches that many 20 GiB data volumes to every master (4 is snapshot-sno's shape);
 * `bootFromVolume` makes every VM boot from a 40 GiB root volume (a cloud without local disks).
 */
export function manyLabsScenario(
  labs: number,
  vms: number,
  extra: Partial<Pick<ScenarioInput, 'timeScale' | 'cloud' | 'controller'>> & { volumesPerMaster?: number; bootFromVolume?: boolean } = {},
): ScenarioInput {
  if (!Number.isInteger(labs) || labs < 1 || labs > 9999) throw new RangeError(`labs must be an integer in 1..9999, got ${labs}`);
  if (!Number.isInteger(vms) || vms < 1 || vms > 255) throw new RangeError(`vms must be an integer in 1..255, got ${vms}`);
  const { controller, volumesPerMaster = 0, bootFromVolume = false, ...rest } = extra;
  if (!Number.isInteger(volumesPerMaster) || volumesPerMaster < 0 || volumesPerMaster > 20) {
    throw new RangeError(`volumesPerMaster must be an integer in 0..20, got ${volumesPerMaster}`);
  }
  const root = (lab: number, vm: number) => (bootFromVolume ? { rootVolume: { id: labVolumeUuid(lab, vm, 0xfff), size: 40 } } : {});
  const labInstances = (lab: number): ScenarioInput['instances'] => {
    const instances: ScenarioInput['instances'] = {
      controller: { uuid: labUuid(lab, 0), role: 'controller', mac_address: labMac(lab, 0), ...root(lab, 0) },
    };
    for (let vm = 1; vm < vms; vm++) {
      const master = `master${vm - 1}`;
      instances[master] = {
        uuid: labUuid(lab, vm),
        role: 'ocp_master',
        mac_address: labMac(lab, vm),
        node: `master-${vm - 1}`,
        ...root(lab, vm),
        ...(volumesPerMaster ? { volumes: labVolumes(master, lab, vm, volumesPerMaster) } : {}),
      };
    }
    return instances;
  };
  const name = (lab: number) => `hs-lab-${String(lab).padStart(2, '0')}`;
  return {
    ...rest,
    stackName: name(1),
    instances: labInstances(1),
    ...(controller ? { controller } : {}),
    labs: Object.fromEntries(
      Array.from({ length: labs - 1 }, (_, i) => [name(i + 2), { instances: labInstances(i + 2), ...(controller ? { controller } : {}) }]),
    ),
  };
}
