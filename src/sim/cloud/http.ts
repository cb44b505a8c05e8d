import type { IncomingHttpHeaders } from 'node:http';
import type { CloudState } from './state.js';

/** One request as a service module sees it (prefixes for region/interface/service already stripped). */
export interface SimRequest {
  method: string;
  /** Path below the service root, e.g. `/v3/auth/tokens`, `/v2.1/servers/{id}`, `/v2/images`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; `undefined` when empty; the `INVALID_JSON` symbol when it did not parse. */
  body: unknown;
  /** The body as sent (image data uploads). */
  rawBody: Buffer;
  /** `http://127.0.0.1:port`. */
  origin: string;
  /** The URL prefix of this service for this region/interface, e.g. `http://127.0.0.1:port/internal/compute`. */
  serviceRoot: string;
  region: string;
  iface: 'public' | 'internal' | 'admin';
  requestId: string;
}

export const INVALID_JSON = Symbol('invalid-json');

export interface SimReply {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
  contentType?: string;
}

/** A matched route: the endpoint name (counters/faults) and its handler. */
export interface SimRoute {
  endpoint: string;
  handle: () => SimReply | Promise<SimReply>;
}

/** What every service module gets. */
export interface ServiceContext {
  state: CloudState;
}

export const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function title(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** keystonemiddleware's answer to a missing/invalid token, the same in front of Nova and Glance. */
export function unauthorizedByMiddleware(identityUri: string): SimReply {
  return {
    status: 401,
    headers: { 'WWW-Authenticate': `Keystone uri="${identityUri}"` },
    json: { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
  };
}

/** What a load balancer in front of a service answers when the backend is gone (HAProxy's pages). */
export function gatewayError(status: number): SimReply {
  const text: Record<number, string> = {
    502: 'The server returned an invalid or incomplete response.',
    503: 'No server is available to handle this request.',
    504: "The server didn't respond in time.",
  };
  return {
    status,
    contentType: 'text/html',
    text: `<html><body><h1>${status} ${title(status)}</h1>\n${text[status] ?? 'Error.'}\n</body></html>\n`,
  };
}

/** The auth token of a request (`X-Auth-Token`). */
export function authToken(req: SimRequest): string | undefined {
  const v = req.headers['x-auth-token'];
  return Array.isArray(v) ? v[0] : v;
}

export function header(req: SimRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** nova/api/openstack/wsgi.py `Fault._fault_names` (Cinder's wsgi has the same); anything else is `computeFault`. */
const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** An OpenStack wsgi fault body: `{"itemNotFound": {"code": 404, "message": …}}`. */
export function openstackFault(status: number, message: string): SimReply {
  return { status, json: { [FAULT_NAMES[status] ?? 'computeFault']: { code: status, message } } };
}

/** A microversion `major.minor`. */
export type Mv = [number, number];
export const parseMv = (v: string): Mv | undefined => {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
};
export const mvAtLeast = (a: Mv, b: Mv) => a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
export const mvStr = (v: Mv) => `${v[0]}.${v[1]}`;
