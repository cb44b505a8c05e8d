/**
 * A worker in a process of its own, for the reliability tests (a SIGKILL must kill a whole worker,
 * not a test). The product's own `createWorker` with the real clouds.yaml client and SSH, pointed at
 * a simulator by environment: TEMPORAL_ADDRESS, SNAPSET_TASK_QUEUE, OS_CLIENT_CONFIG_FILE, OS_CLOUD,
 * SNAPSET_TEST_WORKFLOW_BUNDLE. Prints `ready` once it polls.
 */
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { controllerConnector } from '../../src/cluster/index.js';
import { CloudsYamlClientProvider } from '../../src/openstack/index.js';
import { createWorker } from '../../src/worker.js';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const ssh = controllerConnector();
const worker = await createWorker({
  connection,
  taskQueue: process.env.SNAPSET_TASK_QUEUE!,
  deps: {
    openstack: new CloudsYamlClientProvider({ timeoutMs: 10_000 }),
    ssh,
    clusterPollIntervalMs: 200,
  },
  ...(process.env.SNAPSET_TEST_WORKFLOW_BUNDLE ? { workflowBundlePath: process.env.SNAPSET_TEST_WORKFLOW_BUNDLE } : {}),
});
const running = worker.run();
console.log('ready');
await running;
ssh.close();
