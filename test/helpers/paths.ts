import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/helpers. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Fixtures stay in the source tree (they are not compiled). */
export const fixtures = (...parts: string[]) => join(repoRoot, 'test', 'fixtures', ...parts);
/** The compiled tree (dist/). */
export const distRoot = () => join(repoRoot, 'dist');
