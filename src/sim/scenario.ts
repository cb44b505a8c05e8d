import { z } from 'zod';
import { cloudScenarioSchema } from './cloud/scenario.js';
import { controllerScenarioSchema } from './controller/scenario.js';

/** One simulated VM. `node` is its OpenShift node name (absent for the controller). */
export const simInstanceSchema = z
  .object({
    uuid: z.uuid(),
    role: z.string().min(1),
    mac_address: z.string().min(1),
    node: z.string().optional(),
    status: z.enum(['ACTIVE', 'SHUTOFF']).default('ACTIVE'),
  })
  .strict();

/**
 * A simulator scenario, read from `temporal-dev.yml` (`simulator:`) or given by a test.
 * `timeScale` multiplies every simulated latency (0.01 makes a 60 s wait last 0.6 s).
 */
export const scenarioSchema = z
  .object({
    stackName: z.string().default('hs-sim'),
    timeScale: z.number().positive().default(1),
    instances: z.record(z.string(), simInstanceSchema),
    cloud: cloudScenarioSchema.prefault({}),
    controller: controllerScenarioSchema.prefault({}),
  })
  .strict();

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;

/** A single-node OpenShift lab: the controller plus one master, as in the seed's example. */
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
    },
  },
};

export function parseScenario(input: unknown): Scenario {
  return scenarioSchema.parse(input);
}
