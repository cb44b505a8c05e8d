/**
 * The simulated Hotstack controller: an SSH server (ssh2) on loopback that accepts one user with
 * the configured keys, answers the `oc` verbs of this project for a simulated OpenShift cluster,
 * and powers off (through the simulated Nova) on `shutdown`. Faults: refused connections, dropped
 * sessions, stalled commands, failing node shutdowns, a cluster that flaps or never stabilises.
 */
import { timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import { sha256Fingerprint } from '../../cluster/known-hosts.js';
import type { ControllerTarget } from '../../shared/types.js';
import type { Scenario } from '../scenario.js';
import type { SimComputeControl } from '../types.js';
import { SimCluster, type SimCsr, type SimNodeView } from './cluster.js';
import { runCommand, type ExecIo } from './commands.js';
import type { ControllerScenario, ControllerScenarioInput } from './scenario.js';

export { controllerScenarioSchema } from './scenario.js';
export type { ControllerScenario, ControllerScenarioInput } from './scenario.js';
export type { SimNodeView } from './cluster.js';

const { Server, utils } = ssh2;

export type ControllerFaults = ControllerScenario['faults'];

/** One exec request the simulator received (what was sent over SSH, verbatim). */
export interface ReceivedCommand {
  command: string;
  user: string;
  at: string;
  connection: number;
}

export interface ControllerSimulator {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** A client private key the simulator accepts (OpenSSH format, mode 0600, in `stateDir`). */
  readonly privateKeyFile: string;
  /** `SHA256:…` of the simulator's host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** A known_hosts file with the `[host]:port` entry of the simulator. */
  readonly knownHostsFile: string;
  readonly stateDir: string;
  /** The target to put in workflow inputs (no key material: a key file path and the pinned fingerprint). */
  target(): ControllerTarget;

  /** Current fault settings; `setFaults` merges. */
  faults(): ControllerFaults;
  setFaults(patch: Partial<ControllerFaults>): Promise<void>;
  setStability(patch: Partial<ControllerScenario['stability']>): void;
  /** Forces the API server (every `oc` call) or only the `route.openshift.io` group down, until set false. */
  setApiAvailability(patch: Partial<{ apiDown: boolean; routeApiDown: boolean }>): void;
  setNode(name: string, patch: Partial<{ unschedulable: boolean; neverReady: boolean; shutdownFails: boolean }>): void;
  nodes(): SimNodeView[];
  addCsr(csr: NonNullable<ControllerScenarioInput['csrs']>[number]): void;
  csrs(): { name: string; node: string; state: SimCsr['state']; username: string; signerName: string }[];
  /** Every command received so far (the audit trail tests assert on). */
  commands(): ReceivedCommand[];
  /** Commands still running on the simulator (a cancelled client must leave none behind). */
  activeCommands(): number;
  /** Number of TCP connections accepted so far (before any SSH handshake). */
  connectionCount(): number;
  /** True while the controller is powered off: after it ran `shutdown`, while its Nova server is not ACTIVE, while it boots. */
  controllerDown(): boolean;
  /**
   * A lab reset: the controller up and answering at once, every node Ready and schedulable, no
   * CSRs, no shutdown scheduled, the APIs up and the cluster stable (call after the cloud set
   * every server ACTIVE). Faults stay as they are.
   */
  reset(): void;
  close(): Promise<void>;
}

export interface StartControllerOptions {
  host?: string;
  /** 0 = a free port. @default 0 */
  port?: number;
  /** Where the client key and known_hosts are written. @default a new temporary directory (removed on close) */
  stateDir?: string;
}

function parsePublic(key: string): ParsedKey {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`invalid authorized key: ${parsed.message}`);
  return parsed;
}

/**
 * ed25519 key pair in OpenSSH format. ssh2 1.17's generator strips a leading zero byte of the
 * public key about once in 256 keys, producing a pair its own parser rejects (mscdex/ssh2#1390,
 * #1513): draw again until both halves parse.
 */
