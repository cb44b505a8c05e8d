/**
 * `npm start` (the compiled demo, --once) both ways the issue names: with nothing running (it starts
 * its own dev server) and with a plain `temporal server start-dev` already on its port, which has
 * none of the project's search attributes (the demo registers them). Ports moved through
 * SNAPSET_DEV_CONFIG, as the README says.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../src/dev/dev-server.js';
import { freePort } from '../src/dev/toolchain.js';
import { repoRoot } from './helpers/paths.js';
import { startProc } from './helpers/processes.js';
import { toolchain, useTempDir } from './helpers/temporal.js';

async function devConfig(dir: string, port: number, uiPort: number): Promise<string> {
  const text = (await readFile(join(repoRoot, 'temporal-dev.yml'), 'utf8'))
    .replace(/port: 7233 .*/, `port: ${port}`)
    .replace(/uiPort: 8233 .*/, `uiPort: ${uiPort}`)
    .replace(/dbFile: .*/, `dbFile: ${join(dir, `dev-${port}.sqlite`)}`);
  assert.match(text, new RegExp(`port: ${port}\\n`));
  const file = join(dir, `dev-${port}.yml`);
  await writeFile(file, text);
  return file;
}

async function runDemo(config: string): Promise<{ code: number; output: string }> {
  const p = startProc([join(repoRoot, 'dist', 'src', 'demo.js'), '--once'], { env: { SNAPSET_DEV_CONFIG: config } });
  const code = await p.exited;
  return { code, output: p.output };
}

function assertCompleteDemo(output: string): void {
  assert.match(output, /lab: controller, master0, master1, master2, worker0, worker1; cluster installed/);
  assert.match(output, /started snapset-hs-demo\. Web UI .*http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/snapset-hs-demo/);
  assert.match(output, /waiting-cert-rotation \(wakes /, 'the certificate-rotation timer is seen waiting');
  assert.match(output, /"alreadyOldEnough": false/);
  // Every phase a line (issue 17), even the ones that pass between two polls of the progress.
  for (const phase of [
    'validating',
    'preflight',
    'waiting-cert-rotation',
    'preparing-cluster',
    'shutting-down',
    'waiting-shutoff',
    'creating-images',
    'tagging',
    'verifying',
    'completed',
  ]) {
    assert.match(output, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z {2}${phase}[: (]`, 'm'), `a line for ${phase}`);
  }
  assert.match(output, /snapset latest hs-demo --format yaml → set [A-Za-z0-9_-]{8}, ready for hotstack's -e @file:\n[\s\S]*?stack_parameters:/);
  assert.match(output, /controller_params:\n.*image: "hotstack-controller-snapshot-/);
  assert.match(output, /role ocp_master has 3 instances/, 'says which roles no hotstack parameter can name');
  const rows = output.match(/hotstack-\w+-snapshot-[\w-]{8} +active +role=\S+ snapset_complete/g) ?? [];
  assert.equal(rows.length, 6, output);
}

describe('npm start (demo)', () => {
  const tmp = useTempDir('snapset-demo-');

  test('with a plain temporal server start-dev already there: registers the search attributes and completes', async () => {
    const { temporalCli } = await toolchain();
    const server = await startDevServer({ cli: temporalCli, port: await freePort() });
    try {
      const port = Number(server.address.split(':')[1]);
      const r = await runDemo(await devConfig(tmp.path, port, await freePort()));
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, new RegExp(`a Temporal server already listens on 127\\.0\\.0\\.1:${port}; using it`));
      assert.match(r.output, /registered the search attributes it lacked: SnapsetPhase, SnapId, StackName/);
      assertCompleteDemo(r.output);
      const conn = await Connection.connect({ address: server.address });
      try {
        const sa = await conn.operatorService.listSearchAttributes({ namespace: 'default' });
        for (const name of ['SnapsetPhase', 'SnapId', 'StackName']) assert.ok(name in (sa.customAttributes ?? {}), `${name} registered`);
      } finally {
        await conn.close();
      }
    } finally {
      await server.stop();
    }
  });

  test('with nothing running: starts its own dev server and completes', async () => {
    const port = await freePort();
    const r = await runDemo(await devConfig(tmp.path, port, await freePort()));
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`Temporal dev server on 127\\.0\\.0\\.1:${port}, Web UI http://127\\.0\\.0\\.1:\\d+`));
    assertCompleteDemo(r.output);
  });
});
