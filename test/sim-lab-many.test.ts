/**
 * Several labs in one simulator (issue #10 part 4): one cloud, one controller per lab on its own
 * SSH port. Two labs captured at the same time each touch only their own VMs; a third lab is left
 * alone — asserted from the simulator's state, its request log and each controller's command log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { loadDevConfig } from '../src/dev/config.js';
import { cloudScenario, DEFAULT_SCENARIO, manyLabsScenario, parseScenario } from '../src/sim/scenario.js';
import { captureLab, labActivities } from './fixtures/cluster/capture.js';

describe('scenario shape', () => {
  test('a one-lab scenario means what it always meant: the default lab, no others', () => {
    const s = parseScenario(DEFAULT_SCENARIO);
    assert.deepEqual(s.labs, {});
    assert.deepEqual(cloudScenario(s).instances, s.instances);
  });

  test("volumes: the default and temporal-dev.yml labs are snapshot-sno's (master0 with four 20 GiB data volumes, the same ids)", async () => {
    const want = [
      ['master0-lvms-vol0', 20, '/dev/vdb'],
      ['master0-cinder-vol0', 20, '/dev/vdc'],
      ['master0-cinder-vol1', 20, '/dev/vdd'],
      ['master0-cinder-vol2', 20, '/dev/vde'],
    ];
    const d = parseScenario(DEFAULT_SCENARIO);
    assert.deepEqual(
      Object.entries(d.instances.master0!.volumes).map(([n, v]) => [n, v.size, v.device]),
      want,
    );
    assert.deepEqual(d.instances.controller!.volumes, {});
    const dev = parseScenario((await loadDevConfig()).simulator);
    assert.deepEqual(dev.instances.master0!.volumes, d.instances.master0!.volumes);
  });

  test('volumes: manyLabsScenario volumesPerMaster gives every master its own; volume ids and devices must be unique', () => {
    const s = parseScenario(manyLabsScenario(2, 3, { volumesPerMaster: 4 }));
    const all = Object.values(cloudScenario(s).instances).flatMap((i) => Object.values(i.volumes).map((v) => v.id));
    assert.equal(all.length, 2 * 2 * 4);
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(Object.keys(s.instances.master1!.volumes), ['master1-lvms-vol0', 'master1-cinder-vol0', 'master1-cinder-vol1', 'master1-cinder-vol2']);
    assert.deepEqual(s.instances.controller!.volumes, {});
    const dup = structuredClone(manyLabsScenario(2, 2, { volumesPerMaster: 1 })) as {
      labs: Record<string, { instances: Record<string, { volumes: Record<string, { id: string }> }> }>;
      instances: Record<string, { volumes: Record<string, { id: string }> }>;
    };
    dup.labs['hs-lab-02']!.instances.master0!.volumes['master0-lvms-vol0']!.id = dup.instances.master0!.volumes['master0-lvms-vol0']!.id;
    assert.throws(
      () => parseScenario(dup),
      (err: Error) => /volume id .* is also hs-lab-01\/master0\/master0-lvms-vol0/.test(err.message),
    );
    assert.throws(
      () =>
        parseScenario({
          instances: {
            a: {
              uuid: '00000000-0000-4000-8000-000000000001',
              role: 'r',
              mac_address: 'm',
              rootVolume: { id: '00000000-0000-4000-8000-000000000002', size: 10 },
              volumes: { x: { id: '00000000-0000-4000-8000-000000000003', size: 1, device: '/dev/vda' } },
            },
          },
        }),
      (err: Error) => /device \/dev\/vda is also rootVolume/.test(err.message),
    );
  });

  test('volumes: manyLabsScenario bootFromVolume gives every VM its own 40 GiB root volume', () => {
    const s = parseScenario(manyLabsScenario(2, 2, { bootFromVolume: true, volumesPerMaster: 1 }));
    const insts = Object.values(cloudScenario(s).instances);
    assert.ok(insts.every((i) => i.rootVolume?.size === 40));
    const ids = insts.flatMap((i) => [i.rootVolume!.id, ...Object.values(i.volumes).map((v) => v.id)]);
    assert.equal(ids.length, 4 + 2);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(parseScenario(manyLabsScenario(1, 2)).instances.master0!.rootVolume, undefined);
  });

  test('other labs join the one cloud as <stack>-<instance>; uuids must be unique across labs', () => {
    const s = parseScenario(manyLabsScenario(3, 2));
    assert.equal(s.stackName, 'hs-lab-01');
    assert.deepEqual(Object.keys(s.labs), ['hs-lab-02', 'hs-lab-03']);
    assert.deepEqual(Object.keys(cloudScenario(s).instances), [
      'controller',
      'master0',
      'hs-lab-02-controller',
      'hs-lab-02-master0',
      'hs-lab-03-controller',
      'hs-lab-03-master0',
    ]);
    const dup = structuredClone(manyLabsScenario(2, 2)) as { labs: Record<string, { instances: Record<string, { uuid: string }> }> };
    dup.labs['hs-lab-02']!.instances.controller!.uuid = parseScenario(manyLabsScenario(1, 1)).instances.controller!.uuid;
    assert.throws(
      () => parseScenario(dup),
      (err: Error) => /labs.*hs-lab-02.*instances.*controller.*uuid/s.test(err.message) && /also hs-lab-01\/controller/.test(err.message),
    );
    assert.throws(
      () => parseScenario({ ...manyLabsScenario(1, 1), labs: { 'hs-lab-01': { instances: {} } } }),
      (err: Error) => /already the default lab/.test(err.message),
    );
    assert.throws(
      () => manyLabsScenario(0, 2),
      (err: Error) => err instanceof RangeError && /labs/.test(err.message),
    );
  });
});

describe('three labs in one simulator, two captured at once', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator(manyLabsScenario(3, 4, { timeScale: 0.005 }));
  });
  after(async () => {
    await sim?.close();
  });

  test('each lab has its own controller on its own port; the control endpoint lists them', async () => {
    const ports = [...sim.labs.values()].map((l) => l.controller.port);
    assert.equal(new Set(ports).size, 3);
    assert.equal(sim.snapsetInput().stackName, 'hs-lab-01');
    assert.equal(sim.snapsetInput().controller.port, sim.controller.port);
    const two = sim.snapsetInput('hs-lab-02');
    assert.equal(two.controller.port, sim.lab('hs-lab-02').controller.port);
    assert.deepEqual(Object.keys(two.snapsetData.instances), ['controller', 'master0', 'master1', 'master2']);
    assert.throws(
      () => sim.snapsetInput('hs-nope'),
      (err: Error) => /no simulated lab "hs-nope"; labs: hs-lab-01, hs-lab-02, hs-lab-03/.test(err.message),
    );
    const labs = (await (await fetch(`${sim.cloud.endpoints.control}/labs`)).json()) as {
      stackName: string;
      ssh: { port: number };
      servers: unknown[];
      nodes: unknown[];
    }[];
    assert.deepEqual(
      labs.map((l) => [l.stackName, l.ssh.port, l.servers.length, l.nodes.length]),
      [
        ['hs-lab-01', ports[0], 4, 3],
        ['hs-lab-02', ports[1], 4, 3],
        ['hs-lab-03', ports[2], 4, 3],
      ],
    );
  });

  test('two labs captured at the same time each touch only their own VMs', async () => {
    const acts = labActivities(sim);
    const [one, two, three] = ['hs-lab-01', 'hs-lab-02', 'hs-lab-03'].map((s) => sim.lab(s));
    const requestsBefore = sim.cloud.requestLog().length;
    const [imagesOne, imagesTwo] = await Promise.all([
      captureLab(acts, one!.snapsetInput(), '111111111111'),
      captureLab(acts, two!.snapsetInput(), '222222222222'),
    ]);

    // Nova: every server of the two labs SHUTOFF, the third lab untouched.
    const status = new Map(sim.cloud.servers().map((s) => [s.id, s.status]));
    for (const uuid of [...one!.uuids, ...two!.uuids]) assert.equal(status.get(uuid), 'SHUTOFF', uuid);
    for (const uuid of three!.uuids) assert.equal(status.get(uuid), 'ACTIVE', uuid);

    // Glance: each set holds exactly its own lab's servers.
    const sourceOf = (snapId: string) =>
      sim.cloud
        .images()
        .filter((i) => i.hotstack_snap_id === snapId)
        .map((i) => i.instance_uuid as string)
        .sort();
    assert.deepEqual(sourceOf('111111111111'), [...one!.uuids].sort());
    assert.deepEqual(sourceOf('222222222222'), [...two!.uuids].sort());
    assert.equal(Object.keys(imagesOne).length + Object.keys(imagesTwo).length, 8);

    // The request log: one createImage per server of the two labs, nothing at all for the third.
    const log = sim.cloud.requestLog().slice(requestsBefore);
    const createImages = log.filter((r) => r.endpoint === 'compute.servers.createImage').map((r) => /servers\/([^/]+)\/action/.exec(r.path)![1]);
    assert.deepEqual(createImages.sort(), [...one!.uuids, ...two!.uuids].sort());
    assert.ok(!log.some((r) => three!.uuids.some((u) => r.path.includes(u))), 'no request names a server of hs-lab-03');

    // SSH: each controller ran its own lab's preparation and its own shutdown; the third none.
    for (const lab of [one!, two!]) {
      const commands = lab.controller.commands().map((c) => c.command);
      assert.equal(commands.filter((c) => /^oc debug node\/master-\d -- chroot \/host shutdown -h \+1$/.test(c)).length, 3, lab.stackName);
      assert.equal(commands.filter((c) => c === 'sudo shutdown -h now').length, 1, lab.stackName);
      assert.ok(lab.controller.controllerDown());
      assert.ok(lab.controller.nodes().every((n) => n.poweredOff && n.unschedulable));
    }
    assert.deepEqual(three!.controller.commands(), []);
    assert.ok(three!.controller.nodes().every((n) => n.ready && !n.poweredOff && !n.unschedulable));
  });

  test('resetLab resets one lab and leaves the others as they are', () => {
    sim.resetLab('hs-lab-02');
    const status = new Map(sim.cloud.servers().map((s) => [s.id, s.status]));
    assert.ok(sim.lab('hs-lab-02').uuids.every((u) => status.get(u) === 'ACTIVE'));
    assert.ok(sim.lab('hs-lab-01').uuids.every((u) => status.get(u) === 'SHUTOFF'));
    assert.ok(
      sim
        .lab('hs-lab-02')
        .controller.nodes()
        .every((n) => n.ready && !n.unschedulable),
    );
    assert.ok(
      sim
        .lab('hs-lab-01')
        .controller.nodes()
        .every((n) => n.poweredOff),
    );
  });
});
