/**
 * The revivable and multi-lab simulator under the real createSnapset workflow (time-skipping
 * server): the same lab captured twice with a lab reset between, and two labs captured at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manyLabsScenario } from '../src/sim/scenario.js';
import { createSnapset } from '../src/workflows/index.js';
import { simInput } from './helpers/inputs.js';
import { useTemporal, withSimWorker } from './helpers/temporal.js';

const nodeShutdowns = (commands: { command: string }[]) =>
  commands.filter((c) => /^oc debug node\/.* -- chroot \/host shutdown -h \+1$/.test(c.command)).length;

describe('createSnapset against a lab that comes back, and against several labs', () => {
  const t = useTemporal('time-skipping');

  test('the same lab captured twice, reset between: the second run shuts the node down again and completes', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const first = await t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `lab-1-${taskQueue}`, args: [simInput(sim)] });
        assert.ok(sim.cloud.servers().every((s) => s.status === 'SHUTOFF'));
        sim.resetLab();
        assert.ok(sim.cloud.servers().every((s) => s.status === 'ACTIVE'));
        const second = await t.env.client.workflow.execute(createSnapset, { taskQueue, workflowId: `lab-2-${taskQueue}`, args: [simInput(sim)] });
        assert.notEqual(second.snapId, first.snapId);
        assert.ok(sim.cloud.servers().every((s) => s.status === 'SHUTOFF'));
        assert.equal(nodeShutdowns(sim.controller.commands()), 2);
        const active = (snapId: string) => sim.cloud.images().filter((i) => i.hotstack_snap_id === snapId && i.status === 'active').length;
        assert.equal(active(first.snapId), 2);
        assert.equal(active(second.snapId), 2);
      },
      manyLabsScenario(1, 2, { timeScale: 0.01 }),
    );
  });

  test("two labs captured at once: each set holds its own lab's servers, each controller shut down once", async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const run = (stack: string) =>
          t.env.client.workflow.execute(createSnapset, {
            taskQueue,
            workflowId: `labs-${stack}-${taskQueue}`,
            args: [{ ...simInput(sim), ...sim.snapsetInput(stack) }],
          });
        const [one, two] = await Promise.all([run('hs-lab-01'), run('hs-lab-02')]);
        const sources = (snapId: string) =>
          sim.cloud
            .images()
            .filter((i) => i.hotstack_snap_id === snapId)
            .map((i) => i.instance_uuid as string)
            .sort();
        assert.deepEqual(sources(one.snapId), [...sim.lab('hs-lab-01').uuids].sort());
        assert.deepEqual(sources(two.snapId), [...sim.lab('hs-lab-02').uuids].sort());
        for (const stack of ['hs-lab-01', 'hs-lab-02']) {
          const commands = sim.lab(stack).controller.commands();
          assert.equal(nodeShutdowns(commands), 2, stack);
          assert.equal(commands.filter((c) => c.command === 'sudo shutdown -h now').length, 1, stack);
        }
      },
      manyLabsScenario(2, 3, { timeScale: 0.01 }),
    );
  });
});
