import type { CloudConfig } from './config.js';
import { OpenStackUnauthorizedError } from './errors.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from './http.js';
import { issueToken, selectEndpoint, type Token } from './identity.js';

export interface SessionOptions {
  /** Shared transport (otherwise one is built from the cloud's TLS settings). */
  http?: HttpTransport;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /**
   * Renew a token this long before it expires (keystoneauth uses 120 s); for short-lived tokens at
   * most a third of their life so a token is still used at all.
   * @default 120000
   */
  expiryWindowMs?: number;
  /** Per-request timeout. @default 60000 */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** A request to a catalog service: a path below the service's versioned endpoint, or a full URL (`next` links). */
export type ServiceRequest = Omit<HttpRequest, 'url' | 'service'> & { path?: string; url?: string };

/** Where each service's versioned API lives below whatever the catalog or override says. */
const VERSIONED: Record<string, { test: RegExp; suffix: string }> = {
  compute: { test: /\/v2(\.1)?(\/[^/]*)?\/?$/, suffix: '/v2.1' },
  image: { test: /\/v2\/?$/, suffix: '/v2' },
  // Cinder: `…/v3` or `…/v3/{project_id}` (the project is added by the volume client when missing).
  volumev3: { test: /\/v3(\/[^/]+)?\/?$/, suffix: '/v3' },
  'block-storage': { test: /\/v3(\/[^/]+)?\/?$/, suffix: '/v3' },
};

export function versionedEndpoint(serviceType: string, url: string): string {
  const base = url.replace(/\/+$/, '');
  const v = VERSIONED[serviceType];
  if (!v || v.test.test(base)) return base;
  return base + v.suffix;
}

/**
 * A keystoneauth-like session for one cloud: one token, re-used until shortly before it expires,
 * renewed once when a service answers 401; endpoints from the token's catalog (or overrides).
 */
export class Session {
  readonly http: HttpTransport;
  private token?: Token;
  /** When the cached token expires by our clock (its lifetime counted from when we got it: immune to clock skew). */
  private tokenExpiresAt = 0;
  private tokenLifeMs = 0;
  private pending?: Promise<Token>;
  private readonly now: () => number;
  private readonly expiryWindowMs: number;
  private readonly ownsHttp: boolean;
  /** How many tokens this session has issued (tests, diagnostics). */
  authCount = 0;

  constructor(
    readonly cloud: CloudConfig,
    opts: SessionOptions = {},
  ) {
    this.ownsHttp = !opts.http;
    this.http =
      opts.http ??
      new HttpTransport({
        verify: cloud.verify,
        cacert: cloud.cacert,
        cert: cloud.cert,
        key: cloud.key,
        timeoutMs: opts.timeoutMs,
        log: opts.log,
      });
    this.now = opts.now ?? Date.now;
    this.expiryWindowMs = opts.expiryWindowMs ?? 120_000;
  }

  private fresh(): boolean {
    const window = Math.min(this.expiryWindowMs, Math.max(0, this.tokenLifeMs / 3));
    return this.now() + window < this.tokenExpiresAt;
  }

  /** The current token, issuing a new one when there is none or it is about to expire. */
  async getToken(signal?: AbortSignal): Promise<Token> {
    if (this.token && this.fresh()) return this.token;
    if (!this.pending) {
      this.pending = (async () => {
        try {
          // The auth call itself is not tied to one caller's signal: others may be waiting on it.
          const fetchedAt = this.now();
          const t = await issueToken(this.http, this.cloud);
          this.authCount++;
          this.tokenLifeMs = t.issuedAt ? t.expiresAt.getTime() - t.issuedAt.getTime() : t.expiresAt.getTime() - Date.now();
          this.tokenExpiresAt = fetchedAt + this.tokenLifeMs;
          this.token = t;
          return t;
        } finally {
          this.pending = undefined;
        }
      })();
    }
    if (!signal) return this.pending;
    return await Promise.race([
      this.pending,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    ]);
  }

  /** Drops the cached token if it is still the given one (so concurrent 401s re-auth once). */
  invalidate(tokenId?: string): void {
    if (!tokenId || this.token?.id === tokenId) this.token = undefined;
  }

  /** The versioned base URL of a service: `<service>_endpoint_override`, else the catalog. */
  async endpoint(serviceType: string, signal?: AbortSignal): Promise<string> {
    // clouds.yaml spells the key with `_` for a type with `-` (`block_storage_endpoint_override`).
    const override = this.cloud.endpointOverrides[serviceType] ?? this.cloud.endpointOverrides[serviceType.replace(/-/g, '_')];
    if (override) return versionedEndpoint(serviceType, override);
    const token = await this.getToken(signal);
    return versionedEndpoint(serviceType, selectEndpoint(token.catalog, serviceType, this.cloud.interface, this.cloud.regionName));
  }

  /** Sends an authenticated request to a service; on a 401 from the service re-authenticates once and retries. */
  async request(serviceType: string, req: ServiceRequest): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      // A 401 from Keystone itself (bad credentials) is final and propagates from here.
      const token = await this.getToken(req.signal);
      const url = req.url ?? (await this.endpoint(serviceType, req.signal)) + (req.path ?? '');
      try {
        return await this.http.request({
          ...req,
          url,
          service: serviceType,
          headers: { ...req.headers, 'X-Auth-Token': token.id },
        });
      } catch (err) {
        if (!(err instanceof OpenStackUnauthorizedError) || attempt > 1) throw err;
        this.invalidate(token.id);
      }
    }
  }

  close(): void {
    if (this.ownsHttp) this.http.close();
  }
}
