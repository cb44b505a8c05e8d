/**
 * A simulated lab that comes back (issue #8 part 5): captured, its servers started again through
 * Nova `os-start`, revived (kubelet CSRs approved by the product's rule, nodes Ready, cluster
 * stable, route API) and captured a second time; the lab reset endpoint; the controller's SSH
 * while its VM is off. Everything through the real activities, real SSH and HTTP.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SshConnector } from '../src/cluster/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import type { ScenarioInput } from '../src/sim/scenario.js';
import { captureLab, labActivities, openstackCall, osStart } from './fixtures/cluster/capture.js';
import { CONTROLLER_UUID, MASTER_UUIDS, runActivity, threeMasterScenario } from './fixtures/cluster/helpers.js';
import { waitFor } from './helpers/wait.js';

const SCALE = 0.005; // 60 simulated seconds = 300 ms
const NODES = ['master-0', 'master-1', 'master-2'];

async function withLab(controller: ScenarioInput['controller'], fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator(threeMasterScenario(controller, SCALE));
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

const statuses = (sim: Simulator) => sim.cloud.servers().map((s) => s.status);
const activeImagesOf = (sim: Simulator, snapId: string) => sim.cloud.images().filter((i) => i.hotstack_snap_id === snapId && i.status === 'active');
const nodeShutdowns = (sim: Simulator) =>
  sim.controller.commands().filter((c) => /^oc debug node\/master-\d -- chroot \/host shutdown -h \+1$/.test(c.command));

describe('a lab that comes back', () => {
  test('capture, os-start of every server, revive, and a second capture of the same lab', async () => {
    // The controller boots for 1 s and the API is back 2 s after the masters boot, so the route
    // API wait surely sees each phase even on a loaded machine.
    const restart = { controllerBootSeconds: 200, apiDownForSeconds: 400, unstableForSeconds: 300, foreignCsrNode: 'intruder-0' };
    await withLab({ restart }, async (sim) => {
      const acts = labActivities(sim);
      const input = sim.snapsetInput();
      const controller = input.controller;

      const first = await captureLab(acts, input, 'aaaaaaaaaaaa');
      assert.deepEqual(statuses(sim), ['SHUTOFF', 'SHUTOFF', 'SHUTOFF', 'SHUTOFF']);
      assert.equal(activeImagesOf(sim, 'aaaaaaaaaaaa').length, 4);
      assert.deepEqual(Object.keys(first).sort(), ['controller', 'master0', 'master1', 'master2']);
      assert.equal(nodeShutdowns(sim).length, 3);
      // A powered-off controller: nothing answers on its SSH port.
      assert.ok(sim.controller.controllerDown());
      await assert.rejects(new SshConnector({ connectTimeoutMs: 2000 }).connect(controller), (err: Error) => err.name === 'SshConnectionError');

      await osStart(sim, [CONTROLLER_UUID, ...MASTER_UUIDS]);
      // The route API wait meets, in order: a booting controller (no SSH), an API that is not
      // back yet, the API without route.openshift.io, and finally the route group.
      const route = await runActivity(acts.waitRouteApi, { controller, timeoutSeconds: 60, pollIntervalSeconds: 0.01 });
      assert.ok(route.result.attempts > 2, `attempts: ${route.result.attempts}`);
      const lastErrors = route.heartbeats.map((h) => (h as { last?: { error?: string } }).last?.error);
      assert.ok(lastErrors.includes('SshConnectionError'), `heartbeats: ${JSON.stringify(route.heartbeats)}`);
      assert.ok(lastErrors.includes('ClusterApiUnavailableError'), `heartbeats: ${JSON.stringify(route.heartbeats)}`);
      assert.deepEqual(statuses(sim), ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);

      // The operators are still progressing after the restart: the stability wait has to wait.
      const stable = await runActivity(acts.waitClusterStable, { controller, minimumStablePeriodSeconds: 5, timeoutSeconds: 3600 });
      const lines = stable.heartbeats.map((h) => String((h as { lastLine?: string }).lastLine));
      assert.ok(
        lines.some((l) => /clusteroperators\/kube-apiserver is progressing/.test(l)),
        lines.join('\n'),
      );

      // NotReady until the new kubelet certificates are approved; one client CSR per node (from
      // the node bootstrapper: the old certificate expired) and one CSR that is not ours.
      const before = await runActivity(acts.listNodes, { controller });
      assert.deepEqual(
        before.result.nodes.map((n) => [n.name, n.ready]),
        NODES.map((n) => [n, false]),
      );
      await waitFor('client CSRs', () => sim.controller.csrs().length === 4);
      const pending = sim.controller.csrs();
      assert.ok(pending.every((c) => c.state === 'Pending' && /^csr-[a-z0-9]{5}$/.test(c.name)));
      assert.deepEqual(pending.map((c) => c.node).sort(), ['intruder-0', ...NODES]);
      assert.ok(pending.every((c) => c.signerName === 'kubernetes.io/kube-apiserver-client-kubelet'));

      const clients = await runActivity(acts.approveNodeCsrs, { controller, nodes: NODES });
      assert.deepEqual(
        clients.result.approved.map((a) => [a.node, a.kind]).sort(),
        NODES.map((n) => [n, 'kubelet-client-bootstrap']),
      );
      assert.deepEqual(
        clients.result.ignored.map((i) => i.reason),
        ['subject names node "intruder-0", not one of ours'],
      );
      // Client certificate approved: the kubelet asks for its serving certificate, still NotReady.
      assert.ok((await runActivity(acts.listNodes, { controller })).result.nodes.every((n) => !n.ready));

      const ready = await runActivity(acts.waitNodesReady, { controller, timeoutSeconds: 60, pollIntervalSeconds: 0.01, approveCsrs: true });
      assert.deepEqual(ready.result.ready, NODES);
      assert.deepEqual(
        ready.result.approvedCsrs.map((a) => [a.node, a.kind]).sort(),
        NODES.map((n) => [n, 'kubelet-serving']),
      );
      assert.deepEqual(
        sim.controller
          .csrs()
          .map((c) => [c.node, c.state])
          .sort(),
        [
          ['intruder-0', 'Pending'],
          ...NODES.flatMap((n) => [
            [n, 'Approved'],
            [n, 'Approved'],
          ]),
        ],
      );
      await runActivity(acts.uncordonNodes, { controller });
      assert.ok(sim.controller.nodes().every((n) => n.ready && !n.unschedulable && !n.shutdownScheduled));

      // The in-guest shutdown works again: the second capture shuts every node down once more.
      const second = await captureLab(acts, input, 'bbbbbbbbbbbb');
      assert.equal(nodeShutdowns(sim).length, 6);
      assert.deepEqual(statuses(sim), ['SHUTOFF', 'SHUTOFF', 'SHUTOFF', 'SHUTOFF']);
      assert.equal(activeImagesOf(sim, 'bbbbbbbbbbbb').length, 4);
      assert.equal(activeImagesOf(sim, 'aaaaaaaaaaaa').length, 4);
      assert.equal(new Set([...Object.values(first), ...Object.values(second)]).size, 8);
    });
  });

  test('POST /_sim/labs/<stack>/reset: servers ACTIVE, nodes Ready and schedulable, no CSRs, pending shutdowns void, images kept', async () => {
    await withLab({ nodes: { 'master-2': { shutdownDelaySeconds: 200 } } }, async (sim) => {
      const acts = labActivities(sim);
      const input = sim.snapsetInput();
      await captureLab(acts, input, 'cccccccccccc');
      await osStart(sim, [MASTER_UUIDS[0]!]); // a half-revived lab: one node booting, with a CSR
      await waitFor('the booted node asks for a certificate', () => sim.controller.csrs().length === 1);
      const images = sim.cloud
        .images()
        .map((i) => i.id)
        .sort();

      const post = await fetch(`${sim.cloud.endpoints.control}/labs/hs-test/reset`, { method: 'POST' });
      assert.equal(post.status, 200);
      const view = (await post.json()) as { stackName: string; servers: { status: string }[]; nodes: { ready: boolean }[]; csrs: unknown[] };
      assert.equal(view.stackName, 'hs-test');
      assert.deepEqual(
        view.servers.map((s) => s.status),
        ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE'],
      );
      assert.deepEqual(view.csrs, []);
      assert.deepEqual(
        sim.controller.nodes().map((n) => [n.name, n.ready, n.unschedulable, n.poweredOff, n.shutdownScheduled]),
        NODES.map((n) => [n, true, false, false, false]),
      );
      assert.equal(sim.controller.controllerDown(), false);
      assert.deepEqual(
        sim.cloud
          .images()
          .map((i) => i.id)
          .sort(),
        images,
      );
      const unknown = await fetch(`${sim.cloud.endpoints.control}/labs/nope/reset`, { method: 'POST' });
      assert.equal(unknown.status, 404);

      // A node shutdown scheduled before a reset never lands after it.
      await runActivity(acts.uncordonNodes, { controller: input.controller });
      await runActivity(acts.shutdownNodes, { controller: input.controller, nodes: ['master-2'] });
      sim.resetLab();
      await new Promise((r) => setTimeout(r, 200 * 1000 * SCALE * 2));
      assert.deepEqual(statuses(sim), ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE']);

      // And the reset lab is capturable at once.
      await captureLab(acts, input, 'dddddddddddd');
      assert.equal(activeImagesOf(sim, 'dddddddddddd').length, 4);
    });
  });

  test('restart.csrs=false: nodes are Ready once booted, no CSR; the route API still comes last', async () => {
    await withLab({ restart: { csrs: false } }, async (sim) => {
      const acts = labActivities(sim);
      const input = sim.snapsetInput();
      await captureLab(acts, input, 'eeeeeeeeeeee');
      await osStart(sim, [CONTROLLER_UUID, ...MASTER_UUIDS]);
      const route = await runActivity(acts.waitRouteApi, { controller: input.controller, timeoutSeconds: 60, pollIntervalSeconds: 0.01 });
      assert.ok(route.result.attempts > 1);
      const ready = await runActivity(acts.waitNodesReady, { controller: input.controller, timeoutSeconds: 60, pollIntervalSeconds: 0.01 });
      assert.deepEqual(ready.result.ready, NODES);
      assert.deepEqual(sim.controller.csrs(), []);
    });
  });
});

describe('the controller VM powered off through Nova', () => {
  for (const whenPoweredOff of ['refuse', 'stall'] as const) {
    test(`os-stop: SSH gets no answer (${whenPoweredOff}); os-start: it answers again after booting`, async () => {
      await withLab({ whenPoweredOff }, async (sim) => {
        const acts = labActivities(sim);
        const controller = sim.snapsetInput().controller;
        await runActivity(acts.listNodes, { controller });
        await openstackCall(acts.stopServers, { uuids: [CONTROLLER_UUID] });
        await waitFor('controller SHUTOFF', () => sim.cloud.servers().find((s) => s.id === CONTROLLER_UUID)?.status === 'SHUTOFF');
        const accepted = sim.controller.connectionCount();
        await assert.rejects(
          new SshConnector({ connectTimeoutMs: 500 }).connect(controller),
          (err: Error) => err.name === 'SshConnectionError' && (whenPoweredOff === 'refuse' || /tim(ed|e) ?out/i.test(err.message)),
        );
        assert.equal(sim.controller.connectionCount(), accepted + 1); // it reached the port and got nothing
        await osStart(sim, [CONTROLLER_UUID]);
        const nodes = await runActivity(acts.waitNodesReady, { controller, timeoutSeconds: 60, pollIntervalSeconds: 0.05 });
        assert.deepEqual(nodes.result.ready, NODES); // only the controller rebooted: the nodes stayed Ready
      });
    });
  }
});
