/**
 * SSH command runner for the controller, on `ssh2`. Plain Node: no Temporal imports.
 *
 * - Authentication: the private key file named by the target (read by this process, `~` expanded)
 *   or the ssh-agent at `SSH_AUTH_SOCK`. Key material never leaves this module and is never logged.
 * - Host key: a pinned `SHA256:` fingerprint, or known_hosts (default `~/.ssh/known_hosts`); the
 *   check is off only with an explicit `insecureIgnoreHostKey: true`.
 * - Every command has a bound; output is streamed chunk by chunk (activities heartbeat on it).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { ConfigError } from '../shared/errors.js';
import type { ControllerTarget } from '../shared/types.js';
import {
  CommandTimeoutError,
  HostKeyVerificationError,
  RemoteCommandError,
  SshAuthenticationError,
  SshConnectionError,
  SshSessionDroppedError,
  tail,
} from './errors.js';
import {
  checkHostKey,
  entriesFor,
  fingerprintsEqual,
  hostKeyAlgorithmsFor,
  knownHostsName,
  normalizeFingerprint,
  parseKnownHosts,
  sha256Fingerprint,
  type KnownHostEntry,
} from './known-hosts.js';
import type { SafeCommand } from './names.js';

const { Client, utils } = ssh2;

/** What a finished remote command gave back. */
export interface CommandResult {
  /** Exit status; null when the command ended by a signal or the connection dropped. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** True when the connection went away before an exit status arrived (only with `allowDrop`). */
  dropped?: boolean;
}

export interface RunOptions {
  /** Upper bound for the command; the channel is closed and `CommandTimeoutError` thrown. @default 300000 */
  timeoutMs?: number;
  /** Called for every output chunk, as it arrives. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting closes the channel and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Resolve with a non-zero `exitCode` instead of throwing `RemoteCommandError`. @default false */
  allowNonZeroExit?: boolean;
  /** Resolve with `dropped: true` when the connection drops before an exit status (a host going down). @default false */
  allowDrop?: boolean;
}

/** One authenticated connection to the controller; commands run on their own channels. */
export interface CommandSession {
  run(command: SafeCommand, opts?: RunOptions): Promise<CommandResult>;
  close(): void;
  /** False once closed or once the connection is known lost (absent: assume open). */
  isOpen?(): boolean;
}

/** Opens sessions to a controller. The seam activities depend on (tests may pass a fake). */
export interface ControllerConnector {
  connect(target: ControllerTarget, opts?: { signal?: AbortSignal }): Promise<CommandSession>;
  /** Closes what the connector keeps open (connections handed on between steps); at worker shutdown. */
  close?(): void;
}

export interface SshConnectorOptions {
  /** Bound for TCP connect + SSH handshake + authentication. @default 20000 */
  connectTimeoutMs?: number;
  /** SSH keepalive interval; a dead controller is noticed after 3 missed answers. @default 15000 */
  keepaliveIntervalMs?: number;
  /** Environment used for `SSH_AUTH_SOCK`. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Home directory for `~` and the default known_hosts. @default os.homedir() */
  homeDir?: string;
  /** Passphrase of an encrypted key file (the worker reads it from its own secret store). */
  passphrase?: string;
  /** Longest stdout/stderr kept per command (bytes, each). @default 67108864 */
  maxOutputBytes?: number;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 300_000;

/** Expands `~` and `~/…`; `~user` is not supported (the worker's own home only). */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  if (path.startsWith('~')) throw new ConfigError(`cannot expand ${JSON.stringify(path)}: only "~/" is supported`);
  return path;
}

type HostKeyPolicy =
  { kind: 'insecure' } | { kind: 'pin'; fingerprint: string; known?: KnownHostEntry[] } | { kind: 'known_hosts'; entries: KnownHostEntry[]; file: string };

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** The ssh2-based connector the worker uses. */
export class SshConnector implements ControllerConnector {
  private readonly connectTimeoutMs: number;
  private readonly keepaliveIntervalMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly home: string;
  private readonly passphrase?: string;
  private readonly maxOutputBytes: number;

