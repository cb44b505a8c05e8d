/** Unit tests of src/cluster: name validation, known_hosts, CSR rule, oc output parsing, error mapping. */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toApplicationFailure } from '../src/activities/failures.js';
import {
  checkHostKey,
  ClusterApiUnavailableError,
  controllerShutdownCommand,
  goDuration,
  hostPatternsMatch,
  isDns1123Subdomain,
  judgeCsr,
  knownHostsName,
  normalizeFingerprint,
  ocFailure,
  OcOutputError,
  parseCsrSubject,
  parseKnownHosts,
  parseNodeList,
  RemoteCommandError,
  safeCommand,
  sha256Fingerprint,
  validateObjectNames,
  type CsrObject,
} from '../src/cluster/index.js';
import { buildCsrPem } from '../src/sim/controller/csr-der.js';
import { formatGoDuration, parseGoDuration, splitWords } from '../src/sim/controller/commands.js';
import { ValidationError } from '../src/shared/errors.js';

// dist/test/… → the sources' fixtures
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/cluster');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');

describe('names and commands', () => {
  test('DNS-1123 subdomains', () => {
    for (const ok of ['master-0', 'worker-0.lab.example.com', 'a', '0', 'csr-7vmxb', 'x'.repeat(63) + '.' + 'y'.repeat(63)]) {
      assert.ok(isDns1123Subdomain(ok), ok);
    }
    for (const bad of ['', 'Master-0', '-a', 'a-', 'a..b', '.a', 'a b', 'master-0;reboot', '$(id)', '`id`', 'a/b', 'a_b', 'x'.repeat(254), 'ä']) {
      assert.ok(!isDns1123Subdomain(bad), bad);
    }
    assert.ok(!isDns1123Subdomain(42));
  });

  test('validateObjectNames names every bad entry and de-duplicates good ones', () => {
    assert.deepEqual(validateObjectNames(['a', 'b', 'a'], 'nodes'), ['a', 'b']);
    assert.throws(
      () => validateObjectNames(['ok', 'master-0;reboot', '$(id)'], 'nodes'),
      (err: unknown) => err instanceof ValidationError && err.issues.map((i) => i.path).join() === 'nodes[1],nodes[2]',
    );
    assert.throws(() => validateObjectNames('master-0', 'nodes'), ValidationError);
  });

  test('Go durations rendered from whole seconds', () => {
    assert.deepEqual([60, 1200, 5, 90, 3600, 7200, 0, 86400].map(goDuration), ['1m', '20m', '5s', '90s', '1h', '2h', '0s', '24h']);
    assert.throws(() => goDuration(1.5), /invalid duration 1\.5/);
  });

  test('safeCommand only joins shell-inert tokens', () => {
    assert.equal(safeCommand(['oc', 'adm', 'cordon', 'node/master-0'], 'v').line, 'oc adm cordon node/master-0');
    for (const bad of ['a;b', '$(id)', 'a b', "'", '"', '`', '|', '&', '>', '\n', '']) {
      assert.throws(() => safeCommand(['oc', bad], 'v'), ValidationError, JSON.stringify(bad));
    }
  });

  test('controller shutdown command forms', () => {
    assert.equal(controllerShutdownCommand(undefined).line, 'sudo shutdown -h now');
    for (const ok of ['sudo poweroff', 'sudo -n /usr/sbin/shutdown -h +1', 'sudo systemctl poweroff', 'shutdown -P now']) {
      assert.equal(controllerShutdownCommand(ok).line, ok);
    }
    for (const bad of ['rm -rf /', 'sudo shutdown -h now; id', 'sudo reboot', 'sudo shutdown -r now', 'sudo bash -c poweroff']) {
      assert.throws(() => controllerShutdownCommand(bad), ValidationError, bad);
    }
  });
});

