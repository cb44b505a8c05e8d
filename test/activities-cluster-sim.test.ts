/**
 * Cluster activities through MockActivityEnvironment against the simulated controller over real
 * SSH: every operation and fault, with the failure mapping the worker applies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createClusterActivities } from '../src/activities/cluster.js';
import { withFailureMapping } from '../src/activities/failures.js';
import { SshConnector } from '../src/cluster/index.js';
import { startControllerSimulator, type ControllerSimulator } from '../src/sim/controller/index.js';
import type { ScenarioInput } from '../src/sim/scenario.js';
import { activityError, CONTROLLER_UUID, FakeCompute, MASTER_UUIDS, mockEnv, runActivity, threeMasterScenario } from './fixtures/cluster/helpers.js';
import { waitFor } from './helpers/wait.js';

function activities(connectTimeoutMs = 5000) {
  return withFailureMapping(createClusterActivities({ ssh: new SshConnector({ connectTimeoutMs }), clusterPollIntervalMs: 10 }));
}

async function withSim(controller: ScenarioInput['controller'], fn: (sim: ControllerSimulator, compute: FakeCompute) => Promise<void>): Promise<void> {
  const scenario = threeMasterScenario(controller);
  const compute = new FakeCompute(scenario);
  const sim = await startControllerSimulator(scenario, compute);
  try {
    await fn(sim, compute);
  } finally {
    await sim.close();
  }
}

function assertFailure(err: unknown, type: string, nonRetryable: boolean): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
  assert.equal(err.type, type, err.message);
  assert.equal(err.nonRetryable, nonRetryable, `${type} nonRetryable`);
  return err;
}

describe('cluster activities against the simulated controller', () => {
  let sim: ControllerSimulator;
  let compute: FakeCompute;
  const acts = activities();

  before(async () => {
    const scenario = threeMasterScenario({ clusterCreatedAt: '2026-11-19T08:30:00Z', nodes: { 'master-2': { unschedulable: true } } });
    compute = new FakeCompute(scenario);
    sim = await startControllerSimulator(scenario, compute);
  });
  after(async () => {
    await sim.close();
  });

  test('listNodes reports Ready, cordon state and roles', async () => {
    const { result } = await runActivity(acts.listNodes, { controller: sim.target() });
    assert.deepEqual(
      result.nodes.map((n) => [n.name, n.ready, n.unschedulable, n.roles.join(',')]),
      [
        ['master-0', true, false, 'control-plane,master'],
        ['master-1', true, false, 'control-plane,master'],
        ['master-2', true, true, 'control-plane,master'],
      ],
    );
  });

  test('getClusterCreationTime reads clusterversion/version', async () => {
    const { result } = await runActivity(acts.getClusterCreationTime, { controller: sim.target() });
    assert.deepEqual(result, { createdAt: '2026-11-19T08:30:00.000Z' });
  });

  test('uncordon then cordon all nodes, idempotently', async () => {
    const up = await runActivity(acts.uncordonNodes, { controller: sim.target() });
    assert.deepEqual(up.result, { changed: ['master-2'], unchanged: ['master-0', 'master-1'] });
    const down = await runActivity(acts.cordonNodes, { controller: sim.target() });
    assert.deepEqual(down.result.changed, ['master-0', 'master-1', 'master-2']);
    const again = await runActivity(acts.cordonNodes, { controller: sim.target() });
    assert.deepEqual(again.result, { changed: [], unchanged: ['master-0', 'master-1', 'master-2'] });
    assert.ok(sim.nodes().every((n) => n.unschedulable));
    const one = await runActivity(acts.uncordonNodes, { controller: sim.target(), nodes: ['master-1'] });
    assert.deepEqual(one.result, { changed: ['master-1'], unchanged: [] });
    assert.deepEqual(
      sim.nodes().map((n) => n.unschedulable),
      [true, false, true],
    );
    // the real command forms were sent
    const sent = sim.commands().map((c) => c.command);
    assert.ok(sent.includes('oc adm uncordon node/master-2'));
    assert.ok(sent.includes('oc adm cordon node/master-0'));
    assert.ok(sent.includes('oc get nodes -o json'));
  });

  test('a node that is not in the cluster is a non-retryable NodeNotFoundError', async () => {
    const err = await activityError(acts.cordonNodes, { controller: sim.target(), nodes: ['master-0', 'master-9'] });
    const f = assertFailure(err, 'NodeNotFoundError', true);
    assert.match(f.message, /master-9/);
  });

  for (const bad of ['master-0;reboot', '$(id)', 'master 0', "m'x", 'Master-0', '`id`', '-rf', 'a'.repeat(254), '']) {
    test(`invalid node name ${JSON.stringify(bad.slice(0, 20))} is refused before anything is sent`, async () => {
      const commandsBefore = sim.commands().length;
      const connectionsBefore = sim.connectionCount();
      for (const fn of [acts.cordonNodes, acts.uncordonNodes, acts.shutdownNodes, acts.approveNodeCsrs] as const) {
        const err = await activityError(fn as (i: unknown) => Promise<unknown>, {
          controller: sim.target(),
          nodes: ['master-1', bad],
        });
        assertFailure(err, 'ValidationError', true);
      }
      const err = await activityError(acts.waitNodesReady, { controller: sim.target(), nodes: [bad], timeoutSeconds: 5 });
      assertFailure(err, 'ValidationError', true);
      assert.equal(sim.commands().length, commandsBefore, 'no command reached the controller');
      assert.equal(sim.connectionCount(), connectionsBefore, 'no connection was even opened');
    });
  }

  test('bad durations and controller targets are refused before anything is sent', async () => {
    const before = sim.connectionCount();
    assertFailure(
      await activityError(acts.waitClusterStable, { controller: sim.target(), minimumStablePeriodSeconds: 60, timeoutSeconds: 60 }),
      'ValidationError',
      true,
    );
    assertFailure(
      await activityError(acts.waitClusterStable, { controller: sim.target(), minimumStablePeriodSeconds: 1.5, timeoutSeconds: 60 }),
      'ValidationError',
      true,
    );
    assertFailure(await activityError(acts.listNodes, { controller: { ...sim.target(), port: 70000 } }), 'ValidationError', true);
    assertFailure(
      await activityError(acts.shutdownController, { controller: sim.target(), command: 'sudo shutdown -h now; rm -rf /' }),
      'ValidationError',
      true,
    );
    assertFailure(await activityError(acts.shutdownNodes, { controller: sim.target(), nodes: ['master-0'], maxParallel: 0 }), 'ValidationError', true);
    assert.equal(sim.connectionCount(), before);
  });

  test('waitClusterStable succeeds on a stable cluster and heartbeats oc progress', async () => {
    const { result, heartbeats } = await runActivity(acts.waitClusterStable, {
      controller: sim.target(),
      minimumStablePeriodSeconds: 60,
      timeoutSeconds: 1200,
    });
    assert.equal(result.stable, true);
    assert.match(result.outputTail, /All clusteroperators are stable/);
    assert.ok(
      heartbeats.some((h) => /All clusteroperators/.test(String((h as { lastLine?: string }).lastLine))),
      'a heartbeat carries an oc progress line',
    );
    assert.ok(sim.commands().some((c) => c.command === 'oc adm wait-for-stable-cluster --minimum-stable-period=1m --timeout=20m'));
  });

  test('waitRouteApi finds route.openshift.io at once on a healthy cluster', async () => {
    const { result } = await runActivity(acts.waitRouteApi, { controller: sim.target(), timeoutSeconds: 120 });
    assert.equal(result.available, true);
    assert.equal(result.attempts, 1);
  });

  test('the SSH runner reaches the simulator through its known_hosts file too', async () => {
    const { hostKeyFingerprint: _pin, ...target } = sim.target();
    const { result } = await runActivity(acts.listNodes, { controller: { ...target, knownHostsFile: sim.knownHostsFile } });
    assert.equal(result.nodes.length, 3);
  });

  test('a wrong pinned host key is a non-retryable HostKeyVerificationError', async () => {
    const commandsBefore = sim.commands().length;
    const err = await activityError(acts.listNodes, {
      controller: { ...sim.target(), hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) },
    });
    const f = assertFailure(err, 'HostKeyVerificationError', true);
    assert.match(f.message, /does not match the pinned fingerprint/);
    assert.equal(sim.commands().length, commandsBefore);
  });

  test('no known_hosts entry and no pin is refused (unless explicitly insecure)', async () => {
    const { hostKeyFingerprint: _pin, ...target } = sim.target();
    const emptyKnownHosts = `${sim.stateDir}/empty_known_hosts`;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(emptyKnownHosts, '');
    const err = await activityError(acts.listNodes, { controller: { ...target, knownHostsFile: emptyKnownHosts } });
    assertFailure(err, 'HostKeyVerificationError', true);
    const { result } = await runActivity(acts.listNodes, {
      controller: { ...target, knownHostsFile: emptyKnownHosts, insecureIgnoreHostKey: true },
    });
    assert.equal(result.nodes.length, 3);
  });

  test('an unknown client key is a non-retryable SshAuthenticationError', async () => {
    const { utils } = (await import('ssh2')).default;
    const { writeFile } = await import('node:fs/promises');
    let other = utils.generateKeyPairSync('ed25519');
    while (utils.parseKey(other.private) instanceof Error) other = utils.generateKeyPairSync('ed25519'); // mscdex/ssh2#1390
    const keyFile = `${sim.stateDir}/other_key`;
    await writeFile(keyFile, other.private, { mode: 0o600 });
    const err = await activityError(acts.listNodes, { controller: { ...sim.target(), privateKeyFile: keyFile } });
    const f = assertFailure(err, 'SshAuthenticationError', true);
    assert.doesNotMatch(JSON.stringify(f.details), /PRIVATE KEY/);
    const wrongUser = await activityError(acts.listNodes, { controller: { ...sim.target(), user: 'root' } });
    assertFailure(wrongUser, 'SshAuthenticationError', true);
  });

  test('a missing key file is a non-retryable ConfigError', async () => {
    const err = await activityError(acts.listNodes, { controller: { ...sim.target(), privateKeyFile: '~/does/not/exist' } });
    assertFailure(err, 'ConfigError', true);
  });
});

describe('stability faults', () => {
  test('a flapping cluster is waited out; the flaps show in the heartbeats', async () => {
    await withSim({ stability: { flaps: 2, flapSeconds: 20 } }, async (sim) => {
      const { result, heartbeats } = await runActivity(activities().waitClusterStable, {
        controller: sim.target(),
        minimumStablePeriodSeconds: 60,
        timeoutSeconds: 1200,
      });
      assert.equal(result.stable, true);
      const lines = heartbeats.map((h) => String((h as { lastLine?: string }).lastLine ?? ''));
      assert.ok(
        lines.some((l) => /clusteroperators\/kube-apiserver (is|became) progressing/.test(l)),
        lines.join('\n'),
      );
    });
  });

  test('a cluster that is unstable at first becomes stable', async () => {
    await withSim({ stability: { neverStable: true, operator: 'etcd' } }, async (sim) => {
      const env = mockEnv();
      const lines: string[] = [];
      env.on('heartbeat', (h: { lastLine?: string }) => {
        if (h.lastLine) lines.push(h.lastLine);
        // Once oc has reported the unstable operator, let it settle.
        if (/clusteroperators\/etcd is progressing/.test(h.lastLine ?? '')) sim.setStability({ neverStable: false });
      });
      const result: { stable: boolean; outputTail: string } = await env.run(activities().waitClusterStable, {
        controller: sim.target(),
        minimumStablePeriodSeconds: 5,
        timeoutSeconds: 600,
      });
      assert.equal(result.stable, true);
      assert.ok(
        lines.some((l) => /clusteroperators\/etcd is progressing at /.test(l)),
        lines.join('\n'),
      );
      assert.match(result.outputTail, /clusteroperators\/etcd stabilized at .* after|All clusteroperators are stable/);
    });
  });

  test('a cluster that never stabilises fails with a retryable ClusterNotStableError', async () => {
    await withSim({ stability: { neverStable: true } }, async (sim) => {
      const err = await activityError(activities().waitClusterStable, {
        controller: sim.target(),
        minimumStablePeriodSeconds: 60,
        timeoutSeconds: 300,
      });
      const f = assertFailure(err, 'ClusterNotStableError', false);
      assert.match(JSON.stringify(f.details), /context deadline exceeded/);
    });
  });
});

describe('node and controller shutdown', () => {
  test('shutdownNodes shuts every node down from inside; Nova turns them SHUTOFF after the delay', async () => {
    await withSim({ nodes: { 'master-2': { shutdownDelaySeconds: 120 } } }, async (sim, compute) => {
      const acts = activities();
      const { result, heartbeats } = await runActivity(acts.shutdownNodes, {
        controller: sim.target(),
        nodes: ['master-0', 'master-1', 'master-2'],
        maxParallel: 2,
      });
      assert.deepEqual([...result.scheduled].sort(), ['master-0', 'master-1', 'master-2']);
      assert.deepEqual(result.skipped, []);
      assert.ok(heartbeats.length > 0);
      assert.deepEqual(
        compute.shutdowns.map((s) => [s.uuid, s.delayMs]).sort(),
        [
          [MASTER_UUIDS[0], 60],
          [MASTER_UUIDS[1], 60],
          [MASTER_UUIDS[2], 120],
        ].sort(),
      );
      assert.equal(sim.commands().filter((c) => /^oc debug node\/master-\d -- chroot \/host shutdown -h \+1$/.test(c.command)).length, 3);
      await waitFor('every node powered off', () => sim.nodes().every((n) => n.poweredOff));
      assert.ok([...compute.status.entries()].filter(([u]) => MASTER_UUIDS.includes(u)).every(([, s]) => s === 'SHUTOFF'));
      // With every master off the API is gone: a retry cannot list nodes and says so (retryable).
      const err = await activityError(acts.shutdownNodes, { controller: sim.target(), nodes: ['master-0'] });
      assertFailure(err, 'ClusterApiUnavailableError', false);
      // … unless the caller accepts that as "already down".
      const again = await runActivity(acts.shutdownNodes, {
        controller: sim.target(),
        nodes: ['master-0', 'master-1'],
        assumeDownIfApiUnavailable: true,
      });
      assert.deepEqual(again.result.scheduled, []);
      assert.deepEqual(
        again.result.skipped.map((s) => s.node),
        ['master-0', 'master-1'],
      );
    });
  });

  test('a retried shutdownNodes skips nodes that are already down', async () => {
    await withSim({}, async (sim) => {
      const acts = activities();
      await runActivity(acts.shutdownNodes, { controller: sim.target(), nodes: ['master-2'] });
      await waitFor('master-2 powered off', () => sim.nodes().find((n) => n.name === 'master-2')?.poweredOff);
      const debugsBefore = sim.commands().filter((c) => c.command.startsWith('oc debug')).length;
      const { result } = await runActivity(acts.shutdownNodes, { controller: sim.target(), nodes: ['master-2'] });
      assert.deepEqual(result.scheduled, []);
      assert.equal(result.skipped[0]?.node, 'master-2');
      assert.equal(sim.commands().filter((c) => c.command.startsWith('oc debug')).length, debugsBefore);
    });
  });

  test('a node whose shutdown fails gives a retryable NodeShutdownError; the others are scheduled', async () => {
    await withSim({ nodes: { 'master-1': { shutdownFails: true } } }, async (sim, compute) => {
      const err = await activityError(activities().shutdownNodes, {
        controller: sim.target(),
        nodes: ['master-0', 'master-1', 'master-2'],
      });
      const f = assertFailure(err, 'NodeShutdownError', false);
      const details = f.details?.[0] as { failures: { node: string; exitCode: number }[]; scheduled: string[] };
      assert.deepEqual(
        details.failures.map((x) => [x.node, x.exitCode]),
        [['master-1', 1]],
      );
      assert.deepEqual([...details.scheduled].sort(), ['master-0', 'master-2']);
      assert.deepEqual(compute.shutdowns.map((s) => s.uuid).sort(), [MASTER_UUIDS[0], MASTER_UUIDS[2]].sort());
    });
  });

  test('shutdownController: the dropped connection counts as success; the controller turns SHUTOFF', async () => {
    await withSim({}, async (sim, compute) => {
      const acts = activities(2000);
      const { result } = await runActivity(acts.shutdownController, { controller: sim.target() });
      assert.equal(result.outcome, 'connection-dropped');
      assert.equal(sim.commands().at(-1)?.command, 'sudo shutdown -h now');
      assert.equal(compute.shutdowns[0]?.uuid, CONTROLLER_UUID);
      await waitFor('the controller SHUTOFF', () => compute.serverStatus(CONTROLLER_UUID) === 'SHUTOFF');
      assert.ok(sim.controllerDown());
      // The host is gone: a plain retry cannot connect (retryable) …
      const err = await activityError(acts.shutdownController, { controller: sim.target() });
      assertFailure(err, 'SshConnectionError', false);
      // … and a retry that accepts an unreachable host reports it.
      const again = await runActivity(acts.shutdownController, { controller: sim.target(), acceptUnreachable: true });
      assert.equal(again.result.outcome, 'unreachable');
    });
  });

  test('shutdownController with a configured "+N" schedule exits 0', async () => {
    await withSim({}, async (sim) => {
      const { result } = await runActivity(activities().shutdownController, {
        controller: sim.target(),
        command: 'sudo -n /usr/sbin/shutdown -h +1',
      });
      assert.equal(result.outcome, 'exited');
    });
  });

  test('sudo asking for a password is a non-retryable ControllerShutdownError', async () => {
    await withSim({ sudoRequiresPassword: true }, async (sim, compute) => {
      const err = await activityError(activities().shutdownController, { controller: sim.target() });
      const f = assertFailure(err, 'ControllerShutdownError', true);
      assert.match(JSON.stringify(f.details), /password is required/);
      assert.deepEqual(compute.shutdowns, []);
    });
  });
});

describe('revive: route API, CSRs, nodes Ready', () => {
  test('waitRouteApi polls through a down API and a missing route group', async () => {
    await withSim({}, async (sim) => {
      sim.setApiAvailability({ apiDown: true, routeApiDown: true });
      const env = mockEnv();
      const lasts: Record<string, unknown>[] = [];
      env.on('heartbeat', (h: { attempt: number; last: Record<string, unknown> }) => {
        // The sleep between polls heartbeats too: count each poll round once.
        if (h.attempt <= lasts.length) return;
        lasts.push(h.last);
        // Round 1 saw a refused API; let the API up without routes; round 2 saw that; let routes up.
        if (lasts.length === 1) sim.setApiAvailability({ apiDown: false });
        if (lasts.length === 2) sim.setApiAvailability({ routeApiDown: false });
      });
      const result: { available: boolean; attempts: number } = await env.run(activities().waitRouteApi, {
        controller: sim.target(),
        timeoutSeconds: 30,
        pollIntervalSeconds: 0.01,
      });
      assert.equal(result.available, true);
      assert.equal(result.attempts, 3);
      assert.equal(lasts[0]?.error, 'ClusterApiUnavailableError');
      assert.deepEqual(lasts[1], { apiGroups: 24, route: false });
    });
  });

  test('waitRouteApi survives a dropped session while polling', async () => {
    await withSim({ routeApiAfterSeconds: 50, faults: { dropSessions: 1 } }, async (sim) => {
      const { result } = await runActivity(activities().waitRouteApi, {
        controller: sim.target(),
        timeoutSeconds: 30,
        pollIntervalSeconds: 0.01,
      });
      assert.equal(result.available, true);
      assert.ok(sim.connectionCount() >= 2, 'reconnected after the drop');
    });
  });

  test('waitRouteApi gives up with a retryable ClusterWaitTimeoutError', async () => {
    await withSim({ routeApiAfterSeconds: 1e7 }, async (sim) => {
      const err = await activityError(activities().waitRouteApi, {
        controller: sim.target(),
        timeoutSeconds: 1,
        pollIntervalSeconds: 0.05,
      });
      const f = assertFailure(err, 'ClusterWaitTimeoutError', false);
      assert.match(JSON.stringify(f.details), /route/);
    });
  });

  const csrs: NonNullable<ScenarioInput['controller']>['csrs'] = [
    // approved: the three kubelet flows of our nodes
    { name: 'csr-serving0', node: 'master-0', kind: 'kubelet-serving' },
    { name: 'csr-boot1', node: 'master-1', kind: 'kubelet-client-bootstrap', blocksReady: true },
    { name: 'csr-renew2', node: 'master-2', kind: 'kubelet-client' },
    // never approved
    { name: 'csr-foreign', node: 'worker-7', kind: 'kubelet-serving' },
    { name: 'csr-cn-mismatch', node: 'master-0', kind: 'kubelet-serving', commonName: 'system:node:master-1' },
    { name: 'csr-other-user', node: 'master-0', kind: 'kubelet-serving', username: 'system:serviceaccount:default:builder' },
    { name: 'csr-no-nodes-group', node: 'master-0', kind: 'kubelet-serving', groups: ['system:authenticated'] },
    { name: 'csr-masters-org', node: 'master-0', kind: 'kubelet-client', organization: ['system:masters'] },
    { name: 'csr-extra-org', node: 'master-0', kind: 'kubelet-client', organization: ['system:nodes', 'system:masters'] },
    { name: 'csr-apiserver-client', node: 'master-0', kind: 'kubelet-client', signerName: 'kubernetes.io/kube-apiserver-client' },
    { name: 'csr-serving-as-client', node: 'master-0', kind: 'kubelet-serving', usages: ['digital signature', 'server auth', 'client auth'] },
    {
      name: 'csr-bootstrapper-serving',
      node: 'master-0',
      kind: 'kubelet-serving',
      username: 'system:serviceaccount:openshift-machine-config-operator:node-bootstrapper',
      groups: ['system:serviceaccounts:openshift-machine-config-operator', 'system:authenticated'],
    },
    { name: 'csr-denied', node: 'master-0', kind: 'kubelet-serving', denied: true },
    { name: 'csr-done', node: 'master-0', kind: 'kubelet-serving', approved: true },
  ];

  test('approveNodeCsrs approves only pending kubelet CSRs of our nodes', async () => {
    await withSim({ csrs }, async (sim) => {
      const acts = activities();
      const { result } = await runActivity(acts.approveNodeCsrs, {
        controller: sim.target(),
        nodes: ['master-0', 'master-1', 'master-2'],
      });
      assert.deepEqual(
        result.approved.map((a) => [a.name, a.node, a.kind]),
        [
          ['csr-serving0', 'master-0', 'kubelet-serving'],
          ['csr-boot1', 'master-1', 'kubelet-client-bootstrap'],
          ['csr-renew2', 'master-2', 'kubelet-client'],
        ],
      );
      const approvedInSim = sim
        .csrs()
        .filter((c) => c.state === 'Approved')
        .map((c) => c.name)
        .sort();
      assert.deepEqual(approvedInSim, ['csr-boot1', 'csr-done', 'csr-renew2', 'csr-serving0']);
      assert.equal(result.ignored.length, 9); // the denied and the already approved ones are not pending
      const approveCommands = sim.commands().filter((c) => c.command.startsWith('oc adm certificate approve'));
      assert.deepEqual(
        approveCommands.map((c) => c.command),
        ['oc adm certificate approve csr-serving0', 'oc adm certificate approve csr-boot1', 'oc adm certificate approve csr-renew2'],
      );
      // idempotent: nothing left to approve
      const again = await runActivity(acts.approveNodeCsrs, { controller: sim.target(), nodes: ['master-0', 'master-1', 'master-2'] });
      assert.deepEqual(again.result.approved, []);
    });
  });

  test('waitNodesReady waits for late nodes and approves a blocking CSR when asked', async () => {
    await withSim(
      {
        nodes: { 'master-0': { readyAfterSeconds: 40 } },
        csrs: [{ name: 'csr-late', node: 'master-2', kind: 'kubelet-client-bootstrap', blocksReady: true, appearAfterSeconds: 20 }],
      },
      async (sim) => {
        const acts = activities();
        const { result } = await runActivity(acts.waitNodesReady, {
          controller: sim.target(),
          timeoutSeconds: 30,
          pollIntervalSeconds: 0.01,
          approveCsrs: true,
        });
        assert.deepEqual(result.ready, ['master-0', 'master-1', 'master-2']);
        assert.deepEqual(
          result.approvedCsrs.map((c) => c.name),
          ['csr-late'],
        );
      },
    );
  });

  test('waitNodesReady times out (retryable) on a node that never becomes Ready', async () => {
    await withSim({ nodes: { 'master-1': { neverReady: true } } }, async (sim) => {
      const err = await activityError(activities().waitNodesReady, {
        controller: sim.target(),
        nodes: ['master-0', 'master-1'],
        timeoutSeconds: 1,
        pollIntervalSeconds: 0.05,
      });
      const f = assertFailure(err, 'ClusterWaitTimeoutError', false);
      assert.match(JSON.stringify(f.details), /master-1/);
    });
  });
});

describe('connection faults', () => {
  test('a refused connection is a retryable SshConnectionError; the controller comes back', async () => {
    await withSim({ faults: { refuseConnections: true } }, async (sim) => {
      const acts = activities();
      const err = await activityError(acts.listNodes, { controller: sim.target() });
      const f = assertFailure(err, 'SshConnectionError', false);
      assert.match(JSON.stringify(f.details), /ECONNREFUSED/);
      await sim.setFaults({ refuseConnections: false });
      const { result } = await runActivity(acts.listNodes, { controller: sim.target() });
      assert.equal(result.nodes.length, 3);
    });
  });

  test('a session dropped mid-command is a retryable SshSessionDroppedError', async () => {
    await withSim({ faults: { dropSessions: 1 } }, async (sim) => {
      const acts = activities();
      const err = await activityError(acts.cordonNodes, { controller: sim.target() });
      assertFailure(err, 'SshSessionDroppedError', false);
      assert.ok(
        sim.nodes().every((n) => !n.unschedulable),
        'nothing happened',
      );
      const { result } = await runActivity(acts.cordonNodes, { controller: sim.target() });
      assert.equal(result.changed.length, 3);
    });
  });

  test('cancelling a long wait closes the remote command', async () => {
    await withSim({ stability: { neverStable: true } }, async (sim) => {
      const env = mockEnv();
      const running = env.run(activities().waitClusterStable, {
        controller: sim.target(),
        minimumStablePeriodSeconds: 60,
        timeoutSeconds: 600_000,
      });
      await waitFor('oc adm wait-for-stable-cluster to run', () => sim.commands().some((c) => c.command.startsWith('oc adm wait-for-stable-cluster')));
      env.cancel();
      await assert.rejects(running, (err: Error) => err.name === 'CancelledFailure');
      await waitFor('no command running', () => sim.activeCommands() === 0);
    });
  });
});
