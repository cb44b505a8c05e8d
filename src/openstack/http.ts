import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import fetch, { type RequestInit, type Response } from 'node-fetch';
import { CloudConfigError, httpErrorFor, OpenStackNetworkError, OpenStackTimeoutError, type HttpCallInfo } from './errors.js';

/** One HTTP call as the services see it. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  /** JSON body (serialised here). */
  json?: unknown;
  /** Statuses this call accepts (gophercloud's `OkCodes`); anything else throws. */
  expected: number[];
  signal?: AbortSignal;
  /** Overrides the transport's request timeout. */
  timeoutMs?: number;
  /** Service type for error messages. */
  service?: string;
}

export interface HttpResponse {
  status: number;
  url: string;
  headers: Record<string, string>;
  /** Parsed JSON when the answer is JSON, undefined for empty bodies. */
  body: unknown;
  requestId?: string;
}

export interface TransportOptions {
  /** @default true */
  verify?: boolean;
  /** CA bundle (PEM file) for self-signed clouds. */
  cacert?: string;
  /** Client certificate and key (PEM files). */
  cert?: string;
  key?: string;
  /** Per-request timeout. @default 60000 */
  timeoutMs?: number;
  /** Receives one line per request: method, URL, status, request id, duration. Never headers or bodies. */
  log?: (line: string) => void;
  userAgent?: string;
}

const MAX_MESSAGE = 500;

/** The service's own message from an error body (Nova, Keystone, Glance and webob shapes). */
export function extractServiceMessage(text: string, contentType: string | null): string {
  const trimmed = text.trim();
  if (!trimmed) return '(empty body)';
  if ((contentType ?? '').includes('json') || trimmed.startsWith('{')) {
    try {
      const obj = JSON.parse(trimmed) as unknown;
      if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
        const o = obj as Record<string, unknown>;
        const pick = (v: unknown): string | undefined =>
          v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string' ? (v as { message: string }).message : undefined;
        // Keystone / keystonemiddleware: {"error": {"code", "title", "message"}}
        // Nova: {"itemNotFound": {"code", "message"}}; Glance (webob JSON): {"code", "title", "message"}
        const msg =
          pick(o.error) ??
          (typeof o.message === 'string' ? o.message : undefined) ??
          Object.values(o)
            .map(pick)
            .find((m) => m !== undefined);
        if (msg) return clip(stripHtml(msg));
      }
    } catch {
      // fall through to text
    }
  }
  return clip(stripHtml(trimmed));
}

function stripHtml(s: string): string {
  return s
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}

/** Strips query values that could be secrets from URLs shown in errors and logs (we never send any, but be sure). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

/** Thrown by {@link HttpTransport.request} when the caller's signal aborted: the signal's reason, or an AbortError. */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error(typeof r === 'string' ? r : 'The operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** node-fetch with a TLS-aware agent, a per-request timeout, request ids and typed errors. */
export class HttpTransport {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;
  private readonly timeoutMs: number;
  private readonly log?: (line: string) => void;
  private readonly userAgent: string;

  constructor(opts: TransportOptions = {}) {
    const readPem = (file: string | undefined, key: string) => {
      if (!file) return undefined;
      try {
        return readFileSync(file);
      } catch (err) {
        throw new CloudConfigError(`cannot read ${key} file: ${(err as Error).message}`, { file, key });
      }
    };
    this.httpAgent = new HttpAgent({ keepAlive: true });
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      rejectUnauthorized: opts.verify ?? true,
      ca: readPem(opts.cacert, 'cacert'),
      cert: readPem(opts.cert, 'cert'),
      key: readPem(opts.key, 'key'),
    });
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.log = opts.log;
    this.userAgent = opts.userAgent ?? 'hotstack-snapset';
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const call: HttpCallInfo = { method: req.method, url: safeUrl(req.url), service: req.service };
    if (req.signal?.aborted) throw abortReason(req.signal);
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.userAgent,
      ...req.headers,
    };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['Content-Type'] ??= 'application/json';
    }
    const init: RequestInit = {
      method: req.method,
      headers,
      body,
      agent: (u: URL) => (u.protocol === 'https:' ? this.httpsAgent : this.httpAgent),
      signal: signal as RequestInit['signal'],
      redirect: 'follow',
    };
    const started = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(req.url, init);
      text = req.method === 'HEAD' ? '' : await res.text();
    } catch (err) {
      if (req.signal?.aborted) throw abortReason(req.signal);
      if (timeout.aborted) throw new OpenStackTimeoutError(call, timeoutMs, { cause: err });
      const e = err as NodeJS.ErrnoException;
      throw new OpenStackNetworkError(call, e.code ? `${e.code}: ${e.message}` : e.message, { cause: err });
    }
    const requestId = res.headers.get('x-openstack-request-id') ?? res.headers.get('x-compute-request-id') ?? undefined;
    this.log?.(`${req.method} ${call.url} → ${res.status}${requestId ? ` [${requestId}]` : ''} ${Date.now() - started} ms`);
    if (!req.expected.includes(res.status)) {
      throw httpErrorFor({
        ...call,
        status: res.status,
        requestId,
        serviceMessage: extractServiceMessage(text, res.headers.get('content-type')),
        expected: req.expected,
      });
    }
    let parsed: unknown;
    if (text.trim() && (res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new OpenStackNetworkError(call, `invalid JSON in ${res.status} response`, { cause: err });
      }
    }
    const outHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      outHeaders[k] = v;
    });
    return { status: res.status, url: req.url, headers: outHeaders, body: parsed, requestId };
  }

  /** Frees pooled sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