describe('known_hosts and fingerprints', () => {
  const blob = randomBytes(51);
  const other = randomBytes(51);
  const b64 = (b: Buffer) => b.toString('base64');

  test('fingerprint format is ssh-keygen -lf (unpadded base64 of SHA-256)', () => {
    const fp = sha256Fingerprint(blob);
    assert.equal(fp, `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`);
    assert.equal(normalizeFingerprint(`${fp}=`), fp);
    assert.equal(normalizeFingerprint(` ${fp} `), fp);
    assert.equal(normalizeFingerprint('MD5:aa:bb'), undefined);
    assert.equal(normalizeFingerprint('SHA256:short'), undefined);
  });

  test('host patterns: lists, wildcards, negation, [host]:port, hashed', () => {
    assert.equal(knownHostsName('10.0.0.5', 22), '10.0.0.5');
    assert.equal(knownHostsName('10.0.0.5', 2222), '[10.0.0.5]:2222');
    assert.ok(hostPatternsMatch('ctl,10.0.0.5', '10.0.0.5'));
    assert.ok(hostPatternsMatch('10.0.0.*', '10.0.0.5'));
    assert.ok(hostPatternsMatch('ctl?.lab', 'ctl1.lab'));
    assert.ok(!hostPatternsMatch('10.0.0.*,!10.0.0.5', '10.0.0.5'));
    assert.ok(!hostPatternsMatch('10.0.0.5', '[10.0.0.5]:2222'));
    assert.ok(hostPatternsMatch('[10.0.0.5]:2222', '[10.0.0.5]:2222'));
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.5]:2222').digest();
    const hashed = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
    assert.ok(hostPatternsMatch(hashed, '[10.0.0.5]:2222'));
    assert.ok(!hostPatternsMatch(hashed, '10.0.0.5'));
  });

  test('checkHostKey: match, mismatch, unknown, revoked; cert-authority lines ignored', () => {
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        `ctl ssh-ed25519 ${b64(blob)} me@laptop`,
        `@cert-authority * ssh-ed25519 ${b64(other)}`,
        `garbage-line`,
        `old ssh-ed25519 ${b64(other)}`,
        `@revoked old ssh-ed25519 ${b64(other)}`,
      ].join('\n'),
    );
    assert.equal(entries.length, 4);
    assert.equal(checkHostKey(entries, 'ctl', 22, blob).status, 'match');
    assert.deepEqual(checkHostKey(entries, 'ctl', 22, other), { status: 'mismatch', knownTypes: ['ssh-ed25519'] });
    assert.equal(checkHostKey(entries, 'nobody', 22, blob).status, 'unknown');
    assert.equal(checkHostKey(entries, 'old', 22, other).status, 'revoked');
    assert.equal(checkHostKey(entries, 'ctl', 2222, blob).status, 'unknown');
  });
});

describe('CSR approval rule', () => {
  const ours = new Set(['master-0', 'master-1', 'worker-0.lab.example.com']);
  const req = (cn: string, o = ['system:nodes']) => Buffer.from(buildCsrPem({ commonName: cn, organization: o })).toString('base64');
  const csr = (over: Partial<CsrObject['spec']> & { cn?: string; o?: string[]; status?: CsrObject['status'] } = {}): CsrObject => ({
    metadata: { name: 'csr-x' },
    spec: {
      request: req(over.cn ?? 'system:node:master-0', over.o),
      signerName: over.signerName ?? 'kubernetes.io/kubelet-serving',
      username: over.username ?? 'system:node:master-0',
      groups: over.groups ?? ['system:nodes', 'system:authenticated'],
      usages: over.usages ?? ['digital signature', 'server auth'],
    },
    status: over.status ?? {},
  });
  const bootstrap = {
    signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
    username: 'system:serviceaccount:openshift-machine-config-operator:node-bootstrapper',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:openshift-machine-config-operator', 'system:authenticated'],
    usages: ['digital signature', 'key encipherment', 'client auth'],
  };

  test('parses the subject of openssl-made requests', () => {
    assert.deepEqual(parseCsrSubject(fixture('kubelet-serving-master-0.csr')), {
      commonName: ['system:node:master-0.lab.example.com'],
      organization: ['system:nodes'],
    });
    assert.deepEqual(parseCsrSubject(Buffer.from(fixture('admin.csr')).toString('base64')), {
      commonName: ['system:admin'],
      organization: ['system:masters'],
    });
    assert.throws(() => parseCsrSubject('bm90IGEgY3Ny'), /not a PEM certificate request/);
  });

  test('approves the three kubelet flows of our nodes', () => {
    assert.deepEqual(judgeCsr(csr(), ours), { approve: true, node: 'master-0', kind: 'kubelet-serving' });
    assert.deepEqual(judgeCsr(csr({ signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] }), ours), {
      approve: true,
      node: 'master-0',
      kind: 'kubelet-client',
    });
    assert.deepEqual(judgeCsr(csr({ ...bootstrap, cn: 'system:node:master-1' }), ours), {
      approve: true,
      node: 'master-1',
      kind: 'kubelet-client-bootstrap',
    });
    const fixtureCsr: CsrObject = {
      metadata: { name: 'csr-fixture' },
      spec: {
        request: Buffer.from(fixture('kubelet-serving-master-0.csr')).toString('base64'),
        signerName: 'kubernetes.io/kubelet-serving',
        username: 'system:node:worker-0.lab.example.com',
        groups: ['system:nodes', 'system:authenticated'],
        usages: ['digital signature', 'key encipherment', 'server auth'],
      },
    };
    // CN of the openssl request names master-0.lab.example.com, the requester another node: refused.
    assert.equal(judgeCsr(fixtureCsr, new Set(['master-0.lab.example.com', 'worker-0.lab.example.com'])).approve, false);
  });

  test('refuses everything else', () => {
    const cases: [string, CsrObject, Set<string>?][] = [
      ['approved', csr({ status: { conditions: [{ type: 'Approved', status: 'True' }] } })],
      ['denied', csr({ status: { conditions: [{ type: 'Denied', status: 'True' }] } })],
      ['failed', csr({ status: { conditions: [{ type: 'Failed', status: 'True' }] } })],
      ['not our node', csr({ cn: 'system:node:evil', username: 'system:node:evil' })],
      ['not our node (set)', csr(), new Set(['master-1'])],
      ['CN/username mismatch', csr({ cn: 'system:node:master-1' })],
      ['O system:masters', csr({ o: ['system:masters'] })],
      ['extra O', csr({ o: ['system:nodes', 'system:masters'] })],
      ['no O', csr({ o: [] })],
      ['CN not a node', csr({ cn: 'system:admin', username: 'system:admin' })],
      ['groups lack system:nodes', csr({ groups: ['system:authenticated'] })],
      ['other user', csr({ username: 'kube:admin' })],
      ['other signer', csr({ signerName: 'kubernetes.io/kube-apiserver-client' })],
      ['no signer', csr({ signerName: '' })],
      ['serving with client auth', csr({ usages: ['digital signature', 'server auth', 'client auth'] })],
      ['serving without server auth', csr({ usages: ['digital signature'] })],
      ['client with server auth', csr({ ...bootstrap, usages: ['client auth', 'server auth'] })],
      ['bootstrapper asking for serving', csr({ ...bootstrap, signerName: 'kubernetes.io/kubelet-serving', usages: ['server auth'] })],
      ['bootstrapper without its group', csr({ ...bootstrap, groups: ['system:authenticated'] })],
      ['unparsable request', { ...csr(), spec: { ...csr().spec, request: 'Zm9v' } }],
    ];
    for (const [label, c, nodes] of cases) {
      assert.equal(judgeCsr(c, nodes ?? ours).approve, false, label);
    }
  });
});

