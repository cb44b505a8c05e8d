#!/usr/bin/env node
// Records the history of one complete createSnapset run (dev server + simulator, the default
// snapshot-sno scenario) into test/fixtures/histories/<file>, for the replay test that guards workflow
// determinism. A recorded history is never re-recorded: new code must replay it, so this refuses to
// overwrite one. Run after `npm run build` when a workflow change (behind patched()) adds a new path.
//   node scripts/record-history.mjs create-snapset-<what>.json
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const file = process.argv[2];
if (!file || !/^[\w.-]+\.json$/.test(file)) {
  console.error('usage: node scripts/record-history.mjs <name>.json   (written to test/fixtures/histories/)');
  process.exit(2);
}
const out = `${root}/test/fixtures/histories/${file}`;
if (existsSync(out)) {
  console.error(`${out} exists: recorded histories are never re-recorded (new workflow code must replay them); choose a new name`);
  process.exit(2);
}
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
writeFileSync(out, json);
await env.teardown();
await server.stop();
console.log(`recorded ${out}`);
