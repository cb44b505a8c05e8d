import type { CloudAuth, CloudConfig, Interface } from './config.js';
import { OpenStackEndpointNotFoundError, OpenStackNetworkError } from './errors.js';
import type { HttpTransport } from './http.js';

/** One endpoint of the Keystone v3 catalog. */
export interface CatalogEndpoint {
  id?: string;
  interface: string;
  region?: string;
  region_id?: string;
  url: string;
}

/** One service of the Keystone v3 catalog. */
export interface CatalogService {
  id?: string;
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/** An issued token. `id` is the secret `X-Subject-Token`; never log it. */
export interface Token {
  id: string;
  expiresAt: Date;
  issuedAt?: Date;
  methods: string[];
  projectId?: string;
  userId?: string;
  catalog: CatalogService[];
}

/** `auth_url` → the Keystone v3 base (`…/v3`). */
export function identityV3Url(authUrl: string): string {
  const u = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(u) ? u : `${u}/v3`;
}

function scopeOf(auth: CloudAuth): Record<string, unknown> | undefined {
  if (auth.project_id) return { project: { id: auth.project_id } };
  if (auth.project_name) {
    const domain = auth.project_domain_id ? { id: auth.project_domain_id } : auth.project_domain_name ? { name: auth.project_domain_name } : undefined;
    return { project: { name: auth.project_name, ...(domain ? { domain } : {}) } };
  }
  if (auth.domain_id) return { domain: { id: auth.domain_id } };
  if (auth.domain_name) return { domain: { name: auth.domain_name } };
  return undefined;
}

function userOf(auth: CloudAuth): Record<string, unknown> {
  if (auth.user_id) return { id: auth.user_id };
  const domain = auth.user_domain_id ? { id: auth.user_domain_id } : auth.user_domain_name ? { name: auth.user_domain_name } : undefined;
  return { name: auth.username, ...(domain ? { domain } : {}) };
}

/** The `POST /v3/auth/tokens` body for the cloud's auth type (keystoneauth's v3 plugins). */
export function authRequestBody(cloud: Pick<CloudConfig, 'authType' | 'auth'>): Record<string, unknown> {
  const a = cloud.auth;
  let identity: Record<string, unknown>;
  let scope: Record<string, unknown> | undefined = scopeOf(a);
  switch (cloud.authType) {
    case 'password':
      identity = { methods: ['password'], password: { user: { ...userOf(a), password: a.password } } };
      break;
    case 'v3applicationcredential': {
      const cred: Record<string, unknown> = a.application_credential_id
        ? { id: a.application_credential_id }
        : { name: a.application_credential_name, user: userOf(a) };
      identity = { methods: ['application_credential'], application_credential: { ...cred, secret: a.application_credential_secret } };
      // An application credential is bound to its project; Keystone rejects an explicit scope.
      scope = undefined;
      break;
    }
    case 'v3token':
      identity = { methods: ['token'], token: { id: a.token } };
      break;
  }
  return { auth: { identity, ...(scope ? { scope } : {}) } };
}

/** Turns a Keystone v3 token response into a {@link Token}. */
export function parseTokenResponse(subjectToken: string | undefined, body: unknown, url: string): Token {
  const t = (body as { token?: Record<string, unknown> } | undefined)?.token;
  if (!subjectToken || !t || typeof t.expires_at !== 'string') {
    throw new OpenStackNetworkError({ method: 'POST', url, service: 'identity' }, 'Keystone answered without X-Subject-Token or token.expires_at');
  }
  const project = t.project as { id?: string } | undefined;
  const user = t.user as { id?: string } | undefined;
  return {
    id: subjectToken,
    expiresAt: new Date(t.expires_at),
    issuedAt: typeof t.issued_at === 'string' ? new Date(t.issued_at) : undefined,
    methods: Array.isArray(t.methods) ? (t.methods as string[]) : [],
    projectId: project?.id,
    userId: user?.id,
    catalog: Array.isArray(t.catalog) ? (t.catalog as CatalogService[]) : [],
  };
}

/** Issues a token: `POST {auth_url}/v3/auth/tokens` → 201 + `X-Subject-Token`. */
export async function issueToken(http: HttpTransport, cloud: Pick<CloudConfig, 'authType' | 'auth'>, signal?: AbortSignal): Promise<Token> {
  const url = `${identityV3Url(cloud.auth.auth_url)}/auth/tokens`;
  const res = await http.request({
    method: 'POST',
    url,
    json: authRequestBody(cloud),
    expected: [201],
    signal,
    service: 'identity',
  });
  return parseTokenResponse(res.headers['x-subject-token'], res.body, url);
}

/** keystoneauth's endpoint selection: service type, then interface, then region (if given). */
export function selectEndpoint(catalog: CatalogService[], serviceType: string, iface: Interface, region?: string): string {
  const services = catalog.filter((s) => s.type === serviceType);
  const all = services.flatMap((s) => s.endpoints.map((e) => ({ ...e, iface: e.interface.replace(/URL$/, '') })));
  const match = all.find((e) => e.iface === iface && (!region || e.region_id === region || e.region === region));
  if (!match) {
    throw new OpenStackEndpointNotFoundError(
      serviceType,
      iface,
      region,
      all.map((e) => `${e.iface}@${e.region_id ?? e.region ?? '-'}`),
    );
  }
  return match.url;
}
