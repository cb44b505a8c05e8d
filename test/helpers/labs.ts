import type { ScenarioInput } from '../../src/sim/scenario.js';

/** A simulated lab of a controller and `n - 1` masters (nodes `master-<i>`), every latency x0.01. */
export function labOf(n: number, over: Partial<ScenarioInput> = {}): ScenarioInput {
  const instances: NonNullable<ScenarioInput['instances']> = {
    controller: { uuid: '6f4512de-f744-4979-8ab2-45f5461e3000', role: 'controller', mac_address: 'fa:16:9e:81:f6:00' },
  };
  for (let i = 1; i < n; i++) {
    const hex = i.toString(16).padStart(2, '0');
    instances[`master${i}`] = {
      uuid: `7a5623ef-0855-4a8a-9bc3-56b6572f41${hex}`,
      role: 'ocp_master',
      mac_address: `fa:16:9e:81:f6:${hex}`,
      node: `master-${i}`,
    };
  }
  return { stackName: 'hs-lab', timeScale: 0.01, instances, ...over };
}
