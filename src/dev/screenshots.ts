/**
 * `npm run screenshots`: PNGs of the Temporal Web UI into docs/img/, made the way the browser test
 * reads the pages (src/dev/web-ui-tour.ts): an in-memory dev server with its Web UI, the simulator's
 * three labs, a worker, a run waiting for the certificate rotation, a failed one and a completed one.
 * Each picture is taken once the page shows what test/web-ui.test.ts asserts on it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { controllerConnector } from '../cluster/index.js';
import { CloudsYamlClientProvider } from '../openstack/index.js';
import { startSimulator } from '../sim/index.js';
import { createWorker } from '../worker.js';
import { projectRoot } from './config.js';
import { startDevServer } from './dev-server.js';
import { ensureToolchain, freePort } from './toolchain.js';
import {
  currentDetails,
  eventsWithMetadata,
  LOCAL_STEP_STATE,
  launchChromium,
  openRunTab,
  resultPanel,
  searchAttributes,
  startTourRuns,
  tourScenario,
  waitForStatus,
} from './web-ui-tour.js';
import { SEARCH_ATTRIBUTES } from '../shared/workflow-api.js';

const say = (s: string) => console.error(`[screenshots] ${s}`);

async function main(): Promise<void> {
  const toolchain = await ensureToolchain(say);
  if (!toolchain.chromium) throw new Error("no Chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH");
  const outDir = join(projectRoot(), 'docs', 'img');
  await mkdir(outDir, { recursive: true });

  const server = await startDevServer({
    cli: toolchain.temporalCli,
    port: 0,
    uiPort: await freePort(),
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 'Keyword'])),
  });
  const { stacks, ...scenario } = tourScenario('demo');
  const sim = await startSimulator(scenario);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const taskQueue = 'hotstack-snapset';
  const worker = await createWorker({
    connection: nativeConnection,
    taskQueue,
    deps: {
      openstack: new CloudsYamlClientProvider({ lookup: { env: { OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName } } }),
      ssh: controllerConnector(),
      clusterPollIntervalMs: 200,
    },
  });
  const running = worker.run();
  const browser = await launchChromium(toolchain.chromium);
  try {
    say(`dev server ${server.address}, Web UI ${server.uiUrl}; starting the three runs`);
    const runs = await startTourRuns(new Client({ connection }), sim, taskQueue, stacks);
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    const ui = server.uiUrl!;
    const shot = async (name: string) => {
      // Let fonts and the timeline settle after the awaited content is there.
      await page.evaluate('document.fonts.ready');
      await page.screenshot({ path: join(outDir, name) });
      say(`docs/img/${name}`);
    };

    await openRunTab(page, ui, 'default', runs.waiting, 'user-metadata');
    await currentDetails(page, runs.waiting.wakeAt);
    await eventsWithMetadata(page, 'preflight: controller controller and oc', LOCAL_STEP_STATE);
    await shot('web-ui-cert-wait.png');

    await openRunTab(page, ui, 'default', runs.failed, 'history');
    await waitForStatus(page, 'Failed');
    await resultPanel(page, runs.failed.failure.message);
    await shot('web-ui-failed.png');

    // Taller, so that every step down to the failed capture and the cleanup is in the picture.
    await page.setViewportSize({ width: 1280, height: 1200 });
    await openRunTab(page, ui, 'default', runs.failed, 'user-metadata');
    await currentDetails(page, 'failed');
    await eventsWithMetadata(page, `delete every image of set ${runs.failed.snapId}`, 'Completed');
    await shot('web-ui-failed-steps.png');
    await page.setViewportSize({ width: 1280, height: 820 });

    await openRunTab(page, ui, 'default', runs.failed, 'search-attributes');
    await searchAttributes(page, '"failed"');
    await shot('web-ui-search-attributes.png');

    await openRunTab(page, ui, 'default', runs.completed, 'history');
    await waitForStatus(page, 'Completed');
    await resultPanel(page, `"snapId": "${runs.completed.result.snapId}"`);
    await shot('web-ui-completed.png');

    await new Client({ connection }).workflow.getHandle(runs.waiting.workflowId).terminate('screenshots taken');
  } finally {
    await browser.close();
    worker.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
    await sim.close();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[screenshots] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
