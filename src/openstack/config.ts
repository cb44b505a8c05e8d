import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CloudConfigError } from './errors.js';

/**
 * clouds.yaml resolution as openstacksdk does it (openstack/config/loader.py):
 * the first existing `clouds.{yaml,yml,json}` of the search path wins, `OS_CLIENT_CONFIG_FILE` goes
 * in front; `secure.{yaml,yml,json}` from the same path (`OS_CLIENT_SECURE_FILE` in front) is
 * deep-merged on top; the cloud is the one asked for, else `OS_CLOUD`, else the only cloud there is.
 */

export type AuthType = 'password' | 'v3password' | 'v3applicationcredential' | 'v3token' | 'token';
export type Interface = 'public' | 'internal' | 'admin';

/** The auth section of one cloud. Secrets live only here and in the session; never log this object. */
export interface CloudAuth {
  auth_url: string;
  username?: string;
  user_id?: string;
  password?: string;
  user_domain_name?: string;
  user_domain_id?: string;
  project_name?: string;
  project_id?: string;
  project_domain_name?: string;
  project_domain_id?: string;
  domain_name?: string;
  domain_id?: string;
  application_credential_id?: string;
  application_credential_name?: string;
  application_credential_secret?: string;
  token?: string;
}

/** One resolved cloud: everything the session needs. */
export interface CloudConfig {
  /** Name of the cloud in clouds.yaml. */
  name: string;
  /** The clouds.yaml it came from (secure.yaml, if any, in `secureFile`). */
  file: string;
  secureFile?: string;
  authType: 'password' | 'v3applicationcredential' | 'v3token';
  auth: CloudAuth;
  regionName?: string;
  /** @default 'public' */
  interface: Interface;
  /** `<service>_endpoint_override` by service type (`compute`, `image`, `identity`). */
  endpointOverrides: Record<string, string>;
  /** PEM file of the CA bundle (`cacert`). */
  cacert?: string;
  /** TLS verification (`verify`, or the inverse of `insecure`). @default true */
  verify: boolean;
  /** Client certificate and key files (`cert`, `key`). */
  cert?: string;
  key?: string;
}

export interface ConfigLookupOptions {
  /** Environment to read `OS_*` variables from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Directory standing for openstacksdk's `os.getcwd()`. @default process.cwd() */
  cwd?: string;
  /** Home directory (`~`). @default os.homedir() */
  home?: string;
}

const SUFFIXES = ['.yaml', '.yml', '.json'];

/** The directories openstacksdk searches, in order, without duplicates. */
export function configSearchPath(opts: ConfigLookupOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const home = opts.home ?? env.HOME ?? homedir();
  const cwd = opts.cwd ?? process.cwd();
  // platformdirs' user_config_dir honours XDG_CONFIG_HOME; its site dirs come from XDG_CONFIG_DIRS.
  const xdgHome = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
  const xdgDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter((d) => isAbsolute(d));
  const dirs = [cwd, join(xdgHome, 'openstack'), join(home, '.config', 'openstack'), ...xdgDirs.map((d) => join(d, 'openstack')), '/etc/openstack'];
  return [...new Set(dirs)];
}

/** Candidate files for `clouds` or `secure`, with the env override first. */
export function configFileCandidates(kind: 'clouds' | 'secure', opts: ConfigLookupOptions = {}): string[] {
  const env = opts.env ?? process.env;
  const files = configSearchPath(opts).flatMap((d) => SUFFIXES.map((s) => join(d, kind + s)));
  const override = kind === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  if (override) files.unshift(resolve(opts.cwd ?? process.cwd(), override));
  return files;
}

