/**
 * Child processes as a user starts them (`npm run sim`, `npm run worker`, `snapset`, `npm start`),
 * with their output collected so tests can wait for a line and assert on what was printed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

const execFileP = promisify(execFile);

export interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  readonly output: string;
  /** Resolves with the first match of `re` in the output; rejects if the process exits first or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Exit code (or 128+signal). */
  readonly exited: Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export function startProc(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; command?: string } = {}): Proc {
  const child = spawn(opts.command ?? process.execPath, args, {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number>((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
  return {
    child,
    get output() {
      return output;
    },
    exited,
    waitFor(re, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = output.match(re);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${re} in:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then((code) => {
          if (!listeners.has(check)) return;
          check();
          if (listeners.has(check)) {
            done();
            reject(new Error(`exited with ${code} before ${re} appeared:\n${output}`));
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `snapset …` run to its end: the compiled CLI, as bin/snapset.js runs it. */
export async function runSnapset(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; output: string }> {
  const p = startProc([join(repoRoot, 'bin', 'snapset.js'), ...args], opts);
  const code = await p.exited;
  return { code, output: p.output };
}

/** `snapset …` against a Temporal address, stdout and stderr apart (for asserting which stream says what). */
export async function snapsetAt(address: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [join(repoRoot, 'bin', 'snapset.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: address, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A port nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
