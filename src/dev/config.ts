/**
 * `temporal-dev.yml`: dev-time settings (task queue, dev-server ports and database, search
 * attributes, simulator scenario). Errors name the file and the key.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../shared/errors.js';
import { zodIssues } from '../shared/input.js';
import { TASK_QUEUE } from '../shared/workflow-api.js';
import { scenarioSchema, type Scenario } from '../sim/scenario.js';

const port = z.number().int('expected a whole number').min(1, 'expected a port 1-65535').max(65535, 'expected a port 1-65535');

export const devConfigSchema = z.strictObject({
  taskQueue: z.string().min(1).default(TASK_QUEUE),
  namespace: z.string().min(1).default('default'),
  devServer: z
    .strictObject({
      ip: z.string().min(1).default('127.0.0.1'),
      port: port.default(7233),
      uiPort: port.default(8233),
      dbFile: z.string().min(1).default('.temporal/dev.sqlite'),
      logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('warn'),
    })
    .prefault({}),
  searchAttributes: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier'),
      z.enum(['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']),
    )
    .default({ SnapsetPhase: 'Keyword', SnapId: 'Keyword', StackName: 'Keyword' }),
  simulator: scenarioSchema.optional(),
});

export type DevConfig = z.output<typeof devConfigSchema> & {
  /** Absolute path of the file it was read from. */
  file: string;
  simulator?: Scenario;
};

/** The repository root: this module is compiled to dist/src/dev/. */
export function projectRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
}

export function parseDevConfig(text: string, file: string): DevConfig {
  let data: unknown;
  try {
    data = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = devConfigSchema.safeParse(data);
  if (!result.success) {
    const issues = zodIssues(result.error);
    throw new ConfigError(`${file}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const cfg = { ...result.data, file };
  if (!isAbsolute(cfg.devServer.dbFile)) cfg.devServer.dbFile = resolve(dirname(file), cfg.devServer.dbFile);
  return cfg;
}

export async function loadDevConfig(file = process.env.SNAPSET_DEV_CONFIG ?? resolve(projectRoot(), 'temporal-dev.yml')): Promise<DevConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseDevConfig(text, file);
}
