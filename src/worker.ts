/**
 * The worker: the only composition root (STYLE). Connects with Temporal's own envconfig
 * (temporal.toml profiles, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS variables),
 * so the same worker runs against the dev server, a self-hosted cluster or Temporal Cloud.
 *
 *   npm run worker            # or: node dist/src/worker.js
 *   SNAPSET_TASK_QUEUE=...    # default hotstack-snapset
 *   OS_CLOUD=...              # default cloud of clouds.yaml
 *   --metrics host:port       # Prometheus endpoint (or SNAPSET_METRICS)
 */
import { access, constants } from 'node:fs/promises';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { controllerConnector } from './cluster/index.js';
import { keepPreloads, workflowInterceptorModules, workflowPreloadModules, workflowsPath } from './dev/bundle.js';
import { CONNECT_TIMEOUT_MS, probeTcp, resolvedAddress, rootMessage, TemporalUnreachableError } from './client.js';
import {
  CloudsYamlClientProvider,
  configFileCandidates,
  createOpenStackClient,
  loadCloudConfig,
  OpenStackNetworkError,
  OpenStackTimeoutError,
} from './openstack/index.js';
import { ConfigError } from './shared/errors.js';
import { SNAPSET_HISTOGRAM_BUCKETS } from './shared/metrics.js';
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
    ssh: controllerConnector(),
  };
}

/**
 * Worker slots from the environment, for many concurrent runs on one worker (bench/results.md):
 * SNAPSET_MAX_ACTIVITIES (concurrent activities, SDK default 100 — each run has at most one or two
 * running: its steps are set-level), SNAPSET_MAX_WORKFLOW_TASKS (SDK default 40),
 * SNAPSET_MAX_CACHED_WORKFLOWS (sticky cache, default {@link DEFAULT_MAX_CACHED_WORKFLOWS}).
 */
