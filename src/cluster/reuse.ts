/**
 * SSH connections handed on from one step to the next (issue 16: a run's cluster steps — preflight,
 * the install time, uncordon, the stable wait, cordon, the node list, the node shutdowns — each opened
 * a connection of its own: key exchange, host-key check and a signature every time, most of the
 * worker's CPU per run outside the workflows). Like OpenSSH's ControlPersist: a session closed by its
 * step stays open for `idleMs` and is given to the next step for the same target — same host, port,
 * user, key and host-key policy — instead of a new handshake. One step at a time per connection (as
 * before: a step may open up to 8 channels, OpenSSH allows 10 per connection).
 *
 * Never handed on: a connection that is lost or closed, one a command ran on with `allowDrop` (a
 * shutdown: the host is going away), one whose command failed other than by its exit status (a
 * timeout, a drop, a cancel: the connection may be stuck). Its host key was checked when it was opened;
 * a known_hosts change applies from the next connection. Plain Node, no Temporal imports.
 */
import type { ControllerTarget } from '../shared/types.js';
import { RemoteCommandError, SshSessionDroppedError } from './errors.js';
import { SshConnector, type CommandResult, type CommandSession, type ControllerConnector, type RunOptions, type SshConnectorOptions } from './ssh.js';
import type { SafeCommand } from './names.js';

/** How long a connection no step uses stays open. */
export const DEFAULT_SSH_REUSE_IDLE_MS = 30_000;
/** Idle connections kept per target (more than one only when steps on the same target overlap). */
const MAX_IDLE_PER_TARGET = 2;

interface Idle {
  session: CommandSession;
  timer: NodeJS.Timeout;
}

/** The fields that make two targets the same connection. */
function targetKey(t: ControllerTarget): string {
  return JSON.stringify([
    t.host,
    t.port ?? 22,
    t.user,
    t.privateKeyFile ?? null,
    t.hostKeyFingerprint ?? null,
    t.knownHostsFile ?? null,
    t.insecureIgnoreHostKey === true,
  ]);
}

const isOpen = (s: CommandSession) => s.isOpen?.() ?? true;

export class ReusingConnector implements ControllerConnector {
  private readonly idle = new Map<string, Idle[]>();
  private closed = false;
  /** Connections opened through `inner` (a figure for tests and the bench). */
  opened = 0;
  /** Sessions served by a connection handed on. */
  reused = 0;

  constructor(
    private readonly inner: ControllerConnector,
    private readonly idleMs = DEFAULT_SSH_REUSE_IDLE_MS,
  ) {}

  async connect(target: ControllerTarget, opts: { signal?: AbortSignal } = {}): Promise<CommandSession> {
    opts.signal?.throwIfAborted();
    const key = targetKey(target);
    const list = this.idle.get(key) ?? [];
    for (let e = list.pop(); e; e = list.pop()) {
      clearTimeout(e.timer);
      if (isOpen(e.session)) {
        this.reused++;
        return this.lease(key, e.session, target.host);
      }
      e.session.close();
    }
    const session = await this.inner.connect(target, opts);
    this.opened++;
    return this.lease(key, session, target.host);
  }

  /** Connections open and waiting for the next step. */
  idleCount(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /** Closes every idle connection and hands none on from now (worker shutdown). */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const e of list.splice(0)) this.drop(e);
    this.idle.clear();
  }

  private lease(key: string, session: CommandSession, target: string): CommandSession {
    let reusable = true;
    let closed = false;
    return {
      run: async (command: SafeCommand, opts: RunOptions = {}): Promise<CommandResult> => {
        // The connection may serve another step by now.
        if (closed) throw new SshSessionDroppedError(`SSH session to ${target} is closed`, command.verb, '');
        if (opts.allowDrop) reusable = false;
        try {
          return await session.run(command, opts);
        } catch (err) {
          if (!(err instanceof RemoteCommandError)) reusable = false;
          throw err;
        }
      },
      close: () => {
        if (closed) return;
        closed = true;
        const list = this.idle.get(key) ?? [];
        if (!reusable || this.closed || !isOpen(session) || list.length >= MAX_IDLE_PER_TARGET) {
          session.close();
          return;
        }
        const entry: Idle = {
          session,
          timer: setTimeout(() => {
            const at = list.indexOf(entry);
            if (at >= 0) list.splice(at, 1);
            this.drop(entry);
          }, this.idleMs),
        };
        entry.timer.unref();
        list.push(entry);
        this.idle.set(key, list);
      },
      isOpen: () => !closed && isOpen(session),
    };
  }

  private drop(e: Idle): void {
    clearTimeout(e.timer);
    e.session.close();
  }
}

/** The worker's connector: SSH ({@link SshConnector}) with connections handed on between steps. */
export function controllerConnector(opts: SshConnectorOptions = {}, idleMs = DEFAULT_SSH_REUSE_IDLE_MS): ReusingConnector {
  return new ReusingConnector(new SshConnector(opts), idleMs);
}