  constructor(opts: SshConnectorOptions = {}) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 20_000;
    this.keepaliveIntervalMs = opts.keepaliveIntervalMs ?? 15_000;
    this.env = opts.env ?? process.env;
    this.home = opts.homeDir ?? homedir();
    this.passphrase = opts.passphrase;
    this.maxOutputBytes = opts.maxOutputBytes ?? 64 * 1024 * 1024;
  }

  async connect(target: ControllerTarget, opts: { signal?: AbortSignal } = {}): Promise<CommandSession> {
    const host = target.host;
    const port = target.port ?? 22;
    if (!host || !target.user) throw new ConfigError('controller target needs a host and a user');
    const auth = await this.resolveAuth(target);
    const policy = await this.resolveHostKeyPolicy(target, port);
    opts.signal?.throwIfAborted();

    const client = new Client();
    let hostKeyFailure: HostKeyVerificationError | undefined;
    const config: ConnectConfig = {
      host,
      port,
      username: target.user,
      readyTimeout: this.connectTimeoutMs,
      keepaliveInterval: this.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      ...auth,
    };
    if (policy.kind !== 'insecure') {
      const algorithms = this.restrictHostKeyAlgorithms(policy, host, port);
      if (algorithms) config.algorithms = { serverHostKey: algorithms as never };
      config.hostVerifier = (key: Buffer): boolean => {
        hostKeyFailure = verifyHostKey(policy, host, port, key);
        return hostKeyFailure === undefined;
      };
    }

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: unknown) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) {
          client.end();
          reject(err);
        } else resolve();
      };
      const onAbort = () => {
        client.destroy();
        done(opts.signal?.reason ?? new Error('aborted'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        // Commands are small request/response exchanges: do not let Nagle + delayed ACKs add ~40 ms each.
        client.setNoDelay(true);
        done();
      });
      // `on`, not `once`: a second 'error' without a listener would crash the worker.
      client.on('error', (err: Error & { level?: string }) => {
        done(this.mapConnectError(err, target, port, hostKeyFailure, policy));
      });
      client.once('close', () =>
        done(new SshConnectionError(`connection to ${host}:${port} closed before the session was ready`, { host, port }, 'ECONNRESET')),
      );
      try {
        client.connect(config);
      } catch (err) {
        // Synchronous config errors (e.g. an unparsable key) — never echo the key itself.
        done(new ConfigError(`cannot connect to ${host}:${port}: ${(err as Error).message}`));
      }
    });
    return new Ssh2Session(client, { host, port }, this.maxOutputBytes);
  }

  private async resolveAuth(target: ControllerTarget): Promise<Partial<ConnectConfig>> {
    if (target.privateKeyFile) {
      const path = expandHome(target.privateKeyFile, this.home);
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch (err) {
        throw new ConfigError(`cannot read private key file ${path}: ${errnoCode(err) ?? 'error'}`);
      }
      const parsed = utils.parseKey(data, this.passphrase);
      if (parsed instanceof Error) {
        throw new ConfigError(`cannot use private key file ${path}: ${parsed.message}`);
      }
      return { privateKey: data, ...(this.passphrase ? { passphrase: this.passphrase } : {}) };
    }
    const sock = this.env.SSH_AUTH_SOCK;
    if (!sock) {
      throw new ConfigError('controller target has no privateKeyFile and SSH_AUTH_SOCK is not set (no ssh-agent)');
    }
    return { agent: sock };
  }

  private async resolveHostKeyPolicy(target: ControllerTarget, port: number): Promise<HostKeyPolicy> {
    if (target.insecureIgnoreHostKey === true) return { kind: 'insecure' };
    const readKnownHosts = async (file: string, required: boolean): Promise<KnownHostEntry[]> => {
      try {
        return parseKnownHosts(await readFile(file, 'utf8'));
      } catch (err) {
        if (!required && errnoCode(err) === 'ENOENT') return [];
        throw new ConfigError(`cannot read known_hosts file ${file}: ${errnoCode(err) ?? 'error'}`);
      }
    };
    if (target.hostKeyFingerprint !== undefined) {
      const fingerprint = normalizeFingerprint(target.hostKeyFingerprint);
      if (!fingerprint) {
        throw new ConfigError('hostKeyFingerprint must be "SHA256:<base64>" as printed by ssh-keygen -lf');
      }
      // An explicitly named known_hosts file is checked as well; the default one is not needed.
      const known = target.knownHostsFile ? await readKnownHosts(expandHome(target.knownHostsFile, this.home), true) : undefined;
      return { kind: 'pin', fingerprint, known };
    }
    const file = target.knownHostsFile ? expandHome(target.knownHostsFile, this.home) : join(this.home, '.ssh', 'known_hosts');
    const entries = await readKnownHosts(file, target.knownHostsFile !== undefined);
    if (entriesFor(entries, target.host, port).filter((e) => e.marker === undefined).length === 0) {
      throw new HostKeyVerificationError(
        `host key of ${knownHostsName(target.host, port)} is unknown: no entry in ${file} and no hostKeyFingerprint ` +
          '(add it with ssh-keyscan, pin it, or set insecureIgnoreHostKey explicitly)',
        { host: target.host, port },
        undefined,
      );
    }
    return { kind: 'known_hosts', entries, file };
  }

  /** Offer only host-key algorithms that can present a key we know, as OpenSSH does. */
  private restrictHostKeyAlgorithms(policy: HostKeyPolicy, host: string, port: number): string[] | undefined {
    const entries = policy.kind === 'known_hosts' ? policy.entries : policy.kind === 'pin' ? policy.known : undefined;
    if (!entries) return undefined;
    const algs = entriesFor(entries, host, port)
      .filter((e) => e.marker === undefined)
      .flatMap((e) => hostKeyAlgorithmsFor(e.keyType));
    return algs.length > 0 ? [...new Set(algs)] : undefined;
  }

  private mapConnectError(
    err: Error & { level?: string; code?: string },
    target: ControllerTarget,
    port: number,
    hostKeyFailure: HostKeyVerificationError | undefined,
    policy: HostKeyPolicy,
  ): Error {
    const endpoint = { host: target.host, port };
    if (hostKeyFailure) return hostKeyFailure;
    if (err.level === 'client-authentication') {
      return new SshAuthenticationError(
        `authentication to ${target.user}@${target.host}:${port} failed (${target.privateKeyFile ? 'key file' : 'ssh-agent'})`,
        { ...endpoint, user: target.user },
      );
    }
    if (err.level === 'agent') return new ConfigError(`ssh-agent error: ${err.message}`);
    if (err.level === 'client-timeout') {
      return new SshConnectionError(`timed out connecting to ${target.host}:${port}`, endpoint, 'ETIMEDOUT', { cause: err });
    }
    if (err.level === 'handshake' && policy.kind !== 'insecure' && /host key|no matching/i.test(err.message)) {
      return new HostKeyVerificationError(`${target.host}:${port} offers no host key of the type(s) known for it: ${err.message}`, endpoint, undefined);
    }
    const code = err.code ?? err.level;
    return new SshConnectionError(`cannot connect to ${target.host}:${port}: ${err.message}`, endpoint, code, { cause: err });
  }
}

