#!/usr/bin/env node
// Records the history of one complete createSnapset run (dev server + simulator) into
// test/fixtures/histories/, for the replay test that guards workflow determinism.
// Run after `npm run build` whenever a workflow change is meant to be incompatible (and version it).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const { loadToolchain } = await import(`${root}/dist/src/dev/toolchain.js`);
const { startDevServer } = await import(`${root}/dist/src/dev/dev-server.js`);
const { devServerEnv, withSimWorker } = await import(`${root}/dist/test/helpers/temporal.js`);
const { simInput } = await import(`${root}/dist/test/helpers/inputs.js`);
const { SEARCH_ATTRIBUTES } = await import(`${root}/dist/src/shared/workflow-api.js`);

const { temporalCli } = await loadToolchain();
const server = await startDevServer({
  cli: temporalCli,
  port: 0,
  searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 'Keyword'])),
});
process.env.SNAPSET_TEST_TEMPORAL_ADDRESS = server.address;
const env = await devServerEnv();
const workflowId = 'snapset-hs-sno-1';
await withSimWorker(env, async ({ sim, taskQueue }) => {
  const handle = await env.client.workflow.start('createSnapset', { taskQueue, workflowId, args: [simInput(sim, { prepare: { stablePeriod: '1s' } })] });
  await handle.result();
});
const json = execFileSync(temporalCli, ['workflow', 'show', '--workflow-id', workflowId, '--address', server.address, '--output', 'json']);
writeFileSync(`${root}/test/fixtures/histories/create-snapset-complete.json`, json);
await env.teardown();
await server.stop();
console.log('recorded test/fixtures/histories/create-snapset-complete.json');
