/**
 * `npm start`: the embedded demo. Temporal dev server (Web UI on :8233, persistent database) — or
 * the one already listening there, with the missing search attributes registered — the OpenStack +
 * controller simulator with a lab of a controller, 3 masters and 2 workers installed just under
 * 25 h ago (the durable certificate-rotation timer is visible for a few seconds, then fires), a
 * worker, one SnapSet run with live progress, the result and the images it made. Everything comes
 * from temporal-dev.yml (SNAPSET_DEV_CONFIG names another file, e.g. to move the ports). Stays up
 * afterwards so the Web UI can be explored (Ctrl-C stops everything); with --once (or CI=true) it
 * exits when the run is done.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { startSnapset, SnapsetAlreadyRunningError } from './client.js';
import { watchRun } from './cli/watch.js';
import { table } from './cli/format.js';
import { writeWorkflowBundle } from './dev/bundle.js';
import { loadDevConfig, projectRoot } from './dev/config.js';
import { ensureSearchAttributes, startConfiguredDevServer, type DevServer } from './dev/dev-server.js';
import { ensureToolchain, waitForPort } from './dev/toolchain.js';
import { controllerConnector } from './cluster/index.js';
import { readSnapsets } from './openstack/snapset-store.js';
import { COMPLETE_TAG, latestYaml, selectLatest, SNAPSET_TAG, tag, tagValue } from './shared/snapset/index.js';
import { CloudsYamlClientProvider } from './openstack/index.js';
import { describeSimulator, startSimulator } from './sim/index.js';
import type { ScenarioInput } from './sim/scenario.js';
import { snapsetWorkflowId } from './shared/workflow-api.js';
import { createWorker } from './worker.js';

const say = (s: string) => console.log(`[demo] ${s}`);

/** How long the certificate-rotation timer has left when the run starts: long enough to see it in the Web UI. */
const CERT_WAIT_LEFT_MS = 12_000;
const CERT_ROTATION_MS = 25 * 3_600_000;

/** A compact OpenShift lab: controller, 3 masters, 2 workers, installed `installedAt`. */
export function demoScenario(installedAt: Date, timeScale: number): ScenarioInput {
  const vm = (n: number, role: string, node?: string) => ({
    uuid: `6f4512de-f744-4979-8ab2-45f5461e30${String(n).padStart(2, '0')}`,
    role,
    mac_address: `fa:16:3e:00:00:${String(n).padStart(2, '0')}`,
    ...(node ? { node } : {}),
  });
  return {
    stackName: 'hs-demo',
    timeScale,
    instances: {
      controller: vm(0, 'controller'),
      master0: vm(10, 'ocp_master', 'master-0'),
      master1: vm(11, 'ocp_master', 'master-1'),
      master2: vm(12, 'ocp_master', 'master-2'),
      worker0: vm(20, 'ocp_worker', 'worker-0'),
      worker1: vm(21, 'ocp_worker', 'worker-1'),
    },
    controller: { clusterCreatedAt: installedAt.toISOString() },
  };
}

