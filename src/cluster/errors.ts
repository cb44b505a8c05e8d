/**
 * Typed errors of the cluster side (SSH to the controller, `oc` on it). Class names are API: they
 * become `ApplicationFailure.type`. `details()` never carries key material, only the endpoint,
 * exit codes, the `oc` verb and a bounded stderr tail.
 */
import { SnapsetError } from '../shared/errors.js';

/** Longest stderr/stdout tail carried in an error (characters). */
export const TAIL_CHARS = 2000;

/** The last `max` characters of `text`, for error messages and details. */
export function tail(text: string, max = TAIL_CHARS): string {
  const t = text.trimEnd();
  return t.length <= max ? t : `…${t.slice(t.length - max)}`;
}

interface Endpoint {
  host: string;
  port: number;
}

/** Thrown when the controller cannot be reached: refused, reset, unreachable, DNS, handshake timeout. Retryable. */
export class SshConnectionError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly endpoint: Endpoint,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details(): Record<string, unknown> {
    return { host: this.endpoint.host, port: this.endpoint.port, code: this.code };
  }
}

/** Thrown when the controller's host key is unknown or does not match known_hosts / the pinned fingerprint. Never retryable. */
export class HostKeyVerificationError extends SnapsetError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly endpoint: Endpoint,
    /** SHA256 fingerprint of the key the server presented (public information). */
    readonly presentedFingerprint: string | undefined,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { host: this.endpoint.host, port: this.endpoint.port, presentedFingerprint: this.presentedFingerprint };
  }
}

/** Thrown when the controller rejects every authentication method (key file or ssh-agent). Never retryable. */
export class SshAuthenticationError extends SnapsetError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly endpoint: Endpoint & { user: string },
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { host: this.endpoint.host, port: this.endpoint.port, user: this.endpoint.user };
  }
}

/** Thrown when the SSH connection is lost while a command runs (no exit status received). Retryable. */
export class SshSessionDroppedError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly verb: string,
    readonly stderrTail: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { verb: this.verb, stderrTail: this.stderrTail };
  }
}

/** Thrown when a remote command runs longer than its bound; the channel is closed. Retryable. */
export class CommandTimeoutError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly verb: string,
    readonly timeoutMs: number,
    readonly stderrTail: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { verb: this.verb, timeoutMs: this.timeoutMs, stderrTail: this.stderrTail };
  }
}

/**
 * Thrown when a remote command exits non-zero. Retryable unless the output shows a usage or
 * validation problem that a retry cannot fix (unknown flag, NotFound, Forbidden, bad argument).
 */
export class RemoteCommandError extends SnapsetError {
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly verb: string,
    readonly exitCode: number | null,
    readonly signal: string | undefined,
    readonly stderrTail: string,
    retryable: boolean,
  ) {
    super(message);
    this.retryable = retryable;
  }
  override details(): Record<string, unknown> {
    return { verb: this.verb, exitCode: this.exitCode, signal: this.signal, stderrTail: this.stderrTail };
  }
}

/** Thrown when the cluster's API server does not answer `oc` (refused, unreachable, 503). Retryable. */
export class ClusterApiUnavailableError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly verb: string,
    readonly stderrTail: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { verb: this.verb, stderrTail: this.stderrTail };
  }
}

/** Thrown when a node named in the input is not a node of the cluster. Never retryable. */
export class NodeNotFoundError extends SnapsetError {
  readonly retryable = false;
  constructor(readonly nodes: string[]) {
    super(`node(s) not found in the cluster: ${nodes.join(', ')}`);
  }
  override details(): Record<string, unknown> {
    return { nodes: this.nodes };
  }
}

/** Thrown when `oc adm wait-for-stable-cluster` gives up (cluster operators never stable long enough). Retryable. */
export class ClusterNotStableError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly outputTail: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { verb: 'adm wait-for-stable-cluster', exitCode: this.exitCode, outputTail: this.outputTail };
  }
}

/** Thrown when one or more nodes could not be told to shut down (`oc debug node/N`). Retryable. */
export class NodeShutdownError extends SnapsetError {
  readonly retryable = true;
  constructor(
    readonly failures: { node: string; error: string; exitCode?: number | null }[],
    readonly scheduled: string[],
  ) {
    super(`could not shut down node(s) ${failures.map((f) => `${f.node} (${f.error})`).join('; ')}`);
  }
  override details(): Record<string, unknown> {
    return { failures: this.failures, scheduled: this.scheduled };
  }
}

/** Thrown when the controller's shutdown command fails before the host goes down. */
export class ControllerShutdownError extends SnapsetError {
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
    retryable: boolean,
  ) {
    super(message);
    this.retryable = retryable;
  }
  override details(): Record<string, unknown> {
    return { verb: 'shutdown', exitCode: this.exitCode, stderrTail: this.stderrTail };
  }
}

/** Thrown when a polled condition (route API, nodes Ready) is not reached in time. Retryable. */
export class ClusterWaitTimeoutError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly waitingFor: string,
    readonly timeoutSeconds: number,
    readonly last: Record<string, unknown>,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { waitingFor: this.waitingFor, timeoutSeconds: this.timeoutSeconds, last: this.last };
  }
}

/** Thrown when `oc` printed something that is not what the real `oc` prints (bad JSON, missing fields). Retryable. */
export class OcOutputError extends SnapsetError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly verb: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { verb: this.verb };
  }
}
