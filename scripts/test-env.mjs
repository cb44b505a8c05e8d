// Shared by `npm test` and `npm run test:repeat`: build, install the toolchain when missing, bundle
// the workflows, start ONE Temporal dev server shared by every test file (each file runs in its own
// process under node --test).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(import.meta.url), '../..');
const t0 = Date.now();
export const step = (msg) => console.error(`[test] ${msg} (+${((Date.now() - t0) / 1000).toFixed(1)} s)`);

/** Builds, readies the toolchain and the shared dev server; returns the environment for the test files. */
export async function prepareTestEnv() {
  process.chdir(root);
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  step('built');

  const { ensureToolchain } = await import(join(root, 'dist/src/dev/toolchain.js'));
  const toolchain = await ensureToolchain();
  step('toolchain ready');

  const { writeWorkflowBundle } = await import(join(root, 'dist/src/dev/bundle.js'));
  const bundlePath = await writeWorkflowBundle(join(root, 'dist/workflow-bundle.js'));
  step('workflows bundled');

  const { startDevServer } = await import(join(root, 'dist/src/dev/dev-server.js'));
  const { loadDevConfig } = await import(join(root, 'dist/src/dev/config.js'));
  const { freePort } = await import(join(root, 'dist/src/dev/toolchain.js'));
  const config = await loadDevConfig();
  // With its Web UI, for the browser test (test/web-ui.test.ts).
  const server = await startDevServer({ cli: toolchain.temporalCli, port: 0, uiPort: await freePort(), searchAttributes: config.searchAttributes });
  step(`shared dev server on ${server.address}, Web UI ${server.uiUrl}`);

  const env = {
    ...process.env,
    SNAPSET_TEST_TEMPORAL_ADDRESS: server.address,
    SNAPSET_TEST_TEMPORAL_UI: server.uiUrl,
    SNAPSET_TEST_TOOLCHAIN: JSON.stringify(toolchain),
    SNAPSET_TEST_WORKFLOW_BUNDLE: bundlePath,
  };
  return { env, stop: () => server.stop() };
}

/** The compiled test files: the ones named, else every `dist/test/**\/*.test.js`. */
export function testFiles(selected) {
  const find = (dir) =>
    readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return find(p);
      return name.endsWith('.test.js') ? [p] : [];
    });
  return selected.length > 0 ? selected : find('dist/test').sort();
}

/** Runs `node --test` over the files; resolves with its exit code. */
export async function runNodeTest(files, env, extraArgs = []) {
  // Two files at a time on this 2-core machine: most tests wait on servers, not on the CPU.
  const concurrency = process.env.SNAPSET_TEST_CONCURRENCY ?? '2';
  const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...extraArgs, ...files], {
    stdio: 'inherit',
    env,
  });
  return new Promise((r) => child.once('exit', (c, sig) => r(c ?? (sig ? 1 : 0))));
}
