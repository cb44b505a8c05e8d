/**
 * The README's exit-code table is what the CLI does (issue 17 point 4): one test per row, each row's
 * cases run as a user would (the compiled CLI, the simulator's cloud, the shared dev server), and the
 * configuration errors say the fix instead of "not found".
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { repoRoot } from './helpers/paths.js';
import { closedPort, runSnapset } from './helpers/processes.js';
import { HOUR, scenarioWithSets } from './helpers/snapset-store.js';
import { useTempDir, useTemporal } from './helpers/temporal.js';

/** The rows of the README's exit-code table: code → meaning. */
async function readmeRows(): Promise<Map<number, string>> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| exit code | meaning |'));
  const rows = new Map<number, string>();
  for (const m of table.matchAll(/^\| (\d) \| (.*) \|$/gm)) rows.set(Number(m[1]), m[2]!);
  return rows;
}

describe('exit codes, as the README table says', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-exit-');
  let sim: Simulator;
  /** No clouds.yaml anywhere on the search path: an empty HOME and working directory. */
  let bare: { cwd: string; env: NodeJS.ProcessEnv };
  let rows: Map<number, string>;

  before(async () => {
    sim = await startSimulator(scenarioWithSets([{ snapId: 'Exit0set', ago: 2 * HOUR }]));
    const home = join(tmp.path, 'home');
    const cwd = join(tmp.path, 'lab');
    await mkdir(home, { recursive: true });
    await mkdir(join(cwd, '.sim'), { recursive: true });
    // The simulator's file where `npm run sim` leaves it, so the fix can offer it.
    await writeFile(join(cwd, '.sim', 'clouds.yaml'), await readFile(sim.cloud.cloudsYamlPath, 'utf8'));
    bare = {
      cwd,
      env: {
        HOME: home,
        XDG_CONFIG_HOME: '',
        XDG_CONFIG_DIRS: join(tmp.path, 'none'),
        OS_CLIENT_CONFIG_FILE: '',
        OS_CLOUD: '',
        TEMPORAL_ADDRESS: t.env.address,
      },
    };
    rows = await readmeRows();
  });
  after(async () => {
    await sim?.close();
  });

  const atSim = () => ({ OS_CLIENT_CONFIG_FILE: sim.cloud.cloudsYamlPath, OS_CLOUD: sim.cloud.cloudName, TEMPORAL_ADDRESS: t.env.address });

  test('the table has the four rows 0–3', () => {
    assert.deepEqual([...rows.keys()], [0, 1, 2, 3]);
  });

  test('0: done', async () => {
    assert.match(rows.get(0)!, /^done/);
    const r = await runSnapset(['list', '--stack', 'hs-sno-1'], { env: atSim() });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^SNAP_ID +STACK +CREATED/m);
    assert.match(r.output, /^Exit0set +hs-sno-1 /m);
  });

  test('1: the run or the operation failed', async () => {
    assert.match(rows.get(1)!, /failed/);
    const latest = await runSnapset(['latest', '--stack', 'hs-none'], { env: atSim() });
    assert.equal(latest.code, 1, latest.output);
    assert.match(latest.output, /^snapset: .*hs-none/m);
    const noRun = await runSnapset(['show', 'no-such-stack-here'], { env: atSim() });
    assert.equal(noRun.code, 1, noRun.output);
    assert.match(noRun.output, /no SnapSet run snapset-no-such-stack-here/);
  });

  test('2: usage or bad input, the field or file named, nothing contacted', async () => {
    assert.match(rows.get(2)!, /usage or bad input/);
    // Temporal is unreachable: a 3 would mean it was contacted.
    const nothing = { TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}` };
    const missing = join(tmp.path, 'missing.yaml');
    const file = await runSnapset(['create', '-f', missing], { env: nothing });
    assert.equal(file.code, 2, file.output);
    assert.match(file.output, new RegExp(`${missing.replace(/[.]/g, '\\.')}: cannot read: ENOENT`));
    const stack = await runSnapset(['list', '--stack', '1 bad'], { env: nothing });
    assert.equal(stack.code, 2, stack.output);
    assert.match(stack.output, /'--stack <name>' argument '1 bad' is invalid/);
    const both = await runSnapset(['cancel', 'hs-a', '--stack', 'hs-b'], { env: nothing });
    assert.equal(both.code, 2, both.output);
    assert.match(both.output, /--stack: names hs-b, the argument hs-a: give one/);
  });

  test('3: cannot reach (or configure) Temporal or the cloud, with the fix', async () => {
    assert.match(rows.get(3)!, /cannot reach/);
    assert.match(rows.get(3)!, /OS_CLIENT_CONFIG_FILE/);

    const port = await closedPort();
    const temporal = await runSnapset(['runs'], { env: { ...atSim(), TEMPORAL_ADDRESS: `127.0.0.1:${port}` } });
    assert.equal(temporal.code, 3, temporal.output);
    assert.match(temporal.output, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port}`));

    const down = join(tmp.path, 'down.yaml');
    await writeFile(down, (await readFile(sim.cloud.cloudsYamlPath, 'utf8')).replaceAll(new URL(sim.cloud.baseUrl).port, String(port)));
    const cloud = await runSnapset(['list'], { env: { ...atSim(), OS_CLIENT_CONFIG_FILE: down } });
    assert.equal(cloud.code, 3, cloud.output);
    assert.match(cloud.output, new RegExp(`cannot reach the cloud: .*127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
    assert.match(cloud.output, /is npm run sim running/);

    const none = await runSnapset(['list'], bare);
    assert.equal(none.code, 3, none.output);
    assert.match(none.output, /no clouds\.yaml found \(searched OS_CLIENT_CONFIG_FILE/);
    assert.match(none.output, /export OS_CLIENT_CONFIG_FILE=\.sim\/clouds\.yaml OS_CLOUD=sim/, 'offers the simulator’s clouds.yaml of this directory');

    const unknown = await runSnapset(['list', '--cloud', 'nope'], { env: atSim() });
    assert.equal(unknown.code, 3, unknown.output);
    assert.match(unknown.output, /cloud "nope" is not defined \(clouds defined: sim/);

    // A snap_id-shaped name, no run of that name, no clouds.yaml: the configuration is the news, not "not found".
    for (const verb of ['show', 'watch']) {
      const r = await runSnapset([verb, 'Exit0set'], bare);
      assert.equal(r.code, 3, `${verb}: ${r.output}`);
      assert.match(r.output, /no run snapset-Exit0set, and set Exit0set could not be looked up in the image store/);
      assert.match(r.output, /OS_CLIENT_CONFIG_FILE=\.sim\/clouds\.yaml/);
    }
    // With the fix applied, the same command reads the set.
    const fixed = await runSnapset(['show', 'Exit0set'], { cwd: bare.cwd, env: { ...bare.env, OS_CLIENT_CONFIG_FILE: '.sim/clouds.yaml', OS_CLOUD: 'sim' } });
    assert.equal(fixed.code, 0, fixed.output);
    assert.match(fixed.output, /^SnapSet Exit0set of stack hs-sno-1/m);
  });
});
