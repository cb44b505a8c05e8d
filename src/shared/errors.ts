/**
 * Typed errors shared by every Node-side part (OpenStack client, cluster runner, validation).
 *
 * The class name is the contract: activities turn these into `ApplicationFailure`s whose `type` is
 * the error's `name`, and workflows/retry policies match on that type. Renaming a class is an API
 * change. `retryable` says whether trying the same call again may succeed.
 */
export abstract class SnapsetError extends Error {
  /** Whether the same call may succeed when tried again (network, 5xx, 409, timeouts). */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Plain, secret-free details carried into `ApplicationFailure.details`. */
  details(): Record<string, unknown> {
    return {};
  }
}

/** One problem found in an input: where it is and what was expected. */
export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `snapsetData.instances.master0.uuid`. */
  path: string;
  message: string;
}

/** Thrown when an input (workflow input, config file, CLI argument) is not acceptable. Never retryable. */
export class ValidationError extends SnapsetError {
  readonly retryable = false;
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[], options?: { source?: string }) {
    const where = options?.source ? `${options.source}: ` : '';
    super(`${where}invalid input: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }

  override details(): Record<string, unknown> {
    return { issues: this.issues };
  }
}

/** Thrown when local configuration (clouds.yaml, temporal-dev.yml, key files) is missing or wrong. Never retryable. */
export class ConfigError extends SnapsetError {
  readonly retryable = false;
}

/** One read-only check made before anything is changed (DESIGN §5 step 1b). */
export interface PreflightCheck {
  /** What was checked, e.g. `cloud auth`, `instance master0`, `controller host key`. */
  check: string;
  ok: boolean;
  /** What was found. */
  message: string;
  /** What to do about it, when it failed. */
  hint?: string;
  /** The instance the check is about. */
  instance?: string;
}

/** Thrown when a preflight check failed: nothing was changed. Lists every failed check with what to do. Never retryable. */
export class PreflightError extends SnapsetError {
  readonly retryable = false;
  constructor(readonly failed: PreflightCheck[]) {
    super(`preflight failed, nothing was changed: ${failed.map((c) => `${c.check}: ${c.message}${c.hint ? ` (${c.hint})` : ''}`).join('; ')}`);
  }
  override details(): Record<string, unknown> {
    return { failed: this.failed };
  }
}

/** Thrown when a set does not pass verification (an image missing, not active or lacking tags). Never retryable. */
export class SnapsetVerificationError extends SnapsetError {
  readonly retryable = false;
  constructor(
    readonly snapId: string,
    readonly problems: string[],
  ) {
    super(`SnapSet ${snapId} failed verification: ${problems.join('; ')}`);
  }
  override details(): Record<string, unknown> {
    return { snapId: this.snapId, problems: this.problems };
  }
}

/**
 * Thrown when a VM of a set being captured is no longer SHUTOFF (somebody started it) before one of
 * its images was taken (again): the set could no longer be consistent. Never retryable.
 */
export class ConsistencyLostError extends SnapsetError {
  readonly retryable = false;
  constructor(readonly notShutoff: Record<string, string>) {
    super(
      `consistency lost: ${Object.entries(notShutoff)
        .map(([name, status]) => `${name} is ${status}`)
        .join(', ')} while its SnapSet was being captured (every VM must stay SHUTOFF until every image is taken)`,
    );
  }
  override details(): Record<string, unknown> {
    return { notShutoff: this.notShutoff };
  }
}

/**
 * ApplicationFailure types that workflows and clients match on. Each is the `name` of an error class
 * (src/shared, src/openstack, src/cluster) or of a failure a workflow throws itself; kept here so that
 * code matching them (workflows, retry policies, the CLI) never spells them by hand.
 */
export const FailureTypes = {
  validation: 'ValidationError',
  config: 'ConfigError',
  cloudConfig: 'CloudConfigError',
  preflight: 'PreflightError',
  /** Thrown by a workflow: another run holds the stack. */
  stackLocked: 'StackLockedError',
  /** Thrown by reviveSnapset: the set is incomplete, too old or another stack's (and `force` was not given). */
  notRevivable: 'SnapsetNotRevivableError',
  /** Thrown by a workflow: the set failed verification. */
  verification: 'SnapsetVerificationError',
  waitTimeout: 'OpenStackWaitTimeoutError',
  resourceFailed: 'OpenStackResourceFailedError',
  notFound: 'OpenStackNotFoundError',
  unauthorized: 'OpenStackUnauthorizedError',
  hostKey: 'HostKeyVerificationError',
  sshAuth: 'SshAuthenticationError',
  sshConnection: 'SshConnectionError',
  clusterWaitTimeout: 'ClusterWaitTimeoutError',
  /** A VM of the set was started while the set was being captured. */
  consistencyLost: 'ConsistencyLostError',
} as const;