function generateEd25519(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', comment ? { comment } : {});
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startControllerSimulator(
  scenario: Scenario,
  compute: SimComputeControl,
  opts: StartControllerOptions = {},
): Promise<ControllerSimulator> {
  const cfg = scenario.controller;
  const host = opts.host ?? '127.0.0.1';
  const ownsStateDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'hotstack-sim-controller-')));
  const cluster = new SimCluster(scenario, compute);
  const faults: ControllerFaults = { ...cfg.faults };
  const received: ReceivedCommand[] = [];
  const connections = new Set<Connection>();
  const sockets = new Set<Socket>();
  const stoppers = new Set<() => void>();
  let connectionSeq = 0;
  let tcpAccepted = 0;

  const hostKey = generateEd25519();
  const clientKey = generateEd25519('hotstack-sim-client');
  const allowed = [clientKey.public, ...cfg.authorizedKeys].map(parsePublic);
  const hostFingerprint = sha256Fingerprint(parsePublic(hostKey.public).getPublicSSH());
  const privateKeyFile = join(stateDir, 'id_ed25519');
  await writeFile(privateKeyFile, clientKey.private, { mode: 0o600 });
  await writeFile(`${privateKeyFile}.pub`, `${clientKey.public}\n`, { mode: 0o644 });

  const controllerUuid = Object.values(scenario.instances).find((i) => i.role === 'controller')?.uuid;
  let poweredOffFromMs: number | undefined; // shut down from inside: gone from this time on, until it boots again
  let sshUpAtMs = 0; // booting: sshd answers from this time on
  const controllerDown = (now = Date.now()): boolean => {
    if (now < sshUpAtMs) return true;
    if (poweredOffFromMs !== undefined && now >= poweredOffFromMs) return true;
    const status = controllerUuid ? compute.serverStatus(controllerUuid) : undefined;
    return status !== undefined && status !== 'ACTIVE'; // stopped through Nova (os-stop), or created SHUTOFF
  };
  const stopListeningForPower = compute.onPowerOn((uuid) => {
    if (uuid === controllerUuid) {
      poweredOffFromMs = undefined;
      sshUpAtMs = Date.now() + cluster.ms(cfg.restart.controllerBootSeconds);
    } else {
      cluster.serverPoweredOn(uuid);
    }
  });

  const dropConnection = (conn: Connection) => {
    // Private field: the simulator needs the raw socket to cut the TCP stream like a vanished host.
    const sock = (conn as unknown as { _sock?: Socket })._sock;
    if (sock) sock.destroy();
    else conn.end();
  };

  const shutdownController = (delayMs: number) => {
    poweredOffFromMs = Date.now() + delayMs;
    if (controllerUuid) compute.guestShutdown(controllerUuid, delayMs + cluster.ms(cfg.controllerShutdownDelaySeconds));
    if (delayMs > 0) {
      setTimeout(() => {
        for (const c of connections) dropConnection(c);
      }, delayMs).unref();
    }
  };

  const sshServer = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    const id = ++connectionSeq;
    connections.add(conn);
    let user = '';
    conn.on('error', () => {
      /* a client vanishing is normal here */
    });
    conn.on('close', () => connections.delete(conn));
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== cfg.user) {
        ctx.reject(['publickey']);
        return;
      }
      const key = allowed.find((k) => k.type === ctx.key.algo && sameBytes(k.getPublicSSH(), ctx.key.data));
      if (!key) {
        ctx.reject(['publickey']);
        return;
      }
      if (ctx.signature && ctx.blob) {
        if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
          ctx.reject(['publickey']);
          return;
        }
      }
      user = ctx.username;
      ctx.accept();
    });
    conn.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (accept, _reject, info) => {
        const channel: ServerChannel = accept();
        received.push({ command: info.command, user, at: new Date().toISOString(), connection: id });
        if (faults.dropSessions > 0) {
          faults.dropSessions--;
          dropConnection(conn);
          return;
        }
        if (faults.stallCommands > 0) {
          faults.stallCommands--;
          return; // never answers; the client's command timeout must fire
        }
        void execute(conn, channel, info.command);
      });
    });
  });
  sshServer.on('error', () => {
    /* per-connection errors are handled above */
  });

  async function execute(conn: Connection, channel: ServerChannel, command: string): Promise<void> {
    let closed = false;
    const wakers = new Set<() => void>();
    const onGone = () => {
      closed = true;
      for (const w of wakers) w();
    };
    // The channel, its connection or the whole simulator going away all end the command.
    channel.on('close', onGone);
    channel.on('error', onGone);
    conn.once('close', onGone);
    stoppers.add(onGone);
    const io: ExecIo = {
      out: (t) => {
        if (!closed) channel.write(t);
      },
      err: (t) => {
        if (!closed) channel.stderr.write(t);
      },
      closed: () => closed,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          if (closed || ms <= 0) return resolve();
          const done = () => {
            clearTimeout(t);
            wakers.delete(done);
            resolve();
          };
          const t = setTimeout(done, ms);
          wakers.add(done);
        }),
    };
    try {
      const outcome = await runCommand(
        {
          cluster,
          latencyMs: cluster.ms(cfg.commandLatencySeconds),
          sudoRequiresPassword: cfg.sudoRequiresPassword,
          shutdownController,
        },
        command,
        io,
      );
      if ('drop' in outcome) {
        setTimeout(() => {
          for (const c of connections) dropConnection(c);
        }, 5).unref();
        return;
      }
      if (!closed) {
        channel.exit(outcome.exitCode);
        channel.end();
      }
    } catch (err) {
      if (!closed) {
        channel.stderr.write(`sim-controller internal error: ${(err as Error).message}\n`);
        channel.exit(70);
        channel.end();
      }
    } finally {
      stoppers.delete(onGone);
      conn.off('close', onGone);
    }
  }

  const tcp: NetServer = createServer((sock) => {
    tcpAccepted++;
    if (controllerDown() && cfg.whenPoweredOff === 'refuse') {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {
      /* a client giving up on a silent host */
    });
    // A powered-off host never answers: the connection hangs until the client gives up (read and
    // dropped, so the client's FIN is seen and the socket closes).
    if (controllerDown()) {
      sock.resume();
      return;
    }
    sock.setNoDelay(true);
    sshServer.injectSocket(sock);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve((tcp.address() as { port: number }).port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!tcp.listening) return resolve();
      tcp.close(() => resolve());
    });

  const port = await listen(opts.port ?? 0);
  if (faults.refuseConnections) await stopListening();

  const knownHostsFile = join(stateDir, 'known_hosts');
  const [hostKeyType, hostKeyB64] = hostKey.public.split(' ');
  await writeFile(knownHostsFile, `[${host}]:${port} ${hostKeyType} ${hostKeyB64}\n`, { mode: 0o644 });

  const sim: ControllerSimulator = {
    host,
    port,
    user: cfg.user,
    privateKeyFile,
    hostKeyFingerprint: hostFingerprint,
    knownHostsFile,
    stateDir,
    target: () => ({
      name: 'controller',
      host,
      port,
      user: cfg.user,
      privateKeyFile,
      hostKeyFingerprint: hostFingerprint,
    }),
    faults: () => ({ ...faults }),
    async setFaults(patch) {
      Object.assign(faults, patch);
      if (patch.refuseConnections === true) await stopListening();
      if (patch.refuseConnections === false && !tcp.listening) await listen(port);
    },
    setStability: (patch) => cluster.setStability(patch),
    setApiAvailability: (patch) => void Object.assign(cluster.forced, patch),
    setNode(name, patch) {
      const node = cluster.nodes.get(name);
      if (!node) throw new Error(`no simulated node ${name}`);
      Object.assign(node, patch);
    },
    nodes: () => [...cluster.nodes.values()].map((n) => cluster.view(n)),
    addCsr: (csr) => void cluster.addCsr(csr),
    csrs: () => cluster.visibleCsrs().map((c) => ({ name: c.name, node: c.node, state: c.state, username: c.username, signerName: c.signerName })),
    commands: () => [...received],
    connectionCount: () => tcpAccepted,
    activeCommands: () => stoppers.size,
    controllerDown: () => controllerDown(),
    reset() {
      poweredOffFromMs = undefined;
      sshUpAtMs = 0;
      cluster.reset();
    },
    async close() {
      stopListeningForPower();
      for (const stop of [...stoppers]) stop();
      // server.close() waits for open sockets: end them first (a stalled one never ends by itself).
      const stopped = stopListening();
      for (const c of connections) c.end();
      for (const s of sockets) s.destroy();
      await stopped;
      if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
    },
  };
  return sim;
}
