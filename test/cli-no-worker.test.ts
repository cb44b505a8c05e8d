/**
 * The CLI never stays silent when nothing will happen (issue 17 point 1): with the worker stopped —
 * its poller still listed by the server, as Temporal keeps a stopped worker's pollers for minutes —
 * `create --watch` off a terminal prints a line at once and warns within 15 s, naming what to start;
 * `create` without `--watch` warns too (and exits 0: the run is started); the watch follows the run on
 * once a worker polls again.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { sampleInput } from './helpers/inputs.js';
import { repoRoot } from './helpers/paths.js';
import { runSnapset, startProc, type Proc } from './helpers/processes.js';
import { uniqueTaskQueue, useTempDir, useTemporal } from './helpers/temporal.js';
import { waitFor } from './helpers/wait.js';

async function listedPollers(client: Client, taskQueue: string): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue, kind: 1 }, taskQueueType: 1 });
  return r.pollers?.length ?? 0;
}

describe('snapset with a stopped worker', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-no-worker-');

  const startWorker = (taskQueue: string): Proc =>
    startProc([join(repoRoot, 'dist', 'test', 'helpers', 'worker-process.js')], { env: { TEMPORAL_ADDRESS: t.env.address, SNAPSET_TASK_QUEUE: taskQueue } });

  test('create --watch warns within 15 s while the stopped worker’s poller is still listed, and follows the run once a worker is back', async () => {
    const taskQueue = uniqueTaskQueue('stopped');
    const worker = startWorker(taskQueue);
    await worker.waitFor(/^ready$/m, 180_000);
    await waitFor('the worker’s poller to be listed', async () => (await listedPollers(t.env.client, taskQueue)) > 0, { intervalMs: 200 });
    assert.equal(await worker.stop('SIGTERM'), 0, worker.output);
    assert.ok((await listedPollers(t.env.client, taskQueue)) > 0, 'the server still lists the stopped worker’s poller');

    const stackName = `stopped-${taskQueue}`;
    const file = join(tmp.path, `${stackName}.json`);
    await writeFile(file, JSON.stringify(sampleInput({ stackName })));
    const started = Date.now();
    const watcher = startProc([join(repoRoot, 'bin', 'snapset.js'), '--task-queue', taskQueue, 'create', '-f', file, '--watch'], {
      env: { TEMPORAL_ADDRESS: t.env.address },
    });
    let again: Proc | undefined;
    try {
      await watcher.waitFor(/watching snapset-\S+ \(RUNNING/, 15_000);
      const [warning] = await watcher.waitFor(/warning: no worker takes this run's tasks: .*/, 15_000 - (Date.now() - started));
      const latency = Date.now() - started;
      assert.ok(latency < 15_000, `warned after ${latency} ms`);
      assert.match(warning, /its workflow task has waited \d+s on task queue/);
      assert.match(warning, /npm run worker, with TEMPORAL_ADDRESS, OS_CLIENT_CONFIG_FILE and OS_CLOUD set/);
      assert.match(warning, new RegExp(`SNAPSET_TASK_QUEUE=${taskQueue}`));
      assert.match(watcher.output, /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}warning: /m, 'a timestamped line off a terminal');
      console.log(`no-worker warning after ${latency} ms (stopped worker still listed)`);

      // Back with a worker, the watch follows the run on: it says so on its next tick, or — when the run
      // (failing its preflight: this input names no cloud) ends before that tick — prints its phases.
      again = startWorker(taskQueue);
      await watcher.waitFor(/a worker takes the run's tasks on task queue \S+ now|Z {2}validating: done/, 180_000);
      // This input names no cloud the worker has: the run fails its preflight, and the watch says it once.
      assert.equal(await watcher.exited, 1, watcher.output);
      assert.match(watcher.output, /Z {2}failed: preflight failed, nothing was changed: /);
      assert.doesNotMatch(watcher.output, /failed: failed:/, 'the phase is not said twice');
      assert.match(watcher.output, /^FAILED: preflight failed/m);
    } finally {
      await watcher.stop();
      await again?.stop('SIGTERM');
      await t.env.client.workflow
        .getHandle(`snapset-${stackName}`)
        .terminate('test over')
        .catch(() => undefined);
    }
  });

  test('create without --watch warns on stderr when no worker takes the run, and exits 0 (the run is started)', async () => {
    const taskQueue = uniqueTaskQueue('nobody');
    const stackName = `unwatched-${taskQueue}`;
    const file = join(tmp.path, `${stackName}.json`);
    await writeFile(file, JSON.stringify(sampleInput({ stackName })));
    try {
      const r = await runSnapset(['--task-queue', taskQueue, 'create', '-f', file], { env: { TEMPORAL_ADDRESS: t.env.address } });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, new RegExp(`started snapset-${stackName}`));
      assert.match(
        r.output,
        new RegExp(`warning: no worker polls task queue ${taskQueue}: start one: npm run worker.*; snapset-${stackName} runs once one does`),
      );
    } finally {
      await t.env.client.workflow
        .getHandle(`snapset-${stackName}`)
        .terminate('test over')
        .catch(() => undefined);
    }
  });
});
