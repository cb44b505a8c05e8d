/**
 * The README's "Using it" section walked as a user would: `npm run sim` (its printed worker command
 * must be the README's), the worker started with exactly that environment, then every shell block
 * marked `<!-- walk: run -->` run line by line, exactly as printed, in a plain shell (`env -i`: HOME,
 * the system's PATH without any node_modules/.bin, plus only the lines of the `<!-- walk: env -->`
 * block the README tells the user to run), against a freshly restarted simulator and the shared dev
 * server. The shell's working directory is a checkout of this repository (its package.json, bin/,
 * dist/, node_modules/, a copy of examples/), so `npx snapset` resolves as it does in a clone. Each
 * block is a SnapSet of one of the files in examples/; the simulator's Glance must then hold a
 * complete set. What differs from a user's machine: TEMPORAL_ADDRESS names the test's dev server,
 * and the simulator's ports are free ones (the copies of examples/ say so) instead of 17000/17022.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, temporalPathLine } from '../src/dev/toolchain.js';
import { CloudsYamlClientProvider } from '../src/openstack/index.js';
import { DEFAULT_SIM_PORTS } from '../src/sim/main.js';
import { repoRoot } from './helpers/paths.js';
import { startProc, type Proc } from './helpers/processes.js';
import { toolchain, useTempDir, useTemporal } from './helpers/temporal.js';

/** The blocks of the README marked for the walk, as lists of command lines. */
function walkBlocks(readme: string, kind = 'run'): string[][] {
  return [...readme.matchAll(new RegExp(`<!-- walk: ${kind} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) =>
    m[1]!.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')),
  );
}

/** The PATH of a plain shell on this machine: the test runner's without what npm added (node_modules/.bin, npm's helpers). */
function systemPath(): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d && !d.includes('/node_modules/') && !d.endsWith('/node_modules'));
  return [...new Set(dirs)].join(delimiter);
}

describe('README walk: npm run sim, npm run worker, the examples', () => {
  const t = useTemporal('dev-server');
  const tmp = useTempDir('snapset-walk-');

  test('every marked README block completes a SnapSet against the simulator, as written', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const blocks = walkBlocks(readme);
    assert.ok(blocks.length >= 5, 'the README marks its runnable blocks');
    const cwd = tmp.path;
    const ports = { cloud: await freePort(), ssh: await freePort() };
    // A checkout: `npx snapset` finds the package's own bin as in a clone.
    await copyFile(join(repoRoot, 'package.json'), join(cwd, 'package.json'));
    for (const d of ['bin', 'dist', 'node_modules']) await symlink(join(repoRoot, d), join(cwd, d));
    await mkdir(join(cwd, 'examples'));
    const exampleFiles = await readdir(join(repoRoot, 'examples'));
    for (const f of exampleFiles) {
      const text = await readFile(join(repoRoot, 'examples', f), 'utf8');
      assert.ok(text.includes(String(DEFAULT_SIM_PORTS.ssh)), `${f} names the simulator's SSH port`);
      await writeFile(join(cwd, 'examples', f), text.replaceAll(String(DEFAULT_SIM_PORTS.ssh), String(ports.ssh)));
    }
    const mentioned = blocks.flat().join('\n');
    for (const f of exampleFiles) assert.ok(mentioned.includes(`examples/${f}`), `the walk runs examples/${f}`);

    const tc = await toolchain();
    const envLines = walkBlocks(readme, 'env').flat();
    const pathLine = temporalPathLine(tc);
    if (pathLine) assert.deepEqual(envLines, [pathLine], 'the README tells the user the PATH line npm run toolchain prints');
    const path = systemPath();
    assert.ok(
      !path.split(delimiter).some((d) => existsSync(join(d, 'temporal'))) || !pathLine,
      'no other temporal on the plain PATH: the README line is what finds it',
    );
    const shell = (line: string): Proc =>
      startProc(['-i', `HOME=${homedir()}`, `PATH=${path}`, `TEMPORAL_ADDRESS=${t.env.address}`, 'sh', '-c', [...envLines, line].join('\n')], {
        command: 'env',
        cwd,
      });
    const version = shell('temporal --version');
    assert.equal(await version.exited, 0, version.output);
    assert.match(version.output, /^temporal version (1\.5\.1|0\.0\.0-DEV) \(Server 1\.29\.1/, 'the banner the README explains');
    const env = { TEMPORAL_ADDRESS: t.env.address, SIM_STATE_DIR: join(cwd, '.sim') };
    const simPorts = { SIM_CLOUD_PORT: String(ports.cloud), SIM_SSH_PORT: String(ports.ssh) };
    const startSim = async (portEnv: Record<string, string>): Promise<Proc> => {
      const p = startProc([join(repoRoot, 'dist', 'src', 'sim', 'main.js')], { cwd, env: { ...env, ...portEnv } });
      await p.waitFor(/Ctrl-C stops the simulator/, 60_000);
      return p;
    };
    let sim = await startSim(simPorts);
    const workerLine = (await sim.waitFor(/^ {2}(OS_CLIENT_CONFIG_FILE=\S+ OS_CLOUD=\S+ SNAPSET_SSH_KEYS=\S+) npm run worker$/m))[1]!;
    assert.ok(readme.includes(`${workerLine} npm run worker`), `the README shows the worker command npm run sim prints: ${workerLine}`);

    const workerEnv = Object.fromEntries(workerLine.split(' ').map((kv) => kv.split('=') as [string, string]));
    const worker = startProc([join(repoRoot, 'dist', 'src', 'worker.js')], { cwd, env: { ...env, ...workerEnv } });
    try {
      await worker.waitFor(/hotstack-snapset worker: .* task queue hotstack-snapset/, 180_000);
      assert.doesNotMatch(worker.output, /warning/, 'the worker finds clouds.yaml, the cloud and the key');

      for (const [i, block] of blocks.entries()) {
        // A SnapSet leaves the lab shut down: a fresh simulator per block, on the same ports.
        if (i > 0) {
          await sim.stop();
          sim = await startSim(simPorts);
          assert.match(sim.output, new RegExp(`ports ${ports.cloud} \\(cloud\\) and ${ports.ssh} \\(SSH\\)`), 'restarted on the same ports');
        }
        let watched = '';
        for (const line of block) {
          const p = shell(line);
          const code = await p.exited;
          assert.equal(code, 0, `${line}\n${p.output}\nworker:\n${worker.output}\nsim:\n${sim.output}`);
          if (/create .*--watch|watch hs-sno-1/.test(line)) watched = p.output;
        }
        const result = JSON.parse(watched.slice(watched.indexOf('{'))) as { snapId: string; images: Record<string, unknown> };
        assert.deepEqual(Object.keys(result.images).sort(), ['controller', 'master0']);
        const os = await new CloudsYamlClientProvider({
          lookup: { env: { OS_CLIENT_CONFIG_FILE: join(cwd, '.sim', 'clouds.yaml'), OS_CLOUD: 'sim' } },
        }).client();
        try {
          const images = await os.image.listAllImages({ tags: [`snap_id=${result.snapId}`] });
          assert.equal(images.length, 2, `block ${i + 1}: two images in Glance`);
          for (const img of images) {
            assert.equal(img.status, 'active');
            assert.ok(img.tags.includes('snapset_complete'), `${img.name} carries the completion marker`);
          }
        } finally {
          os.close();
        }
      }
    } finally {
      await sim.stop();
      const code = await worker.stop('SIGTERM');
      assert.equal(code, 0, `graceful shutdown:\n${worker.output}`);
      assert.match(worker.output, /SIGTERM: stopping[\s\S]*snapset worker: stopped/);
    }
  });
});
