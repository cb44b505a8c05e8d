#!/usr/bin/env node
// Records the history of one complete reviveSnapset run (dev server + simulator: a seeded complete
// set, cordoned nodes, a kubelet CSR blocking Ready) into test/fixtures/histories/, for the replay
// test. Run after `npm run build` whenever a change to reviveSnapset is meant to be incompatible.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const { loadToolchain } = await import(`${root}/dist/src/dev/toolchain.js`);
const { startDevServer } = await import(`${root}/dist/src/dev/dev-server.js`);
const { devServerEnv, withSimWorker, FAST_SCENARIO } = await import(`${root}/dist/test/helpers/temporal.js`);
const { SEARCH_ATTRIBUTES } = await import(`${root}/dist/src/shared/workflow-api.js`);

const snapId = 'rEcOrD01';
const createdAt = new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
const images = Object.entries(FAST_SCENARIO.instances).map(([name, inst]) => ({
  name: `hotstack-${name}-snapshot-${snapId}`,
  tags: ['hotstack', 'hotstack-snapset', `name=${name}`, `role=${inst.role}`, `snap_id=${snapId}`, `mac_address=${inst.mac_address}`, 'snapset_complete'],
  properties: { hotstack_snap_id: snapId, hotstack_set_size: '2', hotstack_stack_name: FAST_SCENARIO.stackName },
  createdAt,
}));
const scenario = {
  ...FAST_SCENARIO,
  cloud: { images },
  controller: { nodes: { 'master-0': { unschedulable: true } }, csrs: [{ name: 'csr-master-0', node: 'master-0', kind: 'kubelet-client', blocksReady: true }] },
};

const { temporalCli } = await loadToolchain();
const server = await startDevServer({
  cli: temporalCli,
  port: 0,
  searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 'Keyword'])),
});
process.env.SNAPSET_TEST_TEMPORAL_ADDRESS = server.address;
const env = await devServerEnv();
const workflowId = `snapset-revive-${FAST_SCENARIO.stackName}`;
await withSimWorker(
  env,
  async ({ sim, taskQueue }) => {
    const { stackName, cloud, controller } = sim.snapsetInput();
    const handle = await env.client.workflow.start('reviveSnapset', { taskQueue, workflowId, args: [{ stackName, cloud, controller }] });
    await handle.result();
  },
  scenario,
);
const json = execFileSync(temporalCli, ['workflow', 'show', '--workflow-id', workflowId, '--address', server.address, '--output', 'json']);
writeFileSync(`${root}/test/fixtures/histories/revive-snapset-complete.json`, json);
await env.teardown();
await server.stop();
console.log('recorded test/fixtures/histories/revive-snapset-complete.json');