function verifyHostKey(policy: HostKeyPolicy, host: string, port: number, key: Buffer): HostKeyVerificationError | undefined {
  const presented = sha256Fingerprint(key);
  const endpoint = { host, port };
  if (policy.kind === 'pin') {
    if (!fingerprintsEqual(presented, policy.fingerprint)) {
      return new HostKeyVerificationError(`host key of ${host}:${port} does not match the pinned fingerprint (presented ${presented})`, endpoint, presented);
    }
    if (!policy.known) return undefined;
  }
  const entries = policy.kind === 'known_hosts' ? policy.entries : policy.kind === 'pin' ? (policy.known ?? []) : [];
  const check = checkHostKey(entries, host, port, key);
  switch (check.status) {
    case 'match':
      return undefined;
    case 'revoked':
      return new HostKeyVerificationError(`host key of ${host}:${port} is marked @revoked`, endpoint, presented);
    case 'mismatch':
      return new HostKeyVerificationError(
        `REMOTE HOST IDENTIFICATION HAS CHANGED: host key of ${knownHostsName(host, port)} (${presented}) does not match known_hosts`,
        endpoint,
        presented,
      );
    case 'unknown':
      return new HostKeyVerificationError(`host key of ${knownHostsName(host, port)} is not in known_hosts`, endpoint, presented);
  }
}

