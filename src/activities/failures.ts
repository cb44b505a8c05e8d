import { ApplicationFailure } from '@temporalio/common';
import { SnapsetError } from '../shared/errors.js';

/**
 * Converts anything an activity threw into an `ApplicationFailure` whose `type` is the error class
 * name and whose retryability follows the error's own `retryable` flag. Unknown errors stay
 * retryable (Temporal's default) so a transient bug in a dependency does not lose the workflow.
 */
export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof SnapsetError) {
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: !err.retryable,
      details: [err.details()],
      cause: err,
    });
  }
  if (err instanceof Error) {
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: false, cause: err });
  }
  return ApplicationFailure.create({ type: 'Error', message: String(err), nonRetryable: false });
}

type AnyFn = (...args: never[]) => Promise<unknown>;

/**
 * Wraps every function of an activity object so that thrown errors cross the Temporal boundary
 * as typed `ApplicationFailure`s (see {@link toApplicationFailure}). Cancellation errors pass through.
 */
export function withFailureMapping<T extends Record<string, AnyFn>>(activities: T): T {
  const wrapped: Record<string, AnyFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof Error && err.name === 'CancelledFailure') throw err;
        throw toApplicationFailure(err);
      }
    };
  }
  return wrapped as T;
}
