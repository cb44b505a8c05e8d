/**
 * Complete SnapSets on the time-skipping server against the simulator: the seed's names, tags and
 * result; idempotent images; and nothing left half-done when an image fails.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { COMPLETE_TAG } from '../src/shared/snapset/index.js';
import { progressQuery } from '../src/shared/workflow-api.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { FAST_SCENARIO, useTemporal, withSimWorker } from './helpers/temporal.js';

type SimImage = { id: string; name: string; status: string; tags: string[]; hotstack_snap_id?: string; hotstack_set_size?: string };

describe('createSnapset end to end (time-skipping server + simulator)', () => {
  const t = useTemporal('time-skipping');

  test('a complete set: seed names, six tags plus the completion marker, every VM SHUTOFF, seed-compatible result', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `e2e-${taskQueue}`, args: [simInput(sim)] });
      const result = await handle.result();

      assert.match(result.snapId, /^[A-Za-z0-9_-]{8}$/);
      assert.deepEqual(result.phasesRun, [
        'validating',
        'preflight',
        'waiting-cert-rotation',
        'preparing-cluster',
        'shutting-down',
        'waiting-shutoff',
        'creating-images',
        'tagging',
        'verifying',
        'completed',
      ]);
      for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF', `${s.name} is SHUTOFF`);

      const images = sim.cloud.images() as SimImage[];
      const ours = images.filter((i) => i.tags.includes(`snap_id=${result.snapId}`));
      assert.equal(ours.length, 2, 'exactly one image per VM');
      for (const [name, inst] of Object.entries(sim.snapsetInput().snapsetData.instances)) {
        const img = ours.find((i) => i.id === result.images[name]!.imageId)!;
        assert.equal(img.name, `hotstack-${name}-snapshot-${result.snapId}`);
        assert.equal(img.status, 'active');
        assert.deepEqual(
          img.tags.slice().sort(),
          [
            'hotstack',
            'hotstack-snapset',
            `name=${name}`,
            `role=${inst.role}`,
            `snap_id=${result.snapId}`,
            `mac_address=${inst.mac_address}`,
            COMPLETE_TAG,
          ].sort(),
        );
        assert.equal(img.hotstack_snap_id, result.snapId);
        assert.equal(img.hotstack_set_size, '2');
        assert.deepEqual(result.ansible[name], { image_id: img.id, role: inst.role, mac_address: inst.mac_address });
      }
      assert.equal(result.ansible.snap_id, result.snapId);
      assert.deepEqual(result.stackParameters, {
        controller_params: { image: `hotstack-controller-snapshot-${result.snapId}` },
        ocp_master_params: { image: `hotstack-master0-snapshot-${result.snapId}` },
      });
      // Nodes were cordoned and shut down from inside, the controller last.
      const cmds = sim.controller.commands().map((c) => c.command);
      const at = (re: RegExp) => cmds.findIndex((c) => re.test(c));
      // (uncordon changes nothing here: these nodes start schedulable; the cordoned lab is the last test)
      assert.ok(at(/wait-for-stable-cluster/) >= 0, `waited for a stable cluster: ${cmds.join(' | ')}`);
      assert.ok(at(/adm cordon/) > at(/wait-for-stable-cluster/), 'then cordon');
      assert.ok(at(/debug node\/master-0 .*shutdown -h \+1/) > at(/adm cordon/), 'then shut the node down from inside');
      assert.ok(at(/shutdown -h now/) > at(/debug node/), 'the controller last');
    });
  });

  test('an image that ends killed on every attempt: taken 3 times, then the set is deleted, VMs stay SHUTOFF, the workflow fails with the cause', async () => {
    const scenario = { ...FAST_SCENARIO, cloud: { faults: { killImagesOfServers: [FAST_SCENARIO.instances.master0!.uuid] } } };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `e2e-kill-${taskQueue}`, args: [simInput(sim)] });
        await assert.rejects(handle.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.ok(err.cause instanceof ApplicationFailure);
          assert.equal(err.cause.type, 'OpenStackResourceFailedError');
          assert.equal(err.cause.nonRetryable, true);
          assert.match(err.cause.message, /the image of master0 .* is killed/, 'the failure names the instance and the state');
          assert.match(err.cause.message, /attempt 3 of 3: capture\.imageAttempts spent/, 'says the retries were spent');
          return true;
        });
        // From the cloud's side: three snapshots of master0, one of the controller.
        assert.equal(sim.cloud.counters()['compute.servers.createImage']?.requests, 4);
        const progress = await handle.query(progressQuery);
        assert.equal(progress.phase, 'failed');
        assert.ok(progress.phasesRun.includes('cleaning-up'));
        assert.match(progress.details, /VMs now: 2 SHUTOFF/);
        assert.equal(progress.failure?.type, 'OpenStackResourceFailedError');
        assert.deepEqual(progress.failure?.finalServerStatus, { controller: 'SHUTOFF', master0: 'SHUTOFF' });
        assert.deepEqual(
          progress.failure?.imageRetries?.map((r) => [r.instance, r.attempt]),
          [
            ['master0', 2],
            ['master0', 3],
          ],
        );
        const left = (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === progress.snapId && i.status !== 'deleted');
        assert.deepEqual(left, [], 'no image of the failed set is left');
        for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF');
      },
      scenario,
    );
  });

  test('onFailure: keep leaves the images of a failed set for inspection', async () => {
    const scenario = { ...FAST_SCENARIO, cloud: { faults: { killImagesOfServers: [FAST_SCENARIO.instances.master0!.uuid] } } };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const handle = await t.env.client.workflow.start(createSnapset, {
          taskQueue,
          workflowId: `e2e-keep-${taskQueue}`,
          args: [simInput(sim, { capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms', onFailure: 'keep' } })],
        });
        await assert.rejects(handle.result(), WorkflowFailedError);
        const progress = await handle.query(progressQuery);
        assert.ok(!progress.phasesRun.includes('cleaning-up'));
        const kept = (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === progress.snapId);
        assert.equal(kept.length, 2);
        assert.ok(
          kept.every((i) => !i.tags.includes(COMPLETE_TAG)),
          'never marked complete',
        );
      },
      scenario,
    );
  });

  test('forceStopAfter: a VM still running after it is stopped through Nova os-stop, then imaged', async () => {
    await withSimWorker(t.env, async ({ sim, taskQueue }) => {
      // Without node preparation nothing shuts master0 down from inside: only the force stop can.
      const result = await t.env.client.workflow.execute(createSnapset, {
        taskQueue,
        workflowId: `e2e-force-${taskQueue}`,
        args: [simInput(sim, { prepare: { enabled: false }, capture: { shutoffPollInterval: '100ms', imagePollInterval: '100ms', forceStopAfter: '2s' } })],
      });
      assert.equal(Object.keys(result.images).length, 2);
      for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF');
      const stops = sim.cloud.requestLog().filter((r) => r.endpoint === 'compute.servers.stop' && r.status === 202);
      assert.ok(
        stops.some((r) => r.path.includes(FAST_SCENARIO.instances.master0!.uuid)),
        'master0 was stopped through Nova os-stop',
      );
    });
  });

  test('30 % of Nova and Glance calls answering 5xx still ends with one correct image per VM', async () => {
    const scenario = {
      ...FAST_SCENARIO,
      cloud: { faults: { seed: 7, endpoints: { 'compute.*': { errorRate: 0.3 }, 'image.*': { errorRate: 0.3 } } } },
    };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const result = await t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `e2e-5xx-${taskQueue}`, args: [simInput(sim)] });
        const ours = (sim.cloud.images() as SimImage[]).filter((i) => i.hotstack_snap_id === result.snapId);
        assert.equal(ours.length, 2, 'retries made no second image');
        assert.ok(ours.every((i) => i.status === 'active' && i.tags.includes(COMPLETE_TAG)));
        const injected = Object.values(sim.cloud.counters()).reduce((n, c) => n + c.injected.error, 0);
        assert.ok(injected >= 3, `faults were really injected (${injected})`);
      },
      scenario,
    );
  });

  test('a lab whose nodes start cordoned: uncordoned, stable, cordoned again, shut down — and left cordoned', async () => {
    const nodes = ['master-0', 'master-1', 'master-2'];
    const scenario = {
      ...FAST_SCENARIO,
      instances: {
        controller: FAST_SCENARIO.instances.controller!,
        ...Object.fromEntries(
          nodes.map((node, i) => [
            `master${i}`,
            { uuid: `7a5623ef-0855-4a8a-9bc3-56b6572f41${i}0`, role: 'ocp_master', mac_address: `fa:16:9e:81:f6:1${i}`, node },
          ]),
        ),
      },
      controller: { nodes: Object.fromEntries(nodes.map((n) => [n, { unschedulable: true }])) },
    };
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        assert.deepEqual(
          sim.controller.nodes().map((n) => [n.name, n.unschedulable]),
          nodes.map((n) => [n, true]),
          'the lab starts cordoned',
        );
        const handle = await t.env.client.workflow.start(createSnapset, { taskQueue, workflowId: `e2e-cordoned-${taskQueue}`, args: [simInput(sim)] });
        const result = await handle.result();
        assert.equal(Object.keys(result.images).length, 4);

        const cmds = sim.controller.commands().map((c) => c.command);
        const at = (re: RegExp) => cmds.findIndex((c) => re.test(c));
        const stable = at(/^oc adm wait-for-stable-cluster/);
        assert.ok(stable >= 0, `waited for a stable cluster: ${cmds.join(' | ')}`);
        for (const node of nodes) {
          const un = at(new RegExp(`^oc adm uncordon node/${node}$`));
          const co = at(new RegExp(`^oc adm cordon node/${node}$`));
          const down = at(new RegExp(`^oc debug node/${node} -- chroot /host shutdown -h \\+1$`));
          assert.ok(un >= 0 && un < stable, `${node} uncordoned before the stability wait`);
          assert.ok(co > stable, `${node} cordoned again after it`);
          assert.ok(down > co, `${node} shut down after it was cordoned`);
        }
        const p = await handle.query(progressQuery);
        assert.ok(p.changes?.includes(`uncordoned ${nodes.join(', ')}`), `the run reports the uncordon as a change: ${JSON.stringify(p.changes)}`);
        assert.deepEqual(
          sim.controller.nodes().map((n) => [n.name, n.unschedulable, n.poweredOff]),
          nodes.map((n) => [n, true, true]),
          'every node ends cordoned and powered off',
        );
        for (const s of sim.cloud.servers()) assert.equal(s.status, 'SHUTOFF', `${s.name} is SHUTOFF`);
      },
      scenario,
    );
  });
});
