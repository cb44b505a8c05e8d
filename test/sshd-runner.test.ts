/**
 * The SSH runner against Debian's real OpenSSH server, started here on a free loopback port with a
 * temporary host key and authorized key. Needs /usr/sbin/sshd (package openssh-server, installed
 * by the project's toolchain step); fails with a clear message when it is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CommandTimeoutError,
  HostKeyVerificationError,
  OcClient,
  RemoteCommandError,
  SshAuthenticationError,
  SshConnectionError,
  SshConnector,
  type CommandSession,
  type SafeCommand,
} from '../src/cluster/index.js';
import { ValidationError } from '../src/shared/errors.js';
import type { ControllerTarget } from '../src/shared/types.js';
import { waitFor } from './helpers/wait.js';

const SSHD = '/usr/sbin/sshd';

/** A raw command line for tests only; production commands come from `safeCommand`. */
const raw = (line: string): SafeCommand => ({ line, verb: 'test' });

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitListening(port: number, proc: ChildProcess, stderr: () => string): Promise<void> {
  await waitFor(
    `sshd to listen on ${port}`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`sshd exited with ${proc.exitCode}: ${stderr()}`);
      return new Promise<boolean>((resolve) => {
        const s = tcpConnect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
    },
    { seen: stderr },
  );
}

/** `256 SHA256:… comment (ED25519)` → `SHA256:…` */
function keygenFingerprint(pubFile: string): string {
  return sh('ssh-keygen', ['-lf', pubFile]).split(' ')[1]!;
}

