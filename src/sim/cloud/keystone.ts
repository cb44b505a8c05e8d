import { authToken, header, INVALID_JSON, title, type ServiceContext, type SimReply, type SimRequest, type SimRoute } from './http.js';
import { isoMicros, type SimToken } from './state.js';

/**
 * Keystone v3 subset (Identity API v3 reference, "Authentication and token management"):
 * `GET /` (300, the versions), `GET /v3`, `POST /v3/auth/tokens` (password, application_credential, token) → 201 with the
 * token id in `X-Subject-Token`, `GET /v3/auth/tokens` (validate).
 */

export function keystoneError(status: number, message: string, identityUri?: string): SimReply {
  return {
    status,
    headers: status === 401 && identityUri ? { 'WWW-Authenticate': `Keystone uri="${identityUri}"` } : undefined,
    json: { error: { code: status, message, title: title(status) } },
  };
}

const AUTH_REQUIRED = 'The request you have made requires authentication.';

function malformed(what: string): SimReply {
  return keystoneError(
    400,
    `Expecting to find ${what}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`,
  );
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function keystoneRoute(ctx: ServiceContext, req: SimRequest): SimRoute | SimReply {
  const identityUri = req.serviceRoot;
  const p = req.path.replace(/\/+$/, '') || '/';
  if (p === '/v3' || p === '/') {
    if (req.method !== 'GET')
      return { ...keystoneError(405, 'The requested method is not allowed for this resource.'), headers: { Allow: 'GET, HEAD, OPTIONS' } };
    const version = {
      id: 'v3.14',
      status: 'stable',
      updated: '2020-04-07T00:00:00Z',
      links: [{ rel: 'self', href: `${identityUri}/v3/` }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
    };
    // Identity API v3 reference, "Versions": the unversioned root is 300 Multiple Choices listing them.
    return {
      endpoint: 'identity.versions',
      handle: () => (p === '/' ? { status: 300, json: { versions: { values: [version] } } } : { status: 200, json: { version } }),
    };
  }
  if (p === '/v3/auth/tokens') {
    if (req.method === 'POST') return { endpoint: 'identity.tokens.create', handle: () => issue(ctx, req, identityUri) };
    if (req.method === 'GET') return { endpoint: 'identity.tokens.validate', handle: () => validate(ctx, req, identityUri) };
    return { ...keystoneError(405, 'The requested method is not allowed for this resource.'), headers: { Allow: 'GET, HEAD, POST, DELETE' } };
  }
  return keystoneError(404, 'The resource could not be found.');
}

function tokenBody(ctx: ServiceContext, req: SimRequest, t: SimToken): Obj {
  const c = ctx.state.cloud;
  const domain = { id: c.domainId, name: c.domainName };
  const regions = [c.region, ...c.extraRegions];
  const endpoints = (service: string, suffix: string, idPrefix = service.slice(0, 3)) =>
    regions.flatMap((region, ri) =>
      (['public', 'internal', 'admin'] as const).map((iface, ii) => ({
        id: `${idPrefix}${ri}${ii}`.padEnd(32, '0'),
        interface: iface,
        region,
        region_id: region,
        url: `${req.origin}${region === c.region ? '' : `/r/${encodeURIComponent(region)}`}${iface === 'public' ? '' : `/${iface}`}/${service}${suffix}`,
      })),
    );
  const token: Obj = {
    methods: t.methods,
    user: { domain, id: c.userId, name: c.username, password_expires_at: null },
    audit_ids: [t.auditId],
    expires_at: isoMicros(t.expiresAt),
    issued_at: isoMicros(t.issuedAt),
    project: { domain, id: c.projectId, name: c.projectName },
    is_domain: false,
    roles: [
      { id: '4f1a2b3c4d5e6f708192a3b4c5d6e7f8', name: 'member' },
      { id: '8e7d6c5b4a3928170f6e5d4c3b2a1908', name: 'reader' },
    ],
    catalog: [
      { endpoints: endpoints('identity', ''), id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', type: 'identity', name: 'keystone' },
      { endpoints: endpoints('compute', '/v2.1'), id: 'b2c3d4e5f60718293a4b5c6d7e8f90a1', type: 'compute', name: 'nova' },
      { endpoints: endpoints('image', ''), id: 'c3d4e5f60718293a4b5c6d7e8f90a1b2', type: 'image', name: 'glance' },
      // As devstack registers Cinder (lib/cinder `create_cinder_accounts`): the official type
      // `block-storage` and the legacy `volumev3`, both with the project in the URL.
      { endpoints: endpoints('volume', `/v3/${c.projectId}`, 'b5'), id: 'd4e5f60718293a4b5c6d7e8f90a1b2c3', type: 'block-storage', name: 'cinder' },
      { endpoints: endpoints('volume', `/v3/${c.projectId}`, 'c3'), id: 'e5f60718293a4b5c6d7e8f90a1b2c3d4', type: 'volumev3', name: 'cinderv3' },
    ],
  };
  if (t.appCredential) {
    token.application_credential = { id: c.applicationCredential.id, name: c.applicationCredential.name, restricted: true };
  }
  return { token };
}

/** A user reference `{id}` or `{name, domain: {id|name}}` is ours. Undefined = malformed (with reply). */
function userMatches(ctx: ServiceContext, user: unknown): boolean | SimReply {
  const c = ctx.state.cloud;
  if (!isObj(user)) return malformed('user');
  if (typeof user.id === 'string') return user.id === c.userId;
  if (typeof user.name !== 'string') return malformed('id or name in user');
  if (!isObj(user.domain)) return malformed('domain in user');
  const d = user.domain;
  const domainOk = typeof d.id === 'string' ? d.id === c.domainId : d.name === c.domainName;
  return domainOk && user.name === c.username;
}

function scopeOk(ctx: ServiceContext, scope: unknown): boolean | SimReply {
  const c = ctx.state.cloud;
  if (scope === undefined) return true; // scoped to the user's default project, as Keystone does
  if (!isObj(scope)) return malformed('scope');
  if (scope.system !== undefined) return false;
  if (isObj(scope.project)) {
    const pr = scope.project;
    if (typeof pr.id === 'string') return pr.id === c.projectId;
    if (typeof pr.name !== 'string') return malformed('project id or name');
    if (!isObj(pr.domain)) return malformed('domain in project');
    const d = pr.domain;
    const domainOk = typeof d.id === 'string' ? d.id === c.domainId : d.name === c.domainName;
    return domainOk && pr.name === c.projectName;
  }
  if (isObj(scope.domain)) return false; // the simulated user has no domain role
  return malformed('project or domain in scope');
}

function issue(ctx: ServiceContext, req: SimRequest, identityUri: string): SimReply {
  const c = ctx.state.cloud;
  const unauthorized = () => keystoneError(401, AUTH_REQUIRED, identityUri);
  if (req.body === INVALID_JSON) return keystoneError(400, 'Malformed request body.');
  const auth = isObj(req.body) ? req.body.auth : undefined;
  if (!isObj(auth)) return malformed('auth');
  const identity = auth.identity;
  if (!isObj(identity)) return malformed('identity');
  const methods = identity.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string')) {
    return malformed('methods');
  }
  const method = methods[0] as string;
  const scope = scopeOk(ctx, auth.scope);
  if (typeof scope !== 'boolean') return scope;

  if (method === 'password') {
    const pw = identity.password;
    if (!isObj(pw) || !isObj(pw.user)) return malformed('user in password');
    const who = userMatches(ctx, pw.user);
    if (typeof who !== 'boolean') return who;
    if (!who || pw.user.password !== c.password || !scope) return unauthorized();
    return issued(ctx, req, ctx.state.issueToken(['password']));
  }
  if (method === 'application_credential') {
    const ac = identity.application_credential;
    if (!isObj(ac)) return malformed('application_credential');
    if (typeof ac.secret !== 'string') return malformed('secret in application_credential');
    let known: boolean;
    if (typeof ac.id === 'string') known = ac.id === c.applicationCredential.id;
    else if (typeof ac.name === 'string') {
      const who = userMatches(ctx, ac.user);
      if (typeof who !== 'boolean') return who;
      known = who && ac.name === c.applicationCredential.name;
    } else return malformed('id or name in application_credential');
    if (!known || ac.secret !== c.applicationCredential.secret) return unauthorized();
    if (auth.scope !== undefined) return keystoneError(401, 'Application credentials cannot request a scope.', identityUri);
    return issued(ctx, req, ctx.state.issueToken(['application_credential'], { appCredential: true }));
  }
  if (method === 'token') {
    const tk = identity.token;
    if (!isObj(tk) || typeof tk.id !== 'string') return malformed('token');
    const source = ctx.state.validToken(tk.id);
    if (!source || !scope) return unauthorized();
    // A token made from a token keeps the original expiry (Keystone never extends a token's life).
    return issued(
      ctx,
      req,
      ctx.state.issueToken([...new Set(['token', ...source.methods])], { appCredential: source.appCredential, expiresAt: source.expiresAt }),
    );
  }
  return unauthorized();
}

function issued(ctx: ServiceContext, req: SimRequest, t: SimToken): SimReply {
  const nocatalog = req.query.has('nocatalog');
  const body = tokenBody(ctx, req, t);
  if (nocatalog) delete (body.token as Obj).catalog;
  return { status: 201, headers: { 'X-Subject-Token': t.id }, json: body };
}

function validate(ctx: ServiceContext, req: SimRequest, identityUri: string): SimReply {
  if (!ctx.state.validToken(authToken(req))) return keystoneError(401, AUTH_REQUIRED, identityUri);
  const subject = ctx.state.validToken(header(req, 'x-subject-token'));
  if (!subject) return keystoneError(404, 'Could not find token.');
  return { status: 200, headers: { 'X-Subject-Token': subject.id }, json: tokenBody(ctx, req, subject) };
}
