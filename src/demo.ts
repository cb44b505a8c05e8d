/**
 * `npm start`: the embedded demo. Temporal dev server (Web UI on :8233, persistent database),
 * the OpenStack + controller simulator, a worker, one SnapSet run with live progress, the result.
 * Everything comes from temporal-dev.yml. Stays up afterwards so the Web UI can be explored
 * (Ctrl-C stops everything); with --once (or CI=true) it exits when the run is done.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { startSnapset, SnapsetAlreadyRunningError } from './client.js';
import { writeWorkflowBundle } from './dev/bundle.js';
import { loadDevConfig, projectRoot } from './dev/config.js';
import { startConfiguredDevServer, type DevServer } from './dev/dev-server.js';
import { ensureToolchain, waitForPort } from './dev/toolchain.js';
import { SshConnector } from './cluster/index.js';
import { CloudsYamlClientProvider } from './openstack/index.js';
import { describeSimulator, startSimulator } from './sim/index.js';
import { DEFAULT_SCENARIO } from './sim/scenario.js';
import { progressQuery, snapsetWorkflowId } from './shared/workflow-api.js';
import { createWorker } from './worker.js';

const say = (s: string) => console.log(`[demo] ${s}`);

async function main(): Promise<void> {
  const once = process.argv.includes('--once') || process.env.CI === 'true';
  const cfg = await loadDevConfig();
  await ensureToolchain((l) => say(l));

  let server: DevServer | undefined;
  const address = `${cfg.devServer.ip}:${cfg.devServer.port}`;
  const inUse = await waitForPort(cfg.devServer.port, 300, cfg.devServer.ip).then(() => true, () => false);
  if (inUse) {
    say(`a Temporal server already listens on ${address}; using it`);
  } else {
    server = await startConfiguredDevServer(cfg);
    say(`Temporal dev server on ${server.address}, Web UI ${server.uiUrl} (database ${cfg.devServer.dbFile})`);
  }

  const sim = await startSimulator(cfg.simulator ?? DEFAULT_SCENARIO, { stateDir: join(projectRoot(), '.sim') });
  for (const line of describeSimulator(sim)) say(line);

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const nativeConnection = await NativeConnection.connect({ address });
  const bundle = await writeWorkflowBundle(join(projectRoot(), 'dist', 'workflow-bundle.js'));
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: cfg.namespace,
    taskQueue: cfg.taskQueue,
    workflowBundlePath: bundle,
    deps: {
      openstack: new CloudsYamlClientProvider({ lookup: { env: { ...process.env, OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName } } }),
      ssh: new SshConnector(),
      clusterPollIntervalMs: 1000,
    },
  });
  const running = worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: cfg.namespace });
  const input = sim.snapsetInput();
  let workflowId = snapsetWorkflowId(input.stackName);
  try {
    const { handle } = await startSnapset(client, input, { taskQueue: cfg.taskQueue });
    workflowId = handle.workflowId;
    say(`started ${workflowId}; follow it in the Web UI: http://${cfg.devServer.ip}:${cfg.devServer.uiPort}/namespaces/${cfg.namespace}/workflows/${workflowId}`);
  } catch (err) {
    if (!(err instanceof SnapsetAlreadyRunningError)) throw err;
    say(`${workflowId} is already running (an earlier demo); following it`);
  }
  const handle = client.workflow.getHandle(workflowId);
  let last = '';
  const poll = setInterval(() => {
    handle
      .query(progressQuery)
      .then((p) => {
        const line = `${p.phase}: ${p.details}`;
        if (line !== last) say(line);
        last = line;
      })
      .catch(() => undefined);
  }, 500);
  try {
    const result: unknown = await handle.result();
    say('result:');
    console.log(JSON.stringify(result, null, 2));
  } finally {
    clearInterval(poll);
  }

  const stop = async () => {
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    await sim.close();
    await server?.stop();
  };
  if (once) {
    await stop();
    return;
  }
  say(`done. Web UI: http://${cfg.devServer.ip}:${cfg.devServer.uiPort} — everything stays up until Ctrl-C.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
