import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Configuration } from 'webpack';

/** The workflows' entry module (compiled). */
export const workflowsPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.js');

/** Workflow interceptor modules every worker loads: the SnapSet metrics (src/workflows/interceptors/metrics.ts). */
export const workflowInterceptorModules = [join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'interceptors', 'metrics.js')];

/**
 * Modules evaluated once per worker and shared by every workflow in the reusable V8 context, instead
 * of once per cached workflow (the SDK gives each workflow its own module instances). Only pure,
 * stateless libraries belong here: the SDK deep-freezes them. zod (the input schemas) was the
 * largest part of a cached workflow's memory (src/workflows/preload.ts).
 */
export const workflowPreloadModules = [join(dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'preload.js')];

/**
 * Bundles the workflow code once (webpack takes a few seconds), e.g. before a test run, so that
 * every worker can load the same bundle instead of bundling again.
 */
export async function writeWorkflowBundle(file: string): Promise<string> {
  const { code }: WorkflowBundleWithSourceMap = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules,
    preloadModules: workflowPreloadModules,
    webpackConfigHook: keepPreloads,
    logger: quietLogger,
  });
  await writeFile(file, code);
  return file;
}

/**
 * zod declares `sideEffects: false`, so webpack turns the SDK's bare `require(<preloaded module>)`
 * into `0;` and nothing is preloaded: keep such requires.
 */
export function keepPreloads(config: Configuration): Configuration {
  return { ...config, optimization: { ...config.optimization, sideEffects: false } };
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