export function workerTuning(env: NodeJS.ProcessEnv = process.env): Partial<WorkerOptions> {
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}: expected a whole number of at least 1, got ${JSON.stringify(v)}`);
    return n;
  };
  const activities = int('SNAPSET_MAX_ACTIVITIES');
  const workflowTasks = int('SNAPSET_MAX_WORKFLOW_TASKS');
  const cached = int('SNAPSET_MAX_CACHED_WORKFLOWS');
  return {
    ...(activities ? { maxConcurrentActivityTaskExecutions: activities } : {}),
    ...(workflowTasks ? { maxConcurrentWorkflowTaskExecutions: workflowTasks } : {}),
    maxCachedWorkflows: cached ?? DEFAULT_MAX_CACHED_WORKFLOWS,
  };
}

/**
 * Sticky-cache size unless SNAPSET_MAX_CACHED_WORKFLOWS says otherwise: 1000 open runs (a run is one
 * workflow; its stack lock never reaches a worker, src/stack-lock.ts). Set here because the SDK derives its default from the heap limit
 * (~600 workflows per GB), which {@link WORKER_NODE_FLAGS} lowers to 512 MB: that would be 182, and
 * 200 busy runs would replay their histories all the time. A cached workflow costs ~0.25 MB of
 * workflow-thread heap (bench/results.md), so 1000 fit the 512 MB heap; a run evicted while it waits
 * for its certificates costs one replay when its timer fires.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 1000;

/**
 * How the worker process is started (`npm run worker` in package.json, the bench): V8 lets a heap
 * grow towards its limit before collecting, and Node's default limit here is ~4 GB per isolate, so
 * at 200 open runs the main thread carried ~150 MB of garbage (54 MB live in a heap snapshot taken
 * at 172 MB used); a 512 MB old space makes V8 collect sooner, and an 8 MB semi-space bounds the
 * young generation of both isolates (the main thread's and the workflow thread's). glibc gives each thread of the SDK's
 * native core its own malloc arena: two arenas keep the native part smaller. Measured in
 * bench/results.md (RSS and the CPU it costs); docs/operations.md "Memory of one worker".
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=512', '--max-semi-space-size=8'] as const;
export const WORKER_ENV = { MALLOC_ARENA_MAX: '2' } as const;

export async function createWorker(opts: SnapsetWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: opts.taskQueue ?? process.env.SNAPSET_TASK_QUEUE ?? TASK_QUEUE,
    // A pre-built bundle carries the interceptor modules already (src/dev/bundle.ts).
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : {
          workflowsPath,
          interceptors: { workflowModules: workflowInterceptorModules },
          bundlerOptions: { preloadModules: workflowPreloadModules, webpackConfigHook: keepPreloads },
        }),
    activities: createActivities(opts.deps ?? defaultDeps()),
    ...workerTuning(),
    ...opts.extra,
  });
}

/** A worker's start-up settings, from flags and the environment (flags win). */
export interface WorkerCliOptions {
  /** Prometheus endpoint `host:port` (SDK telemetry). @default $SNAPSET_METRICS */
  metrics?: string;
  /** Key files the inputs name (`privateKeyFile`), checked readable at start-up. @default $SNAPSET_SSH_KEYS (colon-separated) */
  sshKeys: string[];
}

export function parseWorkerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerCliOptions {
  const opts: WorkerCliOptions = {
    ...(env.SNAPSET_METRICS ? { metrics: env.SNAPSET_METRICS } : {}),
    sshKeys: (env.SNAPSET_SSH_KEYS ?? '').split(':').filter(Boolean),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (!v) throw new ConfigError(`${arg}: expected a value`);
      return v;
    };
    if (arg === '--metrics') opts.metrics = value();
    else if (arg === '--ssh-key') opts.sshKeys.push(value());
    else if (arg === '--help' || arg === '-h') throw new WorkerUsage();
    else throw new ConfigError(`unknown argument ${arg} (known: --metrics host:port, --ssh-key FILE)`);
  }
  if (opts.metrics && !/^[^\s:]+:\d{1,5}$/.test(opts.metrics))
    throw new ConfigError(`--metrics / SNAPSET_METRICS: expected host:port, got ${JSON.stringify(opts.metrics)}`);
  return opts;
}

class WorkerUsage extends Error {}

const USAGE = `usage: npm run worker -- [--metrics host:port] [--ssh-key FILE]...
  Temporal:  temporal.toml profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE), TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*
  OpenStack: OS_CLIENT_CONFIG_FILE, OS_CLOUD (clouds.yaml + secure.yaml as the openstack CLI reads them)
  SNAPSET_TASK_QUEUE (default ${TASK_QUEUE}), SNAPSET_METRICS=host:port, SNAPSET_SSH_KEYS=file[:file]`;

/**
 * What would make the first run fail late, told now: clouds.yaml found (the files searched named
 * otherwise) and the cloud authenticates; the controller keys readable. Warnings, not refusals:
 * an input may name another cloud or key, and clouds.yaml is re-read per run.
 */
export async function startupWarnings(opts: WorkerCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const cloud = await loadCloudConfig(env.OS_CLOUD || undefined, { env });
    const client = createOpenStackClient(cloud, { timeoutMs: 5000 });
    try {
      await client.session.getToken(AbortSignal.timeout(8000));
    } catch (err) {
      const unreachable = err instanceof OpenStackNetworkError || err instanceof OpenStackTimeoutError;
      warnings.push(
        `cloud ${cloud.name} of ${cloud.file} ${unreachable ? 'does not answer' : 'does not authenticate'} at ${cloud.auth.auth_url} (${rootMessage(err)}); runs will fail at their first OpenStack call. ` +
          (unreachable
            ? 'Check that the cloud is up at that address (the simulator: is npm run sim running, on the port that file names?) and that OS_CLIENT_CONFIG_FILE / OS_CLOUD name the right file and cloud'
            : `Check the credentials of ${cloud.name} in that file (and secure.yaml)`),
      );
    } finally {
      client.close();
    }
  } catch (err) {
    const searched = configFileCandidates('clouds', { env }).filter((f) => f.endsWith('.yaml'));
    warnings.push(`${rootMessage(err)} (searched ${searched.join(', ')}); set OS_CLIENT_CONFIG_FILE and OS_CLOUD (npm run sim prints them)`);
  }
  for (const key of opts.sshKeys) {
    try {
      await access(key, constants.R_OK);
    } catch (err) {
      warnings.push(`controller key ${key} is not readable (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (opts.sshKeys.length === 0 && !env.SSH_AUTH_SOCK)
    warnings.push('no controller key checked (SNAPSET_SSH_KEYS / --ssh-key) and no ssh-agent (SSH_AUTH_SOCK): each input must name a readable privateKeyFile');
  return warnings;
}

async function main(): Promise<number> {
  let opts: WorkerCliOptions;
  try {
    opts = parseWorkerArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof WorkerUsage ? USAGE : `snapset worker: ${(err as Error).message}\n${USAGE}`);
    return err instanceof WorkerUsage ? 0 : 2;
  }
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    ...(opts.metrics
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metrics, histogramBucketOverrides: SNAPSET_HISTOGRAM_BUCKETS } } } }
      : {}),
  });
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const address = resolvedAddress(connectionOptions.address);
  let connection: NativeConnection;
  try {
    await probeTcp(address);
    connection = await NativeConnection.connect({ ...connectionOptions, connectTimeout: CONNECT_TIMEOUT_MS } as Parameters<typeof NativeConnection.connect>[0]);
  } catch (err) {
    console.error(`snapset worker: ${new TemporalUnreachableError(address, err).message}`);
    return 3;
  }
  for (const w of await startupWarnings(opts)) console.error(`snapset worker: warning: ${w}`);
  const deps = defaultDeps();
  const worker = await createWorker({ connection, ...(namespace ? { namespace } : {}), deps, extra: { shutdownGraceTime: '30s' } });
  console.error(
    `hotstack-snapset worker: ${address}, namespace ${namespace ?? 'default'}, task queue ${worker.options.taskQueue}` +
      `${opts.metrics ? `, metrics http://${opts.metrics}/metrics` : ''}. Ctrl-C stops it (in-flight activities get 30 s).`,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // The SDK's Runtime shuts the worker down on these signals; say so, so a wait is not mistaken for a hang.
    process.once(signal, () => console.error(`snapset worker: ${signal}: stopping (finishing in-flight tasks)`));
  }
  await worker.run();
  deps.ssh.close?.();
  await connection.close();
  console.error('snapset worker: stopped');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`snapset worker: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
