/**
 * `npm run sim`: the OpenStack + controller simulator alone, with the scenario of temporal-dev.yml
 * (or the file named by SNAPSET_DEV_CONFIG). Prints where its clouds.yaml, endpoints and SSH key are.
 */
import { loadDevConfig, projectRoot } from '../dev/config.js';
import { join } from 'node:path';
import { describeSimulator, startSimulator } from './index.js';
import { DEFAULT_SCENARIO } from './scenario.js';

async function main(): Promise<void> {
  const cfg = await loadDevConfig();
  const sim = await startSimulator(cfg.simulator ?? DEFAULT_SCENARIO, {
    cloudPort: Number(process.env.SIM_CLOUD_PORT ?? 0),
    sshPort: Number(process.env.SIM_SSH_PORT ?? 0),
    stateDir: process.env.SIM_STATE_DIR ?? join(projectRoot(), '.sim'),
  });
  for (const line of describeSimulator(sim)) console.log(line);
  console.log(`\nTry: OS_CLIENT_CONFIG_FILE=${sim.cloud.cloudsYamlPath} openstack --os-cloud ${sim.cloud.cloudName} image list`);
  console.log('createSnapset input for this stack:');
  console.log(JSON.stringify({ ...sim.snapsetInput(), prepare: { enabled: false } }, null, 2));
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