async function loadFirst(files: string[]): Promise<{ file: string; data: Record<string, unknown> } | undefined> {
  for (const file of files) {
    if (!existsSync(file)) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      // openstacksdk skips files it may not read (EACCES) and keeps looking.
      if ((err as NodeJS.ErrnoException).code === 'EACCES') continue;
      throw new CloudConfigError(`cannot read: ${(err as Error).message}`, { file });
    }
    let data: unknown;
    try {
      data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new CloudConfigError(`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { file });
    }
    if (data === null || data === undefined) data = {};
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new CloudConfigError('expected a mapping at the top level', { file });
    }
    return { file, data: data as Record<string, unknown> };
  }
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** openstacksdk's `_util.merge_clouds`: nested mappings merge, everything else is replaced. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** The merged configuration and where it came from. */
export interface LoadedConfig {
  file: string;
  secureFile?: string;
  clouds: Record<string, Record<string, unknown>>;
}

/** Reads clouds.yaml (+ secure.yaml) from the openstacksdk search path. */
export async function loadCloudsFile(opts: ConfigLookupOptions = {}): Promise<LoadedConfig> {
  const main = await loadFirst(configFileCandidates('clouds', opts));
  if (!main) {
    throw new CloudConfigError(`no clouds.yaml found (searched OS_CLIENT_CONFIG_FILE, then ${configSearchPath(opts).join(', ')})`);
  }
  const secure = await loadFirst(configFileCandidates('secure', opts));
  const merged = secure ? deepMerge(main.data, secure.data) : main.data;
  const clouds = merged.clouds ?? {};
  if (!isPlainObject(clouds)) throw new CloudConfigError('expected a mapping of clouds', { file: main.file, key: 'clouds' });
  for (const [name, c] of Object.entries(clouds)) {
    if (!isPlainObject(c)) throw new CloudConfigError('expected a mapping', { file: main.file, key: `clouds.${name}` });
  }
  return { file: main.file, secureFile: secure?.file, clouds: clouds as Record<string, Record<string, unknown>> };
}

function str(v: unknown, file: string, key: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new CloudConfigError('expected a string', { file, key });
}

function bool(v: unknown, file: string, key: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false|yes|no)$/i.test(v)) return /^(true|yes)$/i.test(v);
  throw new CloudConfigError('expected true or false', { file, key });
}

const AUTH_KEYS: (keyof CloudAuth)[] = [
  'auth_url',
  'username',
  'user_id',
  'password',
  'user_domain_name',
  'user_domain_id',
  'project_name',
  'project_id',
  'project_domain_name',
  'project_domain_id',
  'domain_name',
  'domain_id',
  'application_credential_id',
  'application_credential_name',
  'application_credential_secret',
  'token',
];

/** Picks the cloud to use: the one asked for, else `OS_CLOUD`, else the only one. */
export function selectCloudName(loaded: LoadedConfig, wanted: string | undefined, env: NodeJS.ProcessEnv): string {
  const names = Object.keys(loaded.clouds);
  const name = wanted || env.OS_CLOUD || (names.length === 1 ? names[0] : undefined);
  if (!name) {
    throw new CloudConfigError(`no cloud chosen: set OS_CLOUD or pass a cloud name (clouds defined: ${names.join(', ') || 'none'})`, {
      file: loaded.file,
      key: 'clouds',
    });
  }
  if (!loaded.clouds[name]) {
    throw new CloudConfigError(`cloud "${name}" is not defined (clouds defined: ${names.join(', ') || 'none'})`, {
      file: loaded.file,
      key: `clouds.${name}`,
      cloud: name,
    });
  }
  return name;
}

/** Validates one cloud entry and normalises it the way openstacksdk does. */
export function resolveCloud(loaded: LoadedConfig, name: string, cwd?: string): CloudConfig {
  const raw = loaded.clouds[name]!;
  const file = loaded.file;
  const k = (key: string) => `clouds.${name}.${key}`;
  if (raw.profile !== undefined) {
    throw new CloudConfigError('vendor profiles are not supported; put auth_url and the rest in the cloud entry', {
      file,
      key: k('profile'),
      cloud: name,
    });
  }
  const authRaw = raw.auth ?? {};
  if (!isPlainObject(authRaw)) throw new CloudConfigError('expected a mapping', { file, key: k('auth'), cloud: name });
  const auth: Partial<CloudAuth> = {};
  for (const key of AUTH_KEYS) {
    const v = str(authRaw[key], file, k(`auth.${key}`));
    if (v !== undefined) auth[key] = v;
  }
  // openstacksdk's _handle_domain_id: a bare domain applies to both user and project.
  if (auth.domain_id) {
    auth.user_domain_id ??= auth.domain_id;
    auth.project_domain_id ??= auth.domain_id;
  }
  if (auth.domain_name) {
    auth.user_domain_name ??= auth.domain_name;
    auth.project_domain_name ??= auth.domain_name;
  }
  if (!auth.auth_url) throw new CloudConfigError('missing', { file, key: k('auth.auth_url'), cloud: name });

  const authTypeRaw = str(raw.auth_type, file, k('auth_type')) ?? (auth.application_credential_secret ? 'v3applicationcredential' : 'password');
  let authType: CloudConfig['authType'];
  switch (authTypeRaw.replace(/_/g, '').toLowerCase()) {
    case 'password':
    case 'v3password':
      authType = 'password';
      break;
    case 'v3applicationcredential':
    case 'applicationcredential':
      authType = 'v3applicationcredential';
      break;
    case 'v3token':
    case 'token':
      authType = 'v3token';
      break;
    default:
      throw new CloudConfigError(`unsupported auth_type "${authTypeRaw}" (supported: password, v3applicationcredential, v3token)`, {
        file,
        key: k('auth_type'),
        cloud: name,
      });
  }
  const need = (key: keyof CloudAuth, why: string) => {
    if (!auth[key]) throw new CloudConfigError(`missing (${why})`, { file, key: k(`auth.${key}`), cloud: name });
  };
  if (authType === 'password') {
    if (!auth.username && !auth.user_id) need('username', 'password auth needs username or user_id');
    need('password', 'password auth');
  } else if (authType === 'v3applicationcredential') {
    need('application_credential_secret', 'v3applicationcredential auth');
    if (!auth.application_credential_id && !auth.application_credential_name) {
      need('application_credential_id', 'v3applicationcredential auth needs an id, or a name plus the user');
    }
    if (!auth.application_credential_id && !auth.username && !auth.user_id) {
      need('username', 'an application credential given by name needs its user');
    }
  } else {
    need('token', 'v3token auth');
  }

  let iface = (str(raw.interface, file, k('interface')) ?? 'public').toLowerCase().replace(/url$/, '');
  if (!['public', 'internal', 'admin'].includes(iface)) {
    throw new CloudConfigError(`unknown interface "${iface}" (public, internal or admin)`, { file, key: k('interface'), cloud: name });
  }
  iface = iface as Interface;

  let regionName = str(raw.region_name, file, k('region_name'));
  if (!regionName && raw.regions !== undefined) {
    if (!Array.isArray(raw.regions)) throw new CloudConfigError('expected a list', { file, key: k('regions'), cloud: name });
    const first: unknown = raw.regions[0];
    regionName = isPlainObject(first) ? str(first.name, file, k('regions[0].name')) : str(first, file, k('regions[0]'));
  }

  const endpointOverrides: Record<string, string> = {};
  for (const [key, v] of Object.entries(raw)) {
    const m = /^([a-z][a-z0-9-]*)_endpoint_override$/.exec(key);
    if (m) {
      const url = str(v, file, k(key));
      if (url) endpointOverrides[m[1]!.replace(/-/g, '_')] = url;
    }
  }

  let verify = bool(raw.verify, file, k('verify'));
  const insecure = bool(raw.insecure, file, k('insecure'));
  if (verify === undefined) verify = insecure === undefined ? true : !insecure;
  const base = cwd ?? process.cwd();
  const pathOf = (key: string) => {
    const p = str(raw[key], file, k(key));
    return p ? resolve(base, p.replace(/^~(?=\/|$)/, homedir())) : undefined;
  };

  return {
    name,
    file,
    secureFile: loaded.secureFile,
    authType,
    auth: auth as CloudAuth,
    regionName,
    interface: iface as Interface,
    endpointOverrides,
    cacert: pathOf('cacert'),
    verify,
    cert: pathOf('cert'),
    key: pathOf('key'),
  };
}

/** Loads the named cloud (else `OS_CLOUD`, else the only one) from the openstacksdk search path. */
export async function loadCloudConfig(cloud?: string, opts: ConfigLookupOptions = {}): Promise<CloudConfig> {
  const env = opts.env ?? process.env;
  const loaded = await loadCloudsFile(opts);
  const name = selectCloudName(loaded, cloud, env);
  return resolveCloud(loaded, name, opts.cwd);
}
