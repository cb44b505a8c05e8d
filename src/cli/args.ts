/** Argument parsers shared by the verbs. */
import { InvalidArgumentError } from 'commander';
import { snapsetWorkflowId } from '../shared/workflow-api.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** A stack name or a workflow ID → the workflow ID. */
export function workflowIdOf(target: string): string {
  return target.startsWith('snapset-') ? target : snapsetWorkflowId(target);
}
