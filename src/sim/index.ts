/**
 * The whole simulator: Keystone/Nova/Glance on one HTTP port and one SSH controller per lab, linked
 * so that a guest shut down from inside turns SHUTOFF in Nova and a server started again boots its
 * guest (src/sim/types.ts).
 *
 * Several labs share the one cloud (scenario `labs`); each lab's controller listens on a port of
 * its own, as every Hotstack lab has a controller address of its own — so a client picks a lab
 * exactly as it would in reality, by the address in its input, and no SSH user convention is needed.
 *
 * Control endpoint (on the cloud's port, next to src/sim/cloud/index.ts's `/_sim/*`):
 *   GET    /_sim/labs                   every lab: stack name, SSH port, servers, nodes, CSRs
 *   GET    /_sim/labs/{stack}           one lab
 *   POST   /_sim/labs/{stack}/reset     reset one lab (`Simulator.resetLab`) → the lab after the reset
 *   POST   /_sim/reset                  reset every lab
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeCloudSimulator, startCloudSimulator, type CloudSimulator, type SimControlHandler } from './cloud/index.js';
import { startControllerSimulator, type ControllerSimulator } from './controller/index.js';
import { cloudScenario, labScenarios, parseScenario, type Scenario, type ScenarioInput } from './scenario.js';
import type { ControllerTarget, InstanceSpec } from '../shared/types.js';

/** A createSnapset input for one simulated stack (camelCase), pointing at the sim's cloud and that lab's controller. */
export interface SimSnapsetInput {
  stackName: string;
  cloud: string;
  controller: ControllerTarget;
  snapsetData: { instances: Record<string, InstanceSpec> };
}

/** One lab: its VMs (a slice of the shared cloud) and its controller. */
export interface SimLab {
  readonly stackName: string;
  /** The lab as a one-lab scenario (its `instances` and `controller`). */
  readonly scenario: Scenario;
  readonly controller: ControllerSimulator;
  /** Nova server uuids of the lab. */
  readonly uuids: string[];
  snapsetInput(): SimSnapsetInput;
  /** See `Simulator.resetLab`. */
  reset(): void;
}

export interface Simulator {
  scenario: Scenario;
  cloud: CloudSimulator;
  /** The default lab's controller (the scenario's top-level `stackName`). */
  controller: ControllerSimulator;
  /** Every lab by stack name, the default lab included. */
  labs: ReadonlyMap<string, SimLab>;
  /** A lab by stack name (default: the default lab); throws naming the labs there are. */
  lab(stackName?: string): SimLab;
  stateDir: string;
  /** A createSnapset input for a simulated stack (default: the default lab). */
  snapsetInput(stackName?: string): SimSnapsetInput;
  /**
   * Resets a lab (default: the default lab) to a healthy, running one: every server ACTIVE at
   * once (pending in-guest shutdowns void), the controller answering, every node Ready and
   * schedulable, no CSRs, no shutdown scheduled, APIs up, cluster stable. Images are untouched.
   */
  resetLab(stackName?: string): void;
  close(): Promise<void>;
}

export interface StartSimulatorOptions {
  host?: string;
  /** 0 = a free port. @default 0 */
  cloudPort?: number;
  /** SSH port of the default lab's controller; the other labs' controllers get free ports. @default 0 */
  sshPort?: number;
  stateDir?: string;
}

function labView(lab: SimLab, cloud: CloudSimulator) {
  const uuids = new Set(lab.uuids);
  return {
    stackName: lab.stackName,
    ssh: { host: lab.controller.host, port: lab.controller.port, user: lab.controller.user },
    controllerDown: lab.controller.controllerDown(),
    servers: cloud.servers().filter((s) => uuids.has(s.id)),
    nodes: lab.controller.nodes(),
    csrs: lab.controller.csrs(),
  };
}

