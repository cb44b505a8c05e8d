/**
 * A throwaway Python virtual env with the real OpenStack clients (openstacksdk, python-openstackclient, python-cinderclient),
 * built once per pin set and Python version under the project cache, for tests that prove the
 * simulator against them. When Python, venv or PyPI is not there, the caller gets a reason to skip.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../src/dev/toolchain.js';

const run = promisify(execFile);

/**
 * Checked on PyPI: all support Python ≥ 3.10. python-cinderclient because python-openstackclient has
 * no server-side metadata filter for volume snapshots (`cinder snapshot-list --metadata` has).
 */
export const PY_OPENSTACK_PINS = ['openstacksdk==4.22.0', 'python-openstackclient==10.5.0', 'python-cinderclient==9.10.0'] as const;

export type PyOpenStack = { python: string; dir: string; installedNow: boolean; installMs: number } | { skip: string };

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).at(-1) ?? '';

export async function ensurePyOpenStack(): Promise<PyOpenStack> {
  let version: string;
  try {
    version = (await run('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { timeout: 30_000 })).stdout.trim();
  } catch (err) {
    return { skip: `python3 is not available: ${(err as Error).message}` };
  }
  const key = createHash('sha256')
    .update(`${version}\n${PY_OPENSTACK_PINS.join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  const root = join(cacheDir(), 'py-openstack');
  const dir = join(root, key);
  // The venv is only ever run as `<dir>/bin/python -m …`: that survives the rename below, scripts' shebangs would not.
  const python = join(dir, 'bin', 'python');
  const ready = async () =>
    access(join(dir, '.ready')).then(
      () => true,
      () => false,
    );
  if (await ready()) return { python, dir, installedNow: false, installMs: 0 };
  await mkdir(root, { recursive: true });
  const build = await mkdtemp(join(root, `.build-${key}-`));
  const started = Date.now();
  try {
    try {
      await run('python3', ['-m', 'venv', build], { timeout: 120_000 });
    } catch (err) {
      return { skip: `python3 -m venv is unavailable: ${lastLine((err as { stderr?: string }).stderr ?? '') || (err as Error).message}` };
    }
    try {
      await run(
        join(build, 'bin', 'python'),
        ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--timeout', '15', '--retries', '1', ...PY_OPENSTACK_PINS],
        {
          timeout: 900_000,
          maxBuffer: 64 << 20,
        },
      );
    } catch (err) {
      return {
        skip: `pip could not install ${PY_OPENSTACK_PINS.join(' ')} (is PyPI reachable?): ${lastLine((err as { stderr?: string }).stderr ?? '') || (err as Error).message}`,
      };
    }
    await writeFile(join(build, '.ready'), `${PY_OPENSTACK_PINS.join('\n')}\n`);
    try {
      await rename(build, dir);
    } catch (err) {
      // Another run finished first: use its venv.
      if (!(await ready())) throw err;
    }
    return { python, dir, installedNow: true, installMs: Date.now() - started };
  } finally {
    await rm(build, { recursive: true, force: true });
  }
}