async function main(): Promise<number> {
  const once = process.argv.includes('--once') || process.env.CI === 'true';
  const cfg = await loadDevConfig();
  await ensureToolchain((l) => say(l));

  let server: DevServer | undefined;
  const address = `${cfg.devServer.ip}:${cfg.devServer.port}`;
  const inUse = await waitForPort(cfg.devServer.port, 300, cfg.devServer.ip).then(
    () => true,
    () => false,
  );
  if (inUse) {
    say(`a Temporal server already listens on ${address}; using it (to use other ports: SNAPSET_DEV_CONFIG=my-dev.yml npm start, see README)`);
    const added = await ensureSearchAttributes(address, cfg.namespace, cfg.searchAttributes);
    if (added.length > 0) say(`registered the search attributes it lacked: ${added.join(', ')}`);
  } else {
    server = await startConfiguredDevServer(cfg);
    say(`Temporal dev server on ${server.address}, Web UI ${server.uiUrl} (database ${cfg.devServer.dbFile})`);
  }

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const nativeConnection = await NativeConnection.connect({ address });
  // Its own bundle file: `npm test` workers load dist/workflow-bundle.js.
  const bundle = await writeWorkflowBundle(join(projectRoot(), 'dist', 'demo-workflow-bundle.js'));

  // The lab is "installed" now minus 25 h plus a few seconds, right before the run starts.
  const timeScale = cfg.simulator?.timeScale ?? 0.05;
  const installedAt = new Date(Date.now() - CERT_ROTATION_MS + CERT_WAIT_LEFT_MS);
  const sim = await startSimulator(demoScenario(installedAt, timeScale), { stateDir: join(projectRoot(), '.sim', 'demo') });
  for (const line of describeSimulator(sim)) say(line);
  say(
    `lab: ${Object.keys(sim.scenario.instances).join(', ')}; cluster installed ${installedAt.toISOString()} (25 h are over in ${CERT_WAIT_LEFT_MS / 1000} s)`,
  );

  const worker = await createWorker({
    connection: nativeConnection,
    namespace: cfg.namespace,
    taskQueue: cfg.taskQueue,
    workflowBundlePath: bundle,
    deps: {
      openstack: new CloudsYamlClientProvider({
        lookup: { env: { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName } },
      }),
      ssh: controllerConnector(),
      clusterPollIntervalMs: 500,
    },
  });
  const running = worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: cfg.namespace });
  const input = {
    ...sim.snapsetInput(),
    prepare: { enabled: true, stablePeriod: '60s' },
    capture: { shutoffPollInterval: '500ms', imagePollInterval: '500ms' },
  };
  let workflowId = snapsetWorkflowId(input.stackName);
  const uiBase = `http://${cfg.devServer.ip}:${cfg.devServer.uiPort}`;
  try {
    const { handle } = await startSnapset(client, input, { taskQueue: cfg.taskQueue });
    workflowId = handle.workflowId;
  } catch (err) {
    if (!(err instanceof SnapsetAlreadyRunningError)) throw err;
    say(`${workflowId} is already running (an earlier demo); following it`);
  }
  say(`started ${workflowId}. Web UI (the timer "certificate rotation" fires in a few seconds): ${uiBase}/namespaces/${cfg.namespace}/workflows/${workflowId}`);
  const code = await watchRun(client, workflowId, { out: console.log, err: console.error, isTTY: !!process.stdout.isTTY, columns: process.stdout.columns });

  if (code === 0) {
    const result = (await client.workflow.getHandle(workflowId).result()) as { snapId: string };
    const os = await new CloudsYamlClientProvider({
      lookup: { env: { OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName } },
    }).client();
    // What `snapset latest hs-demo --format yaml` prints: the newest complete set as hotstack stack parameters.
    const latest = selectLatest(await readSnapsets(os), { stackName: 'hs-demo', now: Date.now() });
    if (latest.found) {
      say(`snapset latest hs-demo --format yaml → set ${latest.latest.snapId}, ready for hotstack's -e @file:`);
      for (const line of latestYaml(latest.latest).trimEnd().split('\n')) say(`  ${line}`);
    } else {
      say(`snapset latest hs-demo → ${latest.message}`);
    }
    const setTags = [SNAPSET_TAG, tag('snap_id', result.snapId)];
    say(`the images of set ${result.snapId}, as \`openstack image list ${setTags.map((t) => `--tag ${t}`).join(' ')} --long\` lists them:`);
    const images = await os.image.listAllImages({ tags: setTags });
    const rows = images.map((i) => [i.name ?? '', i.status, (i.tags ?? []).filter((t) => tagValue([t], 'role') !== null || t === COMPLETE_TAG).join(' ')]);
    for (const line of table([['name', 'status', 'tags (role, completion marker)'], ...rows])) say(`  ${line}`);
    os.close();
    say(
      `against the simulator yourself: OS_CLIENT_CONFIG_FILE=${sim.cloud.cloudsYamlPath} openstack --os-cloud ${sim.cloud.cloudName} image list --tag ${SNAPSET_TAG}`,
    );
  }

  const stop = async () => {
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    await sim.close();
    await server?.stop();
  };
  if (!once) {
    say(`done. Web UI: ${uiBase}/namespaces/${cfg.namespace}/workflows/${workflowId} — everything stays up until Ctrl-C.`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  await stop();
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
