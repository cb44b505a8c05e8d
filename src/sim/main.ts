/**
 * `npm run sim`: the OpenStack + controller simulator alone, with the scenario of temporal-dev.yml
 * (or the file named by SNAPSET_DEV_CONFIG). Listens on 17000 / 17022, the ports examples/ and the
 * README name, every time they are free — so a running worker reconnects after a restart and the
 * files in examples/ stay valid. A taken port is replaced by a free one for that start only, said
 * loudly (a fallback that stuck would silently break examples/ and every worker configured before).
 * Writes `<state dir>/snapset.json`, an input that completes against it, and prints the exact
 * worker command.
 *
 *   npm run sim [-- --cloud-port N --ssh-port N]   (or SIM_CLOUD_PORT, SIM_SSH_PORT, SIM_STATE_DIR)
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { loadDevConfig, projectRoot } from '../dev/config.js';
import { describeSimulator, startSimulator, type Simulator } from './index.js';
import { DEFAULT_SCENARIO } from './scenario.js';

/** The ports examples/ name; used unless given, or taken. */
export const DEFAULT_SIM_PORTS = { cloud: 17000, ssh: 17022 } as const;

interface Ports {
  cloud: number;
  ssh: number;
}

function portArg(argv: string[], flag: string): number | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: expected a port 0-65535, got ${JSON.stringify(argv[i + 1])}`);
  return n;
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/**
 * A createSnapset input that completes against the simulator: prepare enabled (nodes cordoned and
 * shut down from inside; the install time read from the simulated cluster), the host key from the
 * simulator's known_hosts (valid across restarts), and polls short enough for its timeScale.
 */
export function completingInput(sim: Simulator): Record<string, unknown> {
  const { controller, ...rest } = sim.snapsetInput();
  const { hostKeyFingerprint: _pinned, ...target } = controller;
  return {
    ...rest,
    controller: { ...target, knownHostsFile: sim.controller.knownHostsFile },
    prepare: { enabled: true, stablePeriod: '60s' },
    capture: { shutoffPollInterval: '1s', imagePollInterval: '1s' },
  };
}

async function main(argv: string[]): Promise<void> {
  const cfg = await loadDevConfig();
  const stateDir = process.env.SIM_STATE_DIR ?? join(projectRoot(), '.sim');
  const host = '127.0.0.1';
  const fallbacks: (keyof Ports)[] = [];
  const choose = async (kind: keyof Ports, flag: string, envName: string): Promise<number> => {
    const given = portArg(argv, flag) ?? (process.env[envName] ? Number(process.env[envName]) : undefined);
    if (given !== undefined) return given;
    if (await isFree(DEFAULT_SIM_PORTS[kind], host)) return DEFAULT_SIM_PORTS[kind];
    fallbacks.push(kind);
    return 0;
  };
  const sim = await startSimulator(cfg.simulator ?? DEFAULT_SCENARIO, {
    host,
    cloudPort: await choose('cloud', '--cloud-port', 'SIM_CLOUD_PORT'),
    sshPort: await choose('ssh', '--ssh-port', 'SIM_SSH_PORT'),
    stateDir,
  });
  const ports: Ports = { cloud: Number(new URL(sim.cloud.baseUrl).port), ssh: sim.controller.port };
  const inputFile = join(stateDir, 'snapset.json');
  await writeFile(inputFile, `${JSON.stringify(completingInput(sim), null, 2)}\n`);

  const rel = (p: string) => (p.startsWith(process.cwd()) ? relative(process.cwd(), p) : p);
  if (fallbacks.length > 0) {
    const taken = fallbacks.map((k) => `${DEFAULT_SIM_PORTS[k]} (${k})`).join(' and ');
    for (const line of [
      '',
      `!!! port ${taken} is taken: THIS START ONLY uses ${fallbacks.map((k) => `${ports[k]} (${k})`).join(' and ')}.`,
      `!!! examples/ name SSH port ${DEFAULT_SIM_PORTS.ssh}, and a worker or client still using a clouds.yaml from an earlier start calls ${DEFAULT_SIM_PORTS.cloud}: they will not reach this start.`,
      `!!! Free ${taken} (ss -ltnp | grep -E ':(${DEFAULT_SIM_PORTS.cloud}|${DEFAULT_SIM_PORTS.ssh}) ') and restart npm run sim, or use ${rel(inputFile)} and restart the worker.`,
      '',
    ])
      console.error(line);
  }
  for (const line of describeSimulator(sim)) console.log(line);
  console.log(`\nports ${ports.cloud} (cloud) and ${ports.ssh} (SSH)`);
  console.log(`input that completes against this simulator: ${rel(inputFile)}`);
  console.log('\nA worker for it (another terminal, from the repository root):');
  console.log(
    `  OS_CLIENT_CONFIG_FILE=${rel(sim.cloud.cloudsYamlPath)} OS_CLOUD=${sim.cloud.cloudName} SNAPSET_SSH_KEYS=${rel(sim.controller.privateKeyFile)} npm run worker`,
  );
  console.log('Then a run:');
  console.log(`  npx snapset create -f ${rel(inputFile)} --watch${existsSync(join(projectRoot(), 'examples')) ? '      (or any file in examples/)' : ''}`);
  console.log(`Try: OS_CLIENT_CONFIG_FILE=${rel(sim.cloud.cloudsYamlPath)} openstack --os-cloud ${sim.cloud.cloudName} image list --tag hotstack-snapset`);
  console.log('Ctrl-C stops the simulator (its state is in memory: a restart brings every VM back ACTIVE).');
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`[sim] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