describe('SSH runner against OpenSSH sshd', () => {
  let dir: string;
  let port: number;
  let sshd: ChildProcess;
  let sshdStderr = '';
  let target: ControllerTarget;
  let ed25519Fingerprint: string;
  let agent: { sock: string; pid: number } | undefined;
  const connector = new SshConnector({ connectTimeoutMs: 10_000 });

  before(async () => {
    if (!existsSync(SSHD)) {
      throw new Error(`${SSHD} is missing: install Debian's OpenSSH server (apt-get install -y openssh-server; the project's toolchain step does it)`);
    }
    dir = await mkdtemp(join(tmpdir(), 'snapset-sshd-'));
    for (const [type, file] of [
      ['ed25519', 'host_ed25519'],
      ['ecdsa', 'host_ecdsa'],
    ] as const) {
      sh('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test-host', '-f', join(dir, file)]);
    }
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-client', '-f', join(dir, 'client')]);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', join(dir, 'stranger')]);
    await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client.pub')));
    ed25519Fingerprint = keygenFingerprint(join(dir, 'host_ed25519.pub'));
    port = await freePort();
    const user = userInfo().username;
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `HostKey ${join(dir, 'host_ecdsa')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        'MaxSessions 10',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr?.on('data', (d: Buffer) => (sshdStderr += d.toString()));
    await waitListening(port, sshd, () => sshdStderr);
    target = {
      name: 'controller',
      host: '127.0.0.1',
      port,
      user,
      privateKeyFile: join(dir, 'client'),
      hostKeyFingerprint: ed25519Fingerprint,
    };
  });

  after(async () => {
    sshd?.kill('SIGTERM');
    if (agent) process.kill(agent.pid, 'SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function withSession<T>(t: ControllerTarget, fn: (s: CommandSession) => Promise<T>): Promise<T> {
    const s = await connector.connect(t);
    try {
      return await fn(s);
    } finally {
      s.close();
    }
  }

  test('key authentication with a pinned host key (as ssh-keygen -lf prints it) runs a command', async () => {
    const r = await withSession(target, (s) => s.run(raw('echo hello; id -un')));
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, `hello\n${userInfo().username}\n`);
    assert.equal(r.stderr, '');
  });

  test('a non-zero exit becomes RemoteCommandError with exit code and stderr tail', async () => {
    await withSession(target, async (s) => {
      await assert.rejects(s.run(raw('echo partial; echo "oc: something broke" >&2; exit 3')), (err: unknown) => {
        assert.ok(err instanceof RemoteCommandError);
        assert.equal(err.exitCode, 3);
        assert.equal(err.stderrTail, 'oc: something broke');
        assert.equal(err.retryable, true);
        assert.deepEqual(err.details(), { verb: 'test', exitCode: 3, signal: undefined, stderrTail: 'oc: something broke' });
        return true;
      });
      const r = await s.run(raw('echo out; echo err >&2; exit 42'), { allowNonZeroExit: true });
      assert.deepEqual([r.exitCode, r.stdout, r.stderr], [42, 'out\n', 'err\n']);
    });
  });

  test('output is streamed chunk by chunk', async () => {
    const chunks: [string, string][] = [];
    const r = await withSession(target, (s) =>
      s.run(raw('for i in 1 2 3; do echo line$i; sleep 0.05; done; echo done >&2'), {
        onOutput: (c, stream) => chunks.push([stream, c]),
      }),
    );
    assert.equal(
      chunks
        .filter(([s]) => s === 'stdout')
        .map(([, c]) => c)
        .join(''),
      r.stdout,
    );
    assert.equal(r.stdout, 'line1\nline2\nline3\n');
    assert.equal(
      chunks
        .filter(([s]) => s === 'stderr')
        .map(([, c]) => c)
        .join(''),
      'done\n',
    );
  });

  test('a command that runs too long fails with CommandTimeoutError and the session stays usable', async () => {
    await withSession(target, async (s) => {
      await assert.rejects(s.run(raw('sleep 30'), { timeoutMs: 300 }), (err: unknown) => {
        assert.ok(err instanceof CommandTimeoutError);
        assert.equal(err.retryable, true);
        assert.equal(err.timeoutMs, 300);
        return true;
      });
      const r = await s.run(raw('echo still-here'));
      assert.equal(r.stdout, 'still-here\n');
    });
  });

  test('commands run in parallel on one connection', async () => {
    const results = await withSession(target, (s) => Promise.all([1, 2, 3, 4].map((i) => s.run(raw(`sleep 0.1; echo ${i}`)))));
    assert.deepEqual(
      results.map((r) => r.stdout),
      ['1\n', '2\n', '3\n', '4\n'],
    );
  });

  test('a wrong pinned fingerprint is refused before anything runs', async () => {
    const marker = join(dir, 'marker-pin');
    const stranger = keygenFingerprint(join(dir, 'stranger.pub'));
    await assert.rejects(
      withSession({ ...target, hostKeyFingerprint: stranger }, (s) => s.run(raw(`touch ${marker}`))),
      (err: unknown) => {
        assert.ok(err instanceof HostKeyVerificationError);
        assert.equal(err.retryable, false);
        assert.equal((err.details() as { presentedFingerprint: string }).presentedFingerprint, ed25519Fingerprint);
        return true;
      },
    );
    assert.equal(existsSync(marker), false);
  });

  test('known_hosts: plain [host]:port entry, hashed entry, changed key, key type restriction', async () => {
    const { hostKeyFingerprint: _pin, ...noPin } = target;
    const pub = (f: string) => readFile(join(dir, `${f}.pub`), 'utf8').then((t) => t.trim().split(' ').slice(0, 2).join(' '));
    const plain = join(dir, 'known_hosts_plain');
    await writeFile(plain, `# comment\nother.example ${await pub('stranger')}\n[127.0.0.1]:${port} ${await pub('host_ed25519')}\n`);
    assert.equal((await withSession({ ...noPin, knownHostsFile: plain }, (s) => s.run(raw('echo ok')))).stdout, 'ok\n');

    const hashed = join(dir, 'known_hosts_hashed');
    await writeFile(hashed, `[127.0.0.1]:${port} ${await pub('host_ed25519')}\n`);
    sh('ssh-keygen', ['-q', '-H', '-f', hashed]);
    assert.match(await readFile(hashed, 'utf8'), /^\|1\|/);
    assert.equal((await withSession({ ...noPin, knownHostsFile: hashed }, (s) => s.run(raw('echo ok')))).stdout, 'ok\n');

    // Only the ECDSA key is known: the runner must negotiate ECDSA, as OpenSSH would.
    const ecdsaOnly = join(dir, 'known_hosts_ecdsa');
    await writeFile(ecdsaOnly, `[127.0.0.1]:${port} ${await pub('host_ecdsa')}\n`);
    assert.equal((await withSession({ ...noPin, knownHostsFile: ecdsaOnly }, (s) => s.run(raw('echo ok')))).stdout, 'ok\n');

    const changed = join(dir, 'known_hosts_changed');
    const strangerType = (await pub('stranger')).split(' ')[1];
    await writeFile(changed, `[127.0.0.1]:${port} ssh-ed25519 ${strangerType}\n`);
    const marker = join(dir, 'marker-kh');
    await assert.rejects(
      withSession({ ...noPin, knownHostsFile: changed }, (s) => s.run(raw(`touch ${marker}`))),
      (err: unknown) => err instanceof HostKeyVerificationError && /HAS CHANGED/.test(err.message),
    );
    assert.equal(existsSync(marker), false);

    // The entry is for port 22 only: not valid for our port.
    const wrongPort = join(dir, 'known_hosts_port22');
    await writeFile(wrongPort, `127.0.0.1 ${await pub('host_ed25519')}\n`);
    await assert.rejects(connector.connect({ ...noPin, knownHostsFile: wrongPort }), HostKeyVerificationError);
  });

  test('an unauthorized key is a non-retryable SshAuthenticationError', async () => {
    await assert.rejects(connector.connect({ ...target, privateKeyFile: join(dir, 'stranger') }), (err: unknown) => {
      assert.ok(err instanceof SshAuthenticationError);
      assert.equal(err.retryable, false);
      assert.doesNotMatch(JSON.stringify(err.details()) + err.message, /PRIVATE KEY|AAAA/);
      return true;
    });
  });

  test('ssh-agent authentication through SSH_AUTH_SOCK', async () => {
    const sock = join(dir, 'agent.sock');
    const out = sh('ssh-agent', ['-a', sock, '-s']);
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]);
    agent = { sock, pid };
    sh('ssh-add', ['-q', join(dir, 'client')], { ...process.env, SSH_AUTH_SOCK: sock });
    const { privateKeyFile: _key, ...agentTarget } = target;
    const viaAgent = new SshConnector({ env: { SSH_AUTH_SOCK: sock } });
    const s = await viaAgent.connect(agentTarget);
    try {
      assert.equal((await s.run(raw('echo agent'))).stdout, 'agent\n');
    } finally {
      s.close();
    }
    await assert.rejects(new SshConnector({ env: {} }).connect(agentTarget), /SSH_AUTH_SOCK/);
  });

  test('a closed port is a retryable SshConnectionError', async () => {
    const closed = await freePort();
    await assert.rejects(connector.connect({ ...target, port: closed }), (err: unknown) => {
      assert.ok(err instanceof SshConnectionError);
      assert.equal(err.retryable, true);
      assert.equal(err.code, 'ECONNREFUSED');
      return true;
    });
  });

  test('oc arguments are validated before anything is sent over a real connection', async () => {
    await withSession(target, async (s) => {
      const sent: string[] = [];
      const spy: CommandSession = { run: (c, o) => (sent.push(c.line), s.run(c, o)), close: () => s.close() };
      const oc = new OcClient(spy);
      for (const bad of ['master-0;reboot', '$(id)', 'a b', '../x', 'x\ny']) {
        await assert.rejects(oc.setUnschedulable(bad, true), ValidationError);
        await assert.rejects(oc.shutdownNode(bad, 1000), ValidationError);
        await assert.rejects(oc.approveCsr(bad), ValidationError);
      }
      assert.deepEqual(sent, []);
      // `oc` is not installed here: a valid call reaches the shell and fails as "command not found", non-retryable.
      await assert.rejects(oc.setUnschedulable('master-0', true), (err: unknown) => {
        assert.ok(err instanceof RemoteCommandError);
        assert.equal(err.exitCode, 127);
        assert.equal(err.retryable, false);
        return true;
      });
      assert.deepEqual(sent, ['oc adm cordon node/master-0']);
    });
  });
});
