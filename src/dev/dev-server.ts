/**
 * Starts the Temporal dev server (from the Temporal CLI the toolchain installed) with the
 * project's search attributes registered. Used by `npm run dev:server`, `npm start` and the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { loadDevConfig, type DevConfig } from './config.js';
import { freePort, loadToolchain, waitForPort } from './toolchain.js';

export interface DevServerOptions {
  /** The `temporal` binary. */
  cli: string;
  ip?: string;
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; false for headless. */
  uiPort?: number | false;
  /** Persistent SQLite file; absent for in-memory. */
  dbFile?: string;
  namespace?: string;
  searchAttributes?: Record<string, string>;
  logLevel?: string;
  /** Forward the server's output to this process's stderr. */
  inheritOutput?: boolean;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port || (await freePort());
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--log-level', opts.logLevel ?? 'warn'];
  if (opts.uiPort === false || opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  if (opts.dbFile) {
    await mkdir(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [key, type] of Object.entries(opts.searchAttributes ?? {})) args.push('--search-attribute', `${key}=${type}`);

  const child = spawn(opts.cli, args, { stdio: ['ignore', opts.inheritOutput ? 'inherit' : 'ignore', opts.inheritOutput ? 'inherit' : 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `${ip}:${port}`;
  try {
    await Promise.race([
      waitReady(address, namespace),
      exited.then((code) => {
        throw new Error(`temporal server start-dev exited with ${code}: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    namespace,
    ...(opts.uiPort ? { uiUrl: `http://${ip}:${opts.uiPort}` } : {}),
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The port opens before the namespace exists; wait until a namespace call answers. */
async function waitReady(address: string, namespace: string): Promise<void> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  await waitForPort(port, 60_000, host);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const INDEXED_VALUE_TYPE: Record<string, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };

/**
 * Registers the search attributes a server lacks (a plain `temporal server start-dev` has none of
 * ours) through the OperatorService, as the tests do on the time-skipping server. Returns the names
 * it added; throws with the one command to run by hand when the server refuses.
 */
export async function ensureSearchAttributes(address: string, namespace: string, wanted: Record<string, string>): Promise<string[]> {
  const conn = await Connection.connect({ address, connectTimeout: 3000 });
  try {
    const have = await conn.operatorService.listSearchAttributes({ namespace });
    const known = new Set([...Object.keys(have.customAttributes ?? {}), ...Object.keys(have.systemAttributes ?? {})]);
    const missing = Object.entries(wanted).filter(([name]) => !known.has(name));
    if (missing.length === 0) return [];
    try {
      await conn.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type] ?? 2])),
      });
    } catch (err) {
      const cmd = missing
        .map(([name, type]) => `temporal operator search-attribute create --address ${address} --namespace ${namespace} --name ${name} --type ${type}`)
        .join(' && ');
      throw new Error(
        `the Temporal server at ${address} lacks search attributes ${missing.map(([n]) => n).join(', ')} and refused to add them (${err instanceof Error ? err.message : String(err)}); run: ${cmd}`,
      );
    }
    return missing.map(([name]) => name);
  } finally {
    await conn.close();
  }
}

/** Dev server as `temporal-dev.yml` says (persistent DB, Web UI on 8233). */
export async function startConfiguredDevServer(cfg?: DevConfig): Promise<DevServer> {
  const config = cfg ?? (await loadDevConfig());
  const { temporalCli } = await loadToolchain();
  return startDevServer({
    cli: temporalCli,
    ip: config.devServer.ip,
    port: config.devServer.port,
    uiPort: config.devServer.uiPort,
    dbFile: config.devServer.dbFile,
    namespace: config.namespace,
    searchAttributes: config.searchAttributes,
    logLevel: config.devServer.logLevel,
    inheritOutput: true,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  startConfiguredDevServer()
    .then((srv) => {
      console.error(`Temporal dev server on ${srv.address} (namespace ${srv.namespace}); Web UI ${srv.uiUrl ?? 'off'}. Ctrl-C stops it.`);
      const stop = () => void srv.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
