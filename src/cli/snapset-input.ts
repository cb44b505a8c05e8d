/** The createSnapset input that `create`'s and `preflight`'s options describe (validated by the caller). */
import { basename } from 'node:path';
import { ValidationError } from '../shared/errors.js';
import { fromStackOutputs, stackNameFromOutputsFile } from '../shared/input.js';
import { readInputFile } from './input-file.js';

export interface CreateOpts {
  file?: string;
  fromStackOutputs?: string;
  stackName?: string;
  clusterCreatedAt?: string;
  certWait: boolean;
  dryRun?: boolean;
  watch?: boolean;
}

/** The raw input the options describe (validated by the caller). */
export async function inputOf(opts: CreateOpts): Promise<Record<string, unknown>> {
  if (!!opts.file === !!opts.fromStackOutputs) throw new ValidationError([{ path: '--file', message: 'give exactly one of --file or --from-stack-outputs' }]);
  let raw: Record<string, unknown>;
  if (opts.fromStackOutputs) {
    raw = fromStackOutputs(await readInputFile(opts.fromStackOutputs), opts.stackName ?? stackNameFromOutputsFile(basename(opts.fromStackOutputs)));
  } else {
    const data = await readInputFile(opts.file!);
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ValidationError([{ path: opts.file!, message: 'expected a mapping' }]);
    raw = { ...(data as Record<string, unknown>) };
    // The file's own spelling decides the key: the seed's snake_case variables or the camelCase input.
    if (opts.stackName) raw[isSnakeCase(raw) ? 'stack_name' : 'stackName'] = opts.stackName;
  }
  if (opts.clusterCreatedAt || !opts.certWait) {
    const prepare = { ...((raw.prepare as Record<string, unknown>) ?? {}) };
    if (opts.clusterCreatedAt) prepare.clusterCreatedAt = opts.clusterCreatedAt;
    // Only the wait goes: the nodes are still cordoned and shut down from inside.
    if (!opts.certWait) prepare.certRotationWait = '0s';
    raw.prepare = prepare;
  }
  return raw;
}

const SNAKE_KEYS = ['stack_name', 'snapset_data', 'controller_ansible_host', 'os_cloud'];
function isSnakeCase(raw: Record<string, unknown>): boolean {
  return SNAKE_KEYS.some((k) => k in raw);
}
