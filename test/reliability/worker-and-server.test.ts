/**
 * Reliability with real processes (issue #7 point 7): a worker SIGKILLed in the middle of the image
 * fan-out while a second one is alive, and the dev server restarted on its database during the
 * certificate wait and during the fan-out. Outcomes are read from the simulator.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { COMPLETE_TAG } from '../../src/shared/snapset/index.js';
import { progressQuery, type SnapsetProgress } from '../../src/shared/workflow-api.js';
import { SEARCH_ATTRIBUTES } from '../../src/shared/workflow-api.js';
import { startDevServer, type DevServer } from '../../src/dev/dev-server.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import type { createSnapset } from '../../src/workflows/index.js';
import { simInput } from '../helpers/inputs.js';
import { distRoot } from '../helpers/paths.js';
import { toolchain, uniqueTaskQueue, useTempDir } from '../helpers/temporal.js';
import { waitFor } from '../helpers/wait.js';

type SimImage = { id: string; status: string; tags: string[]; hotstack_snap_id?: string };

const LAB: ScenarioInput = {
  stackName: 'hs-rel',
  timeScale: 0.01,
  instances: {
    controller: { uuid: '6f4512de-f744-4979-8ab2-45f5461e3100', role: 'controller', mac_address: 'fa:16:9e:81:f7:00' },
    master0: { uuid: '7a5623ef-0855-4a8a-9bc3-56b6572f4101', role: 'ocp_master', mac_address: 'fa:16:9e:81:f7:01', node: 'master-0' },
    master1: { uuid: '7a5623ef-0855-4a8a-9bc3-56b6572f4102', role: 'ocp_master', mac_address: 'fa:16:9e:81:f7:02', node: 'master-1' },
    master2: { uuid: '7a5623ef-0855-4a8a-9bc3-56b6572f4103', role: 'ocp_master', mac_address: 'fa:16:9e:81:f7:03', node: 'master-2' },
  },
  // Images "save" for 6 s: long enough to kill a worker or restart the server in the middle.
  cloud: { latencies: { uploadMs: 600_000 } },
};

function startWorker(server: DevServer, sim: Simulator, taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(distRoot(), 'test/helpers/worker-process.js')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      SNAPSET_TASK_QUEUE: taskQueue,
      OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath,
      OS_CLOUD: sim.cloud.cloudName,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

/** The dev server restarts in these tests: a failing query is "not yet". */
const until = <T>(fn: () => Promise<T | undefined>, what: string) => waitFor(what, fn, { retryErrors: true, intervalMs: 100 });

function assertOneCompleteImagePerVm(sim: Simulator, snapId: string): void {
  const ours = (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === snapId);
  assert.equal(ours.length, Object.keys(LAB.instances!).length, 'exactly one image per instance');
  assert.ok(ours.every((i) => i.status === 'active' && i.tags.includes(COMPLETE_TAG)));
  assert.equal(sim.cloud.counters()['compute.servers.createImage']!.requests, ours.length, 'no instance was imaged twice');
}

describe('reliability: real worker processes and a restarted dev server', () => {
  const tmp = useTempDir('snapset-rel-');
  let cli: string;
  const children: ChildProcess[] = [];
  before(async () => {
    cli = (await toolchain()).temporalCli;
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  const server = (dbFile: string, port = 0) =>
    startDevServer({ cli, port, dbFile, searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 'Keyword'])) });
  const clientOf = async (s: DevServer) => new Client({ connection: await Connection.connect({ address: s.address }) });

  test('a worker SIGKILLed mid fan-out: the other worker finishes the set, one image per instance', async () => {
    const dev = await server(join(tmp.path, 'kill.sqlite'));
    const sim = await startSimulator(LAB);
    const client = await clientOf(dev);
    try {
      const taskQueue = uniqueTaskQueue('rel');
      const a = await startWorker(dev, sim, taskQueue);
      children.push(a);
      const handle = await client.workflow.start<typeof createSnapset>('createSnapset', {
        taskQueue,
        workflowId: `rel-kill-${taskQueue}`,
        args: [simInput(sim)],
      });
      await until(
        async () =>
          (await handle.query(progressQuery)).phase === 'creating-images' && sim.cloud.counters()['compute.servers.createImage']?.requests === 4
            ? true
            : undefined,
        'every snapshot to start',
      );
      const b = await startWorker(dev, sim, taskQueue);
      children.push(b);
      const killedAt = Date.now();
      a.kill('SIGKILL');
      const result = await handle.result();
      const stallSeconds = (Date.now() - killedAt) / 1000;
      assertOneCompleteImagePerVm(sim, result.snapId);
      console.log(`# worker killed mid fan-out: the run finished ${stallSeconds.toFixed(1)} s after the kill (images needed ~6 s)`);
    } finally {
      await client.connection.close();
      await sim.close();
      await dev.stop();
    }
  });

  test('the dev server restarted on its database during the certificate wait and during the fan-out: the run completes', async () => {
    const db = join(tmp.path, 'restart.sqlite');
    let dev = await server(db);
    const port = Number(dev.address.split(':').pop());
    const sim = await startSimulator(LAB);
    const taskQueue = uniqueTaskQueue('rel');
    const worker = await startWorker(dev, sim, taskQueue);
    children.push(worker);
    let client = await clientOf(dev);
    const workflowId = `rel-restart-${taskQueue}`;
    try {
      // Installed 25 h minus 8 s ago: a real 8 s durable timer.
      const clusterCreatedAt = new Date(Date.now() - 25 * 3600_000 + 8000).toISOString();
      await client.workflow.start<typeof createSnapset>('createSnapset', {
        taskQueue,
        workflowId,
        args: [simInput(sim, { prepare: { clusterCreatedAt, stablePeriod: '1s' } })],
      });
      const phase = async (): Promise<SnapsetProgress> => client.workflow.getHandle(workflowId).query(progressQuery);
      await until(async () => ((await phase()).phase === 'waiting-cert-rotation' && (await phase()).certWait ? true : undefined), 'the certificate wait');

      const restart = async () => {
        await client.connection.close();
        await dev.stop();
        dev = await server(db, port);
        client = await clientOf(dev);
      };
      await restart();
      await until(
        async () => ((await phase()).phase === 'creating-images' && sim.cloud.counters()['compute.servers.createImage']?.requests === 4 ? true : undefined),
        'the fan-out after the timer fired',
      );
      await restart();
      const result = await client.workflow.getHandle<typeof createSnapset>(workflowId).result();
      assert.ok(Date.parse(result.createdAt) >= Date.parse(result.certWait!.wakeAt), 'the timer survived the restart');
      assertOneCompleteImagePerVm(sim, result.snapId);
    } finally {
      await client.connection.close();
      worker.kill('SIGKILL');
      await sim.close();
      await dev.stop();
    }
  });
});
