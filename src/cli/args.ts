/**
 * Argument parsers and options shared by the verbs: one grammar for every verb. A stack is
 * `--stack <name>` everywhere (a positional where it reads naturally: `watch hs-sno-1`; `--stack-name`
 * is a hidden alias), a cloud `--cloud <name>` with the `OS_CLOUD` default, read verbs take `--json`.
 * Parsers throw commander's InvalidArgumentError: a bad value is one line on stderr and exit 2.
 */
import { InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../shared/duration.js';
import { ValidationError } from '../shared/errors.js';
import { SNAP_ID } from '../shared/snapset/index.js';
import { snapsetWorkflowId } from '../shared/workflow-api.js';

/** The input schema's rule (src/shared/input.ts). */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** A duration as the inputs write them (`30d`, `12h`, `90s`), at least `minMs`. */
export function durationArg(minMs = 0, example = '1h or 30m'): (value: string) => string {
  return (value) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < minMs)
      throw new InvalidArgumentError(`expected a duration${minMs >= 60_000 ? ` of at least ${minMs / 60_000}m` : ''}, such as ${example}`);
    return value;
  };
}

/** A snap_id: 8 URL-safe base64 characters (one starting with `-` goes after `--`, or as `--snap-id=-…`). */
export function snapIdArg(value: string): string {
  if (!SNAP_ID.test(value))
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a snap_id: expected 8 URL-safe base64 characters, e.g. from snapset list`);
  return value;
}

/** For variadic `<snap_id...>` arguments (commander passes the values so far). */
export function snapIdsArg(value: string, previous: string[] = []): string[] {
  return [...previous, snapIdArg(value)];
}

export function stackNameArg(value: string): string {
  if (!STACK_NAME.test(value))
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a stack name: a letter, then letters, digits, _ . - (at most 100)`);
  return value;
}

/** A stack name or a workflow ID → the workflow ID. */
export function workflowIdOf(target: string): string {
  return target.startsWith('snapset-') ? target : snapsetWorkflowId(target);
}

export const cloudOption = () => new Option('--cloud <name>', 'cloud in clouds.yaml (default: OS_CLOUD, else the only cloud)').env('OS_CLOUD');

export const stackOption = (what = 'stack name') => new Option('--stack <name>', what).argParser(stackNameArg);

/** `--stack-name`, the spelling `create` and `preflight` once had: kept, hidden. */
export const stackNameAlias = () => new Option('--stack-name <name>').argParser(stackNameArg).hideHelp();

export const jsonOption = (what: string) => new Option('--json', what);

/**
 * The stack (or workflow ID) a verb is about, given as its positional or `--stack`: exactly one of
 * them, or both saying the same.
 */
export function stackTarget(positional: string | undefined, stack: string | undefined): string {
  if (positional && stack && positional !== stack)
    throw new ValidationError([{ path: '--stack', message: `names ${stack}, the argument ${positional}: give one` }]);
  const target = positional ?? stack;
  if (!target) throw new ValidationError([{ path: '--stack', message: 'required: the stack name (or a workflow ID), as the argument or --stack' }]);
  return target;
}
