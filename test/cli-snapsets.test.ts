/**
 * The store verbs of the `snapset` CLI (a separate process, clouds.yaml of the simulator, the dev
 * server for delete/prune): list, show, latest, delete, prune — outcomes read from the simulator.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Simulator } from '../src/sim/index.js';
import { repoRoot } from './helpers/paths.js';
import { DAY, HOUR, scenarioWithSets, seedMac, setsInGlance, type SeedSet } from './helpers/snapset-store.js';
import { useTemporal, withSimWorker } from './helpers/temporal.js';

const execFileP = promisify(execFile);
const THREE = { controller: 'controller', master0: 'ocp_master', master1: 'ocp_master', master2: 'ocp_master' };

const SEEDED: SeedSet[] = [
  { snapId: 'Nkilled_', ago: 1 * HOUR, status: { master0: 'killed' } },
  { snapId: 'Gnewer__', ago: 1 * DAY },
  { snapId: 'Ggood___', ago: 3 * DAY },
  { snapId: 'Gold____', ago: 4 * DAY },
  { snapId: 'Iold____', ago: 5 * HOUR, tags: 'seed' },
  { snapId: 'Cexpired', ago: 40 * DAY },
  { snapId: 'Three___', ago: 2 * DAY, stack: 'hs-three', instances: THREE },
  { snapId: 'Deadinc_', ago: 1 * DAY, stack: 'hs-dead', tags: 'seed' },
  { snapId: 'Dead____', ago: 35 * DAY, stack: 'hs-dead' },
];

describe('snapset list/show/latest/delete/prune', () => {
  const t = useTemporal('dev-server');

  const cli = async (sim: Simulator | undefined, taskQueue: string, ...args: string[]) => {
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: t.env.address,
      SNAPSET_TASK_QUEUE: taskQueue,
      ...(sim ? { OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName } : {}),
    };
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [join(repoRoot, 'bin', 'snapset.js'), ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  test('every verb has --help; bad arguments get a one-line error and exit 2', async () => {
    for (const verb of ['list', 'show', 'latest', 'delete', 'prune', 'runs']) {
      const r = await cli(undefined, 'none', verb, '--help');
      assert.equal(r.code, 0, `${verb} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Usage: snapset ${verb}`));
    }
    for (const args of [
      ['latest', '--format', 'xml'],
      ['delete', 'not-a-snap-id', '--yes'],
      ['prune'],
      ['prune', '--keep', 'x'],
      ['prune', '--keep', '2', '--max-age', 'soon'],
      ['list', '--stack', '1 bad'],
    ]) {
      const r = await cli(undefined, 'none', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line, got ${r.stderr}`);
    }
  });

  test('list, show and latest read the store; prune --keep 2 and delete go through pruneSnapsets', async () => {
    await withSimWorker(
      t.env,
      async ({ sim, taskQueue }) => {
        const snapset = (...args: string[]) => cli(sim, taskQueue, ...args);

        // list: completeness and expiry; expired sets only with --all.
        const listed = await snapset('list', '--json');
        assert.equal(listed.code, 0, listed.stderr);
        const rows = JSON.parse(listed.stdout) as {
          snapId: string;
          stackName: string;
          createdAt: string;
          expiresAt: string;
          complete: boolean;
          images: number;
          roles: string[];
        }[];
        // Newest first; Deadinc_ and Gnewer__ share their created_at second: the tie goes by snap_id.
        assert.deepEqual(
          rows.map((r) => r.snapId),
          ['Nkilled_', 'Iold____', 'Deadinc_', 'Gnewer__', 'Three___', 'Ggood___', 'Gold____'],
        );
        assert.equal(rows.length, 7, 'the two expired sets are not listed without --all');
        const byId = Object.fromEntries(rows.map((r) => [r.snapId, r]));
        assert.equal(byId.Nkilled_!.complete, false);
        assert.equal(byId.Gnewer__!.complete, true);
        assert.deepEqual(byId.Three___, { ...byId.Three___!, stackName: 'hs-three', images: 4, roles: ['controller', 'ocp_master'] });
        assert.equal(Date.parse(byId.Gnewer__!.expiresAt) - Date.parse(byId.Gnewer__!.createdAt), 30 * DAY);
        const all = JSON.parse((await snapset('list', '--all', '--json', '--stack', 'hs-dead')).stdout) as { snapId: string }[];
        assert.deepEqual(
          all.map((r) => r.snapId),
          ['Deadinc_', 'Dead____'],
        );
        const table = await snapset('list', '--all');
        assert.match(table.stdout, /^SNAP_ID\s+STACK\s+CREATED\s+AGE\s+EXPIRES IN\s+IMAGES\s+COMPLETE$/m);
        assert.match(table.stdout, /^Cexpired\s+hs-sno-1\s+\S+\s+40d(0h)?\s+expired 10d(0h)? ago\s+2\s+yes$/m);
        assert.match(table.stdout, /^Nkilled_\s+hs-sno-1\s+.*\s+no: master0: image \S+ is killed/m);

        // show: every image, what makes it incomplete.
        const shown = await snapset('show', 'Nkilled_');
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /INCOMPLETE: master0: image \S+ is killed/);
        assert.match(shown.stdout, new RegExp(`master0\\s+ocp_master\\s+${seedMac('Nkilled_', 'master0')}\\s+killed`));

        // latest: the newest complete unexpired set, every image with its MAC; a newer killed set does not block it.
        const latest = await snapset('latest', '--stack', 'hs-sno-1');
        assert.equal(latest.code, 0, latest.stderr);
        const l = JSON.parse(latest.stdout) as {
          snapId: string;
          stackName: string;
          expiresAt: string;
          stack_parameters: Record<string, { image: string }>;
          images: Record<string, { imageId: string; imageName: string; role: string; macAddress: string }>;
        };
        assert.equal(l.snapId, 'Gnewer__');
        const glance = new Map(sim.cloud.images().map((i) => [String(i.id), i]));
        for (const [name, img] of Object.entries(l.images)) {
          assert.equal(glance.get(img.imageId)?.name, `hotstack-${name}-snapshot-Gnewer__`);
          assert.equal(img.macAddress, seedMac('Gnewer__', name));
        }
        assert.deepEqual(l.stack_parameters, {
          controller_params: { image: 'hotstack-controller-snapshot-Gnewer__' },
          ocp_master_params: { image: 'hotstack-master0-snapshot-Gnewer__' },
        });

        const three = await snapset('latest', '--stack', 'hs-three', '--format', 'yaml');
        assert.equal(three.code, 0, three.stderr);
        assert.match(three.stdout, /# role ocp_master has 3 instances/);
        assert.match(three.stdout, /^stack_parameters:\n {2}controller_params:\n {4}image: "hotstack-controller-snapshot-Three___"$/m);
        assert.doesNotMatch(three.stdout, /ocp_master_params/);

        const none = await snapset('latest', '--stack', 'hs-dead');
        assert.equal(none.code, 1);
        assert.match(none.stderr, /newest set Deadinc_ .* is incomplete: .*not marked complete/);
        assert.match(none.stderr, /newest complete set Dead____ expired/);

        // prune: refused off a terminal without --yes, before anything is touched.
        const refused = await snapset('prune', '--keep', '2', '--stack', 'hs-sno-1');
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--yes/);
        assert.equal(Object.keys(setsInGlance(sim.cloud.images())).length, 9);

        const dry = await snapset('prune', '--keep', '2', '--stack', 'hs-sno-1', '--dry-run', '--json');
        assert.equal(dry.code, 0, dry.stderr);
        const plan = JSON.parse(dry.stdout) as { delete: string[]; keep: string[]; reasons: Record<string, string> };
        assert.deepEqual(Object.keys(plan).sort(), ['delete', 'keep', 'reasons']);
        assert.deepEqual([...plan.delete].sort(), ['Cexpired', 'Gold____', 'Iold____']);
        assert.deepEqual([...plan.keep].sort(), ['Ggood___', 'Gnewer__', 'Nkilled_']);

        const pruned = await snapset('prune', '--keep', '2', '--stack', 'hs-sno-1', '--yes');
        assert.equal(pruned.code, 0, pruned.stderr);
        assert.match(pruned.stdout, /deleted\s+Gold____/);
        assert.deepEqual(Object.keys(setsInGlance(sim.cloud.images())).sort(), ['Dead____', 'Deadinc_', 'Ggood___', 'Gnewer__', 'Nkilled_', 'Three___']);

        // delete: the newest complete set is refused (exit 1), an older one goes.
        const keepNewest = await snapset('delete', 'Gnewer__', '--yes');
        assert.equal(keepNewest.code, 1);
        assert.match(keepNewest.stdout, /kept\s+Gnewer__\s+newest complete set of stack hs-sno-1/);
        const del = await snapset('delete', 'Ggood___', '--yes');
        assert.equal(del.code, 0, del.stderr);
        assert.deepEqual(Object.keys(setsInGlance(sim.cloud.images())).sort(), ['Dead____', 'Deadinc_', 'Gnewer__', 'Nkilled_', 'Three___']);
        const offTerminal = await snapset('delete', 'Nkilled_');
        assert.equal(offTerminal.code, 2);
        assert.equal(setsInGlance(sim.cloud.images()).Nkilled_, 2);
      },
      scenarioWithSets(SEEDED),
    );
  });
});
