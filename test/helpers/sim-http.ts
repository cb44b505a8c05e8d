/** Raw HTTP against the cloud simulator (no client of ours), for tests that check the API shapes themselves. */
import type { CloudSimulator } from '../../src/sim/cloud/index.js';

export interface RawResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

export interface RawCallOptions {
  /** JSON body (sent as `application/json` unless `headers` says otherwise). */
  body?: unknown;
  /** Bytes sent as they are (image data). */
  raw?: Buffer;
  headers?: Record<string, string>;
  /** Send the session's token. @default true */
  auth?: boolean;
}

export interface RawSession {
  call(method: string, path: string, opts?: RawCallOptions): Promise<RawResponse>;
  /** Gets a project-scoped token with the simulator's password; later calls send it. */
  login(): Promise<string>;
}

export function rawSession(sim: () => CloudSimulator): RawSession {
  let token = '';
  const call = async (method: string, path: string, opts: RawCallOptions = {}): Promise<RawResponse> => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (opts.auth !== false && token) headers['X-Auth-Token'] = token;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    Object.assign(headers, opts.headers);
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const res = await fetch(sim().baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text) as Record<string, unknown>;
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  const login = async () => {
    const s = sim();
    const r = await call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: s.cloud.username, domain: { name: s.cloud.domainName }, password: s.cloud.password } } },
          scope: { project: { name: s.cloud.projectName, domain: { id: s.cloud.domainId } } },
        },
      },
    });
    if (r.status !== 201) throw new Error(`login answered ${r.status}: ${r.text}`);
    token = r.headers.get('x-subject-token')!;
    return token;
  };
  return { call, login };
}
