/**
 * The worker's start-up as an operator meets it (`npm run worker`): exit 3 naming the address when
 * Temporal is not there, a warning naming the files searched when clouds.yaml is missing, Prometheus
 * metrics on request, a clean stop on SIGINT.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../src/dev/toolchain.js';
import { repoRoot } from './helpers/paths.js';
import { startProc } from './helpers/processes.js';
import { uniqueTaskQueue, useTempDir, useTemporal } from './helpers/temporal.js';

const workerJs = join(repoRoot, 'dist', 'src', 'worker.js');

describe('worker start-up', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-worker-');

  test('no Temporal: exit 3 with the address and the settings to fix it', async () => {
    const port = await freePort();
    const p = startProc([workerJs], { env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` } });
    assert.equal(await p.exited, 3, p.output);
    assert.match(p.output, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\).*TEMPORAL_ADDRESS`));
    assert.doesNotMatch(p.output, /tonic::transport/);
  });

  test('bad arguments: exit 2 with the usage', async () => {
    const p = startProc([workerJs, '--metrics', 'nonsense']);
    assert.equal(await p.exited, 2);
    assert.match(p.output, /--metrics \/ SNAPSET_METRICS: expected host:port/);
  });

  test('missing clouds.yaml and key are warned about; metrics answer; SIGINT stops it cleanly', async () => {
    const metricsPort = await freePort();
    const p = startProc([workerJs, '--metrics', `127.0.0.1:${metricsPort}`, '--ssh-key', join(tmp.path, 'no-key')], {
      cwd: tmp.path,
      env: {
        TEMPORAL_ADDRESS: t.env.address,
        SNAPSET_TASK_QUEUE: uniqueTaskQueue('startup'),
        OS_CLIENT_CONFIG_FILE: join(tmp.path, 'missing-clouds.yaml'),
        HOME: tmp.path,
        XDG_CONFIG_HOME: '',
        XDG_CONFIG_DIRS: '',
      },
    });
    try {
      await p.waitFor(/hotstack-snapset worker: .*metrics http:\/\/127\.0\.0\.1:\d+\/metrics/, 180_000);
      assert.match(p.output, new RegExp(`warning: .*searched ${join(tmp.path, 'missing-clouds.yaml').replace(/[.]/g, '\\.')}`));
      assert.match(p.output, /OS_CLIENT_CONFIG_FILE and OS_CLOUD/);
      assert.match(p.output, new RegExp(`warning: controller key ${join(tmp.path, 'no-key')} is not readable \\(ENOENT\\)`));
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.match(body, /^# (HELP|TYPE) temporal_/m, 'SDK metrics in Prometheus format');
      assert.match(body, /temporal_worker_start/);
    } finally {
      p.child.kill('SIGINT');
    }
    assert.equal(await p.exited, 0, p.output);
    assert.match(p.output, /SIGINT: stopping[\s\S]*snapset worker: stopped/);
  });
});
