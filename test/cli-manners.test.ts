/**
 * The CLI's manners (issue #9 point 5): --version, bare `snapset`, the exit-code table, errors naming
 * the address or file, binary input refused unechoed, the no-worker warning, root-cause failures.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simInput } from './helpers/inputs.js';
import { repoRoot } from './helpers/paths.js';
import { closedPort, runSnapset, startProc } from './helpers/processes.js';
import { uniqueTaskQueue, useTempDir, useTemporal, withSimWorker } from './helpers/temporal.js';

describe('snapset CLI manners', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-manners-');
  const env = () => ({ TEMPORAL_ADDRESS: t.env.address });

  test('--version prints the package version; bare snapset prints help on stderr and exits 2', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const v = await runSnapset(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.output.trim(), version);
    const bare = await runSnapset([]);
    assert.equal(bare.code, 2);
    assert.match(bare.output, /Usage: snapset/);
    assert.match(bare.output, /create \[options\]/);
  });

  test('an unreachable Temporal exits 3 naming the address and the settings to fix', async () => {
    const port = await closedPort();
    const r = await runSnapset(['--address', `127.0.0.1:${port}`, 'show', 'hs-sno-1']);
    assert.equal(r.code, 3, r.output);
    assert.match(r.output, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
    assert.match(r.output, /TEMPORAL_ADDRESS/);
    assert.match(r.output, /temporal\.toml/);
    const viaEnv = await runSnapset(['runs'], { env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } });
    assert.equal(viaEnv.code, 3);
    assert.match(viaEnv.output, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test('a binary input file is refused with exit 2 and never echoed', async () => {
    const file = join(tmp.path, 'image.yaml');
    const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x53, 0x45, 0x43, 0x52, 0x45, 0x54]);
    await writeFile(file, bytes);
    const r = await runSnapset(['--address', '127.0.0.1:1', 'create', '-f', file]);
    assert.equal(r.code, 2);
    assert.match(r.output, new RegExp(`${file.replace(/[.]/g, '\\.')}: not a text file`));
    assert.ok(!r.output.includes('SECRET') && !r.output.includes('\u0000'), r.output);
  });

  test('skip-wait with too short a reason is a usage error (exit 2) before contacting anything', async () => {
    const r = await runSnapset(['--address', '127.0.0.1:1', 'skip-wait', 'hs-sno-1', '--reason', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.output, /reason: required, at least 10 characters/);
  });

  test('watch says within 10 s that no worker polls the run’s task queue', async () => {
    const taskQueue = uniqueTaskQueue('nobody');
    const stackName = `manners-${taskQueue}`;
    const file = join(tmp.path, 'nobody.json');
    await writeFile(
      file,
      JSON.stringify({
        stackName,
        cloud: 'sim',
        controller: { name: 'controller', host: '127.0.0.1', port: 22, user: 'cloud-user', privateKeyFile: '/nonexistent/id_ed25519' },
        snapsetData: { instances: { controller: { uuid: '6f4512de-f744-4979-8ab2-45f5461e304c', role: 'controller', mac_address: 'fa:16:9e:81:f6:05' } } },
      }),
    );
    const watcher = startProc([join(repoRoot, 'bin', 'snapset.js'), '--task-queue', taskQueue, 'create', '-f', file, '--watch'], { env: env() });
    try {
      await watcher.waitFor(new RegExp(`no worker polls task queue ${taskQueue}`), 10_000);
      assert.match(watcher.output, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}warning: no worker polls/m, 'a timestamped line when not on a terminal');
    } finally {
      await watcher.stop();
      await t.env.client.workflow.getHandle(`snapset-${stackName}`).terminate('test over');
    }
  });

  test('a failed run ends watch with exit 1 and the root cause, not "Activity task failed"', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const stackName = `fails-${taskQueue}`;
      const file = join(tmp.path, 'fails.json');
      const input = simInput(sim, { stackName, prepare: { clusterCreatedAt: '2020-01-01T00:00:00Z' } });
      input.controller = { ...input.controller, privateKeyFile: join(tmp.path, 'no-such-key') };
      await writeFile(file, JSON.stringify(input));
      const r = await runSnapset(['--task-queue', taskQueue, 'create', '-f', file, '--watch'], { env: env() });
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /^FAILED: .*no-such-key/m);
      assert.doesNotMatch(r.output, /^FAILED: Activity task failed/m);
      const shown = await runSnapset(['--task-queue', taskQueue, 'show', '--json', stackName], { env: env() });
      const json = JSON.parse(shown.output.slice(shown.output.indexOf('{'))) as { status: string; failure?: { message: string } };
      assert.equal(json.status, 'FAILED');
      assert.match(json.failure?.message ?? '', /no-such-key/);
    });
  });
});
