/**
 * What every `snapset` verb gets from the program: output, a connected client, exit codes.
 * A verb is one file under commands/ exporting `register(program, ctx)`; its action returns an exit code.
 */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { connectClient } from '../client.js';

/** Exit codes (README): 0 done, 1 the run or operation failed, 2 usage or bad input, 3 cannot reach Temporal or the cloud. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Whether `out` is a terminal (live views, colours); false in CI logs and pipes. */
  isTTY: boolean;
  /** Terminal width, for the live view (long lines would wrap and break its redraw). */
  columns?: number;
}

export interface GlobalOpts {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue: string;
}

export interface CliContext {
  io: CliIo;
  /** Runs fn with a client connected as the global options say and always closes the connection. */
  withClient<T>(cmd: Command, fn: (client: Client) => Promise<T>): Promise<T>;
  /** Wraps a verb's action: its returned exit code becomes the program's. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
  /** Exit code set by the last action run. */
  readonly exitCode: number;
}

export function createContext(io: CliIo): CliContext {
  let exitCode = 0;
  return {
    io,
    async withClient(cmd, fn) {
      const g = cmd.optsWithGlobals<GlobalOpts>();
      const client = await connectClient({
        ...(g.address ? { address: g.address } : {}),
        ...(g.namespace ? { namespace: g.namespace } : {}),
        ...(g.profile ? { profile: g.profile } : {}),
      });
      try {
        return await fn(client);
      } finally {
        await client.connection.close();
      }
    },
    action(fn) {
      return async (...args) => {
        exitCode = (await fn(...args)) ?? EXIT.ok;
      };
    },
    get exitCode() {
      return exitCode;
    },
  };
}