describe('oc output and failures', () => {
  test('parseNodeList reads Ready, cordon and roles from a real NodeList', () => {
    assert.deepEqual(parseNodeList(JSON.parse(fixture('nodes.json'))), [
      { name: 'master-0', ready: true, readyReason: 'KubeletReady', unschedulable: true, roles: ['control-plane', 'master', 'worker'] },
      { name: 'worker-0.lab.example.com', ready: false, readyReason: 'NodeStatusUnknown', unschedulable: false, roles: ['worker'] },
    ]);
    assert.throws(
      () => parseNodeList({ kind: 'Status' }),
      (err: unknown) => err instanceof OcOutputError && /node list has no items/.test(err.message),
    );
  });

  test('ocFailure classifies stderr', () => {
    const cmd = safeCommand(['oc', 'get', 'nodes'], 'oc get nodes');
    const fail = (stderr: string, exitCode = 1) => ocFailure(cmd, { exitCode, stdout: '', stderr });
    assert.ok(fail('The connection to the server api.x:6443 was refused - did you specify the right host or port?') instanceof ClusterApiUnavailableError);
    assert.ok(fail('Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout') instanceof ClusterApiUnavailableError);
    const notFound = fail('Error from server (NotFound): nodes "x" not found') as RemoteCommandError;
    assert.equal(notFound.retryable, false);
    assert.equal((fail('error: unknown flag: --foo') as RemoteCommandError).retryable, false);
    assert.equal((fail('bash: line 1: oc: command not found', 127) as RemoteCommandError).retryable, false);
    assert.equal((fail('Error from server (InternalError): etcdserver: request timed out') as RemoteCommandError).retryable, true);
  });

  test('errors cross the activity boundary typed, retryability kept, details secret-free', () => {
    const cmd = safeCommand(['oc', 'get', 'nodes'], 'oc get nodes');
    const err = ocFailure(cmd, { exitCode: 1, stdout: 'x'.repeat(10_000), stderr: `${'y'.repeat(5000)}\nError from server (Forbidden): nodes is forbidden` });
    const failure = toApplicationFailure(err);
    assert.equal(failure.type, 'RemoteCommandError');
    assert.equal(failure.nonRetryable, true);
    const details = failure.details?.[0] as { verb: string; exitCode: number; stderrTail: string };
    assert.equal(details.verb, 'oc get nodes');
    assert.equal(details.exitCode, 1);
    assert.ok(details.stderrTail.length <= 2001);
    assert.match(details.stderrTail, /Forbidden/);
  });
});

describe('simulator helpers', () => {
  test('Go durations, both ways', () => {
    assert.deepEqual(['60s', '20m', '1h30m', '1.5h', '0', '500ms'].map(parseGoDuration), [60, 1200, 5400, 5400, 0, 0.5]);
    assert.equal(parseGoDuration('20'), undefined);
    assert.equal(parseGoDuration('1x'), undefined);
    assert.deepEqual([0, 45, 60, 90, 3600, 3725].map(formatGoDuration), ['0s', '45s', '1m0s', '1m30s', '1h0m0s', '1h2m5s']);
  });

  test('splitWords refuses shell syntax instead of interpreting it', () => {
    assert.deepEqual(splitWords(`oc get clusterversion version -o jsonpath='{.metadata.creationTimestamp}'`), [
      'oc',
      'get',
      'clusterversion',
      'version',
      '-o',
      'jsonpath={.metadata.creationTimestamp}',
    ]);
    for (const bad of ['oc adm cordon master-0;reboot', 'oc $(id)', 'a | b', 'a && b', 'echo `id`', "echo 'open"]) {
      assert.equal(splitWords(bad), undefined, bad);
    }
  });
});
