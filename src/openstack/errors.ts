import { ConfigError, SnapsetError } from '../shared/errors.js';

/**
 * Errors of the OpenStack client. Class names are API: they become `ApplicationFailure.type`.
 *
 * None of them ever carries a password, token, application-credential secret or a request body:
 * only method, URL (without query secrets — we never put secrets in URLs), status, request id and
 * the service's own message.
 */

/** What an HTTP failure knows about the call that failed. */
export interface HttpCallInfo {
  method: string;
  url: string;
  /** Service type from the catalog (`identity`, `compute`, `image`). */
  service?: string;
}

/** Thrown when a service answers with a status the call does not accept. Subclasses per status family. */
export class OpenStackHttpError extends SnapsetError {
  /** 429 and 5xx-like statuses without their own subclass may succeed later. */
  readonly retryable: boolean;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly requestId: string | undefined;
  readonly service: string | undefined;
  /** The service's own message (Nova `itemNotFound.message`, Keystone `error.message`, Glance `message`). */
  readonly serviceMessage: string;
  /** Statuses the call would have accepted. */
  readonly expected: number[];

  constructor(call: HttpCallInfo & { status: number; requestId?: string; serviceMessage: string; expected?: number[] }, options?: { cause?: unknown }) {
    const rid = call.requestId ? ` [${call.requestId}]` : '';
    super(`${call.method} ${call.url} → ${call.status}${rid}: ${call.serviceMessage}`, options);
    this.method = call.method;
    this.url = call.url;
    this.status = call.status;
    this.requestId = call.requestId;
    this.service = call.service;
    this.serviceMessage = call.serviceMessage;
    this.expected = call.expected ?? [];
    this.retryable = call.status === 429 || call.status >= 500;
  }

  override details(): Record<string, unknown> {
    return {
      method: this.method,
      url: this.url,
      status: this.status,
      requestId: this.requestId ?? null,
      service: this.service ?? null,
      message: this.serviceMessage,
      expected: this.expected,
    };
  }
}

/** Thrown on 400: the request is malformed or names an invalid value. */
export class OpenStackBadRequestError extends OpenStackHttpError {
  override readonly retryable = false;
}

/** Thrown on 401 that persists after one re-authentication: credentials are wrong or revoked. */
export class OpenStackUnauthorizedError extends OpenStackHttpError {
  override readonly retryable = false;
}

/** Thrown on 403: the credentials lack the role or the policy forbids the call. */
export class OpenStackForbiddenError extends OpenStackHttpError {
  override readonly retryable = false;
}

/** Thrown on 404: the server, image or tag does not exist (anymore). */
export class OpenStackNotFoundError extends OpenStackHttpError {
  override readonly retryable = false;
}

/** Thrown on 409: the resource is busy (task in progress) or in a state the call does not allow yet. */
export class OpenStackConflictError extends OpenStackHttpError {
  override readonly retryable = true;
}

/** Thrown on 5xx: the service failed; the same call may succeed later. */
export class OpenStackServerError extends OpenStackHttpError {
  override readonly retryable = true;
}

/** Thrown when no HTTP answer came back (connection refused/reset, DNS, TLS). */
export class OpenStackNetworkError extends SnapsetError {
  readonly retryable = true;
  constructor(
    readonly call: HttpCallInfo,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${call.method} ${call.url}: network error: ${reason}`, options);
  }
  override details(): Record<string, unknown> {
    return { method: this.call.method, url: this.call.url, service: this.call.service ?? null, reason: this.reason };
  }
}

/** Thrown when one HTTP request took longer than the client's request timeout. */
export class OpenStackTimeoutError extends SnapsetError {
  readonly retryable = true;
  constructor(
    readonly call: HttpCallInfo,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${call.method} ${call.url}: no answer within ${timeoutMs} ms`, options);
  }
  override details(): Record<string, unknown> {
    return { method: this.call.method, url: this.call.url, service: this.call.service ?? null, timeoutMs: this.timeoutMs };
  }
}

/** Thrown when clouds.yaml / secure.yaml is missing, unreadable or lacks a key; names the file and key. */
export class CloudConfigError extends ConfigError {
  constructor(
    message: string,
    readonly where: { file?: string; key?: string; cloud?: string } = {},
  ) {
    const loc = [where.file, where.key].filter(Boolean).join(': ');
    super(loc ? `${loc}: ${message}` : message);
  }
  override details(): Record<string, unknown> {
    return { file: this.where.file ?? null, key: this.where.key ?? null, cloud: this.where.cloud ?? null };
  }
}

/** Thrown when the catalog has no endpoint for a service with the wanted interface and region. */
export class OpenStackEndpointNotFoundError extends ConfigError {
  constructor(
    readonly serviceType: string,
    readonly iface: string,
    readonly region: string | undefined,
    readonly available: string[],
  ) {
    super(
      `no ${serviceType} endpoint with interface ${iface}${region ? ` in region ${region}` : ''} in the service catalog` +
        ` (available: ${available.length ? available.join(', ') : 'none'})`,
    );
  }
  override details(): Record<string, unknown> {
    return { serviceType: this.serviceType, interface: this.iface, region: this.region ?? null, available: this.available };
  }
}

/** Thrown when a waited-for resource reached a failure state (`killed`/`deleted` image, `ERROR` server). */
export class OpenStackResourceFailedError extends SnapsetError {
  readonly retryable = false;
  constructor(
    readonly resource: 'server' | 'image' | 'volume snapshot',
    readonly id: string,
    readonly status: string,
    message?: string,
  ) {
    super(message ?? `${resource} ${id} is ${status}`);
  }
  override details(): Record<string, unknown> {
    return { resource: this.resource, id: this.id, status: this.status };
  }
}

/** Thrown when a wait ran out of time; names the resources and their last status. */
export class OpenStackWaitTimeoutError extends SnapsetError {
  readonly retryable = false;
  constructor(
    readonly resource: 'server' | 'image' | 'volume snapshot',
    readonly lastStatuses: Record<string, string>,
    readonly timeoutSeconds: number,
    readonly wanted: string,
    /** id → what the user calls it (an instance name), for the message. */
    labels: Record<string, string> = {},
  ) {
    const pending = Object.entries(lastStatuses)
      .filter(([, s]) => s.toLowerCase() !== wanted.toLowerCase())
      .map(([id, s]) => (labels[id] ? `${labels[id]} (${id}) ${s}` : `${id}=${s}`));
    super(`timed out after ${timeoutSeconds} s waiting for ${resource}s to be ${wanted}: ${pending.join(', ')}`);
  }
  override details(): Record<string, unknown> {
    return { resource: this.resource, lastStatuses: this.lastStatuses, timeoutSeconds: this.timeoutSeconds, wanted: this.wanted };
  }
}

const BY_STATUS: Record<number, typeof OpenStackHttpError> = {
  400: OpenStackBadRequestError,
  401: OpenStackUnauthorizedError,
  403: OpenStackForbiddenError,
  404: OpenStackNotFoundError,
  409: OpenStackConflictError,
};

/** The error class for an unexpected status (subclass per family, base class otherwise). */
export function httpErrorFor(call: HttpCallInfo & { status: number; requestId?: string; serviceMessage: string; expected?: number[] }): OpenStackHttpError {
  const cls = BY_STATUS[call.status] ?? (call.status >= 500 ? OpenStackServerError : OpenStackHttpError);
  return new cls(call);
}
