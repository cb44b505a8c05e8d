/**
 * The simulated controller answers like the real `oc`/kubectl (messages, exit codes, JSON shapes)
 * and like a host: bash's "command not found", stalled commands, dropped sessions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CommandTimeoutError, SshConnector, SshSessionDroppedError, type CommandSession, type SafeCommand } from '../src/cluster/index.js';
import { parseScenario } from '../src/sim/scenario.js';
import { startControllerSimulator, type ControllerSimulator } from '../src/sim/controller/index.js';
import { FakeCompute, MASTER_UUIDS, threeMasterScenario } from './fixtures/cluster/helpers.js';
import { waitFor } from './helpers/wait.js';

const raw = (line: string): SafeCommand => ({ line, verb: 'test' });

describe('simulated oc', () => {
  let sim: ControllerSimulator;
  let session: CommandSession;
  const run = (line: string) => session.run(raw(line), { allowNonZeroExit: true });

  before(async () => {
    const scenario = threeMasterScenario({ clusterCreatedAt: '2026-11-19T20:00:00Z' });
    sim = await startControllerSimulator(scenario, new FakeCompute(scenario));
    session = await new SshConnector().connect(sim.target());
  });
  after(async () => {
    session?.close();
    await sim?.close();
  });

  test('controller: {} is a complete scenario', () => {
    const s = parseScenario({ instances: {}, controller: {} });
    assert.equal(s.controller.user, 'cloud-user');
    assert.equal(s.controller.stability.neverStable, false);
    assert.equal(s.controller.faults.dropSessions, 0);
    assert.deepEqual(s.controller.csrs, []);
  });

  test('cordon / uncordon print kubectl messages, both argument forms', async () => {
    assert.deepEqual(await run('oc adm cordon node/master-0'), { exitCode: 0, stdout: 'node/master-0 cordoned\n', stderr: '' });
    assert.equal((await run('oc adm cordon master-0')).stdout, 'node/master-0 already cordoned\n');
    assert.equal((await run('oc adm uncordon node/master-0')).stdout, 'node/master-0 uncordoned\n');
    assert.equal((await run('oc adm uncordon node/master-0')).stdout, 'node/master-0 already uncordoned\n');
    const missing = await run('oc adm cordon node/nope');
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): nodes "nope" not found\n');
  });

  test('get nodes -o json is a List of Nodes; cordoned nodes carry the unschedulable taint', async () => {
    await run('oc adm cordon node/master-1');
    const list = JSON.parse((await run('oc get nodes -o json')).stdout);
    assert.equal(list.kind, 'List');
    const m1 = list.items.find((n: { metadata: { name: string } }) => n.metadata.name === 'master-1');
    assert.equal(m1.kind, 'Node');
    assert.equal(m1.spec.unschedulable, true);
    assert.deepEqual(
      m1.spec.taints.map((t: { key: string }) => t.key),
      ['node.kubernetes.io/unschedulable'],
    );
    assert.equal(m1.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
    await run('oc adm uncordon node/master-1');
  });

  test('clusterversion creation time, as JSON and as jsonpath', async () => {
    const cv = JSON.parse((await run('oc get clusterversion version -o json')).stdout);
    assert.equal(cv.kind, 'ClusterVersion');
    assert.equal(cv.metadata.creationTimestamp, '2026-11-19T20:00:00Z');
    const jp = await run("oc get clusterversion version -o jsonpath='{.metadata.creationTimestamp}'");
    assert.equal(jp.stdout, '2026-11-19T20:00:00Z');
  });

  test('api-versions lists route.openshift.io/v1, sorted', async () => {
    const lines = (await run('oc api-versions')).stdout.trim().split('\n');
    assert.ok(lines.includes('route.openshift.io/v1'));
    assert.deepEqual(lines, [...lines].sort());
  });

  test('wait-for-stable-cluster validates its flags like oc', async () => {
    const r = await run('oc adm wait-for-stable-cluster --minimum-stable-period=60s --timeout=60s');
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'error: --timeout must be greater than the --minimum-stable-period\n');
    const bad = await run('oc adm wait-for-stable-cluster --bogus');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /^error: unknown flag: --bogus/);
  });

  test('certificate approve of an unknown CSR', async () => {
    const r = await run('oc adm certificate approve csr-nope');
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'Error from server (NotFound): certificatesigningrequests.certificates.k8s.io "csr-nope" not found\n');
  });

  test('not a shell: unknown programs and shell syntax', async () => {
    const r = await run('reboot');
    assert.deepEqual([r.exitCode, r.stderr], [127, 'bash: line 1: reboot: command not found\n']);
    const injected = await run('oc adm cordon node/master-0;reboot');
    assert.equal(injected.exitCode, 2);
    assert.ok(sim.nodes().every((n) => !n.unschedulable));
  });

  test("a stalled command trips the runner's command timeout; a dropped session is reported as such", async () => {
    await sim.setFaults({ stallCommands: 1 });
    await assert.rejects(session.run(raw('oc get nodes -o json'), { timeoutMs: 200 }), CommandTimeoutError);
    await sim.setFaults({ dropSessions: 1 });
    const s2 = await new SshConnector().connect(sim.target());
    await assert.rejects(s2.run(raw('oc api-versions')), SshSessionDroppedError);
    s2.close();
    assert.equal(sim.faults().dropSessions, 0);
  });
});

describe('simulated oc after a node restarts', () => {
  test('one node rebooted while the others run: the API stays up, that node alone is NotReady until its CSRs are approved', async () => {
    const scenario = threeMasterScenario({
      restart: { clientCsrKind: 'kubelet-client', nodeBootSeconds: 0, servingCsrAfterSeconds: 0, readyAfterApprovalSeconds: 0 },
    });
    const compute = new FakeCompute(scenario);
    const sim = await startControllerSimulator(scenario, compute);
    const session = await new SshConnector().connect(sim.target());
    const run = (line: string) => session.run(raw(line), { allowNonZeroExit: true });
    try {
      assert.equal((await run('oc debug node/master-1 -- chroot /host shutdown -h +1')).exitCode, 0);
      await waitFor('master-1 SHUTOFF', () => compute.serverStatus(MASTER_UUIDS[1]!) === 'SHUTOFF', { intervalMs: 5 });
      assert.equal(sim.nodes()[1]!.poweredOff, true);
      compute.powerOn(MASTER_UUIDS[1]!);
      assert.equal((await run('oc api-versions')).exitCode, 0); // not a cold start: two masters kept the API up
      assert.deepEqual(
        sim.nodes().map((n) => [n.name, n.ready]),
        [
          ['master-0', true],
          ['master-1', false],
          ['master-2', true],
        ],
      );
      const csrs = JSON.parse((await run('oc get csr -o json')).stdout).items as {
        metadata: { name: string };
        spec: { username: string; signerName: string; usages: string[] };
      }[];
      assert.equal(csrs.length, 1);
      assert.deepEqual(
        [csrs[0]!.spec.username, csrs[0]!.spec.signerName, csrs[0]!.spec.usages],
        ['system:node:master-1', 'kubernetes.io/kube-apiserver-client-kubelet', ['digital signature', 'client auth']],
      );
      const client = csrs[0]!.metadata.name;
      assert.equal((await run(`oc adm certificate approve ${client}`)).stdout, `certificatesigningrequest.certificates.k8s.io/${client} approved\n`);
      const serving = sim.csrs().filter((c) => c.name !== client);
      assert.deepEqual(
        serving.map((c) => [c.node, c.signerName, c.state]),
        [['master-1', 'kubernetes.io/kubelet-serving', 'Pending']],
      );
      assert.equal(sim.nodes()[1]!.ready, false);
      await run(`oc adm certificate approve ${serving[0]!.name}`);
      assert.equal(sim.nodes()[1]!.ready, true);
      // The node's shutdown schedule went with the old boot: a new one is accepted.
      assert.equal((await run('oc debug node/master-1 -- chroot /host shutdown -h +1')).exitCode, 0);
      assert.equal(compute.shutdowns.length, 2);
    } finally {
      session.close();
      await sim.close();
    }
  });
});
