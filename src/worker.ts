/**
 * The worker: the only composition root (STYLE). Connects with Temporal's own envconfig
 * (temporal.toml profiles, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables),
 * so the same worker runs against the dev server, a self-hosted cluster or Temporal Cloud.
 *
 *   npm run worker            # or: node dist/src/worker.js
 *   SNAPSET_TASK_QUEUE=...    # default hotstack-snapset
 *   OS_CLOUD=...              # default cloud of clouds.yaml
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { SshConnector } from './cluster/index.js';
import { workflowsPath } from './dev/bundle.js';
import { CloudsYamlClientProvider } from './openstack/index.js';
import { TASK_QUEUE } from './shared/workflow-api.js';

export interface SnapsetWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  /** @default $SNAPSET_TASK_QUEUE or hotstack-snapset */
  taskQueue?: string;
  /** @default real clouds.yaml clients and SSH */
  deps?: ActivityDeps;
  /** A pre-built workflow bundle (tests, demo); default: bundle src/workflows now. */
  workflowBundlePath?: string;
  extra?: Partial<WorkerOptions>;
}

/** The dependencies of a real deployment: clouds.yaml (+ secure.yaml) clients and SSH to controllers. */
export function defaultDeps(): ActivityDeps {
  return {
    openstack: new CloudsYamlClientProvider({ timeoutMs: 30_000 }),
    ssh: new SshConnector(),
  };
}

export async function createWorker(opts: SnapsetWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? process.env.SNAPSET_TASK_QUEUE ?? TASK_QUEUE,
    ...(opts.workflowBundlePath ? { workflowBundle: { codePath: opts.workflowBundlePath } } : { workflowsPath }),
    activities: createActivities(opts.deps ?? defaultDeps()),
    ...opts.extra,
  });
}

async function main(): Promise<void> {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  const worker = await createWorker({ connection, ...(namespace ? { namespace } : {}) });
  console.error(
    `hotstack-snapset worker: ${connectionOptions.address ?? 'localhost:7233'}, namespace ${namespace ?? 'default'}, task queue ${worker.options.taskQueue}. Ctrl-C stops it.`,
  );
  await worker.run();
  await connection.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