export async function startSimulator(scenarioInput: ScenarioInput | Scenario, opts: StartSimulatorOptions = {}): Promise<Simulator> {
  const scenario = parseScenario(scenarioInput);
  const host = opts.host ?? '127.0.0.1';
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'hotstack-sim-')));
  const cloud = await startCloudSimulator(cloudScenario(scenario), { host, port: opts.cloudPort ?? 0, stateDir });
  const labs = new Map<string, SimLab>();
  const closeAll = async () => {
    for (const lab of labs.values()) await lab.controller.close();
    await cloud.close();
  };
  try {
    for (const [i, labScenario] of labScenarios(scenario).entries()) {
      // The default lab keeps its key and known_hosts where they always were; the others get a directory each.
      const dir = i === 0 ? stateDir : join(stateDir, 'labs', labScenario.stackName);
      await mkdir(dir, { recursive: true });
      const controller = await startControllerSimulator(labScenario, cloud.compute, { host, port: i === 0 ? (opts.sshPort ?? 0) : 0, stateDir: dir });
      const instances = Object.entries(labScenario.instances);
      const lab: SimLab = {
        stackName: labScenario.stackName,
        scenario: labScenario,
        controller,
        uuids: instances.map(([, inst]) => inst.uuid),
        snapsetInput() {
          const controllerName = instances.find(([, inst]) => inst.role === 'controller')?.[0] ?? 'controller';
          return {
            stackName: labScenario.stackName,
            cloud: cloud.cloudName,
            controller: { ...controller.target(), name: controllerName },
            snapsetData: {
              instances: Object.fromEntries(instances.map(([name, inst]) => [name, { uuid: inst.uuid, role: inst.role, mac_address: inst.mac_address }])),
            },
          };
        },
        reset() {
          for (const uuid of lab.uuids) cloud.compute.resetServer(uuid);
          // After the servers: their power-on notices boot the guests, the reset then skips the boot.
          controller.reset();
        },
      };
      labs.set(lab.stackName, lab);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const lab = (stackName = scenario.stackName): SimLab => {
    const found = labs.get(stackName);
    if (!found) throw new Error(`no simulated lab ${JSON.stringify(stackName)}; labs: ${[...labs.keys()].join(', ')}`);
    return found;
  };

  const control: SimControlHandler = (method, path) => {
    if (path === '/_sim/labs' && method === 'GET') return { status: 200, json: [...labs.values()].map((l) => labView(l, cloud)) };
    if (path === '/_sim/reset' && method === 'POST') {
      for (const l of labs.values()) l.reset();
      return { status: 200, json: [...labs.values()].map((l) => labView(l, cloud)) };
    }
    const m = /^\/_sim\/labs\/([^/]+)(\/reset)?$/.exec(path);
    if (!m) return undefined;
    const found = labs.get(decodeURIComponent(m[1]!));
    if (!found) return { status: 404, json: { error: `no lab ${decodeURIComponent(m[1]!)}`, labs: [...labs.keys()] } };
    if (!m[2] && method === 'GET') return { status: 200, json: labView(found, cloud) };
    if (m[2] && method === 'POST') {
      found.reset();
      return { status: 200, json: labView(found, cloud) };
    }
    return { status: 405, headers: { Allow: m[2] ? 'POST' : 'GET' }, json: { error: `${method} not allowed on ${path}` } };
  };
  cloud.extendControl(control);

  const defaultLab = lab();
  return {
    scenario,
    cloud,
    controller: defaultLab.controller,
    labs,
    lab,
    stateDir,
    snapsetInput: (stackName) => lab(stackName).snapsetInput(),
    resetLab: (stackName) => lab(stackName).reset(),
    close: closeAll,
  };
}

/** Lines telling where the simulator is and how to use it. */
export function describeSimulator(sim: Simulator): string[] {
  const lines = describeCloudSimulator(sim.cloud).split('\n');
  for (const lab of sim.labs.values()) {
    const c = lab.controller;
    const label = sim.labs.size > 1 ? `controller of ${lab.stackName} (SSH)` : 'controller (SSH)';
    lines.push(`${label}: ${c.user}@${c.host}:${c.port}, key ${c.privateKeyFile}, host key ${c.hostKeyFingerprint}`);
  }
  if (sim.labs.size > 1) lines.push(`  labs:        ${sim.cloud.endpoints.control}/labs  (reset: POST …/labs/<stack>/reset)`);
  return lines;
}
