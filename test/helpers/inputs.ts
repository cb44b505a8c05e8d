import type { SnapsetInputArg } from '../../src/shared/input.js';
import type { Simulator } from '../../src/sim/index.js';

/** A valid createSnapset input for a two-VM lab; callers override what they test. */
export function sampleInput(overrides: Partial<SnapsetInputArg> = {}): SnapsetInputArg {
  return {
    stackName: 'hs-test',
    cloud: 'sim',
    controller: { name: 'controller', host: '127.0.0.1', port: 22, user: 'cloud-user', privateKeyFile: '/nonexistent/id_ed25519' },
    snapsetData: {
      instances: {
        controller: { uuid: '6f4512de-f744-4979-8ab2-45f5461e304c', role: 'controller', mac_address: 'fa:16:9e:81:f6:05' },
        master0: { uuid: '7a5623ef-0855-4a8a-9bc3-56b6572f415d', role: 'ocp_master', mac_address: 'fa:16:9e:81:f6:10' },
      },
    },
    ...overrides,
  };
}

/** The input for a running simulator's stack, with polls fast enough for tests. */
export function simInput(sim: Simulator, overrides: Partial<SnapsetInputArg> = {}): SnapsetInputArg {
  const { prepare, capture, ...rest } = overrides;
  return {
    ...sim.snapsetInput(),
    prepare: { stablePeriod: '60s', ...prepare },
    capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms', ...capture },
    ...rest,
  };
}
