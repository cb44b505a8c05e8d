/**
 * The whole simulator: Keystone/Nova/Glance on one HTTP port and the SSH controller, linked so that
 * a guest shut down from inside turns SHUTOFF in Nova (src/sim/types.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeCloudSimulator, startCloudSimulator, type CloudSimulator } from './cloud/index.js';
import { startControllerSimulator, type ControllerSimulator } from './controller/index.js';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario.js';
import type { ControllerTarget, InstanceSpec } from '../shared/types.js';

export interface Simulator {
  scenario: Scenario;
  cloud: CloudSimulator;
  controller: ControllerSimulator;
  stateDir: string;
  /** A createSnapset input for the simulated stack (camelCase), pointing at the sim's cloud and controller. */
  snapsetInput(): { stackName: string; cloud: string; controller: ControllerTarget; snapsetData: { instances: Record<string, InstanceSpec> } };
  close(): Promise<void>;
}

export async function startSimulator(scenarioInput: ScenarioInput | Scenario, opts: { host?: string; cloudPort?: number; sshPort?: number; stateDir?: string } = {}): Promise<Simulator> {
  const scenario = parseScenario(scenarioInput);
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'hotstack-sim-')));
  const cloud = await startCloudSimulator(scenario, { host: opts.host ?? '127.0.0.1', port: opts.cloudPort ?? 0, stateDir });
  let controller: ControllerSimulator;
  try {
    controller = await startControllerSimulator(scenario, cloud.compute, { host: opts.host ?? '127.0.0.1', port: opts.sshPort ?? 0, stateDir });
  } catch (err) {
    await cloud.close();
    throw err;
  }
  return {
    scenario,
    cloud,
    controller,
    stateDir,
    snapsetInput() {
      const instances = Object.fromEntries(
        Object.entries(scenario.instances).map(([name, i]) => [name, { uuid: i.uuid, role: i.role, mac_address: i.mac_address }]),
      );
      const controllerName = Object.entries(scenario.instances).find(([, i]) => i.role === 'controller')?.[0] ?? 'controller';
      return { stackName: scenario.stackName, cloud: cloud.cloudName, controller: { ...controller.target(), name: controllerName }, snapsetData: { instances } };
    },
    async close() {
      await controller.close();
      await cloud.close();
    },
  };
}

/** Lines telling where the simulator is and how to use it. */
export function describeSimulator(sim: Simulator): string[] {
  return [
    ...describeCloudSimulator(sim.cloud).split('\n'),
    `controller (SSH): ${sim.controller.user}@${sim.controller.host}:${sim.controller.port}, key ${sim.controller.privateKeyFile}, host key ${sim.controller.hostKeyFingerprint}`,
  ];
}