class Ssh2Session implements CommandSession {
  private closed = false;
  private lost: Error | undefined;
  private readonly lostListeners = new Set<(err: Error) => void>();

  constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly endpoint: { host: string; port: number },
    private readonly maxOutputBytes: number,
  ) {
    const onLost = (err?: Error) => {
      if (this.lost) return;
      this.lost = err ?? new Error('connection closed');
      for (const l of this.lostListeners) l(this.lost);
    };
    client.on('error', onLost);
    client.on('close', () => onLost());
  }

  run(command: SafeCommand, opts: RunOptions = {}): Promise<CommandResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return new Promise<CommandResult>((resolve, reject) => {
      if (this.closed || this.lost) {
        reject(new SshSessionDroppedError(`SSH connection to ${this.endpoint.host} is closed`, command.verb, ''));
        return;
      }
      opts.signal?.throwIfAborted();
      const out = new StringDecoder('utf8');
      const err = new StringDecoder('utf8');
      let stdout = '';
      let stderr = '';
      let bytes = 0;
      let exitCode: number | null | undefined;
      let exitSignal: string | undefined;
      let channel: ClientChannel | undefined;
      let settled = false;

      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.lostListeners.delete(onLost);
      };
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(e);
      };
      const stopChannel = () => {
        try {
          channel?.signal('TERM');
        } catch {
          // the server may not support signals; closing the channel is enough
        }
        channel?.close();
      };
      const finish = () => {
        if (settled) return;
        settled = true;
        cleanup();
        stdout += out.end();
        stderr += err.end();
        if (exitCode === undefined) {
          if (opts.allowDrop) {
            resolve({ exitCode: null, stdout, stderr, dropped: true });
          } else {
            reject(new SshSessionDroppedError(`SSH session to ${this.endpoint.host} dropped while running ${command.verb}`, command.verb, tail(stderr)));
          }
          return;
        }
        const result: CommandResult = { exitCode, stdout, stderr, ...(exitSignal ? { signal: exitSignal } : {}) };
        if (exitCode !== 0 && !opts.allowNonZeroExit) {
          reject(
            new RemoteCommandError(
              `${command.verb} exited with ${exitCode ?? `signal ${exitSignal}`}: ${tail(stderr, 300)}`,
              command.verb,
              exitCode,
              exitSignal,
              tail(stderr),
              true,
            ),
          );
          return;
        }
        resolve(result);
      };
      const onLost = () => {
        // Give the channel a moment to deliver a pending exit status before calling it dropped.
        setImmediate(finish);
      };
      const onAbort = () => {
        stopChannel();
        fail(opts.signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(() => {
        stopChannel();
        fail(new CommandTimeoutError(`${command.verb} did not finish within ${timeoutMs} ms`, command.verb, timeoutMs, tail(stderr)));
      }, timeoutMs);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.lostListeners.add(onLost);

      const take = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
        bytes += chunk.length;
        if (bytes > 2 * this.maxOutputBytes) {
          stopChannel();
          fail(new RemoteCommandError(`${command.verb} produced too much output`, command.verb, null, undefined, '', false));
          return;
        }
        const text = stream === 'stdout' ? out.write(chunk) : err.write(chunk);
        if (stream === 'stdout') stdout += text;
        else stderr += text;
        if (text) opts.onOutput?.(text, stream);
      };

      try {
        this.client.exec(command.line, (e, ch) => {
          if (e) {
            fail(new RemoteCommandError(`cannot start ${command.verb}: ${e.message}`, command.verb, null, undefined, '', true));
            return;
          }
          channel = ch;
          if (settled) {
            ch.close();
            return;
          }
          ch.on('data', (c: Buffer) => take(c, 'stdout'));
          ch.stderr.on('data', (c: Buffer) => take(c, 'stderr'));
          ch.on('exit', (code: number | null, signal?: string) => {
            exitCode = typeof code === 'number' ? code : null;
            if (signal) exitSignal = signal;
          });
          ch.on('close', finish);
        });
      } catch (e) {
        fail(new SshSessionDroppedError(`cannot run ${command.verb}: ${(e as Error).message}`, command.verb, ''));
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
  }

  isOpen(): boolean {
    return !this.closed && !this.lost;
  }
}
