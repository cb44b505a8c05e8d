import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** The workflows' entry module (compiled). */
export const workflowsPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.js');

/** Workflow interceptor modules every worker loads: the SnapSet metrics (src/workflows/interceptors/metrics.ts). */
export const workflowInterceptorModules = [join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'interceptors', 'metrics.js')];

/**
 * Bundles the workflow code once (webpack takes a few seconds), e.g. before a test run, so that
 * every worker can load the same bundle instead of bundling again.
 */
export async function writeWorkflowBundle(file: string): Promise<string> {
  const { code }: WorkflowBundleWithSourceMap = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: quietLogger });
  await writeFile(file, code);
  return file;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
