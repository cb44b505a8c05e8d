import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudConfigError, configFileCandidates, HttpTransport, loadCloudConfig, authRequestBody, type ConfigLookupOptions } from '../src/openstack/index.js';

let root: string;
let cwd: string;
let home: string;

const PASSWORD_CLOUD = `
clouds:
  lab:
    auth:
      auth_url: https://keystone.example.com:5000/v3
      username: alice
      project_name: hotstack
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
`;

async function put(path: string, text: string): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

function opts(env: NodeJS.ProcessEnv = {}): ConfigLookupOptions {
  return { env: { HOME: home, ...env }, cwd, home };
}

void describe('clouds.yaml resolution (openstacksdk rules)', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'os-config-'));
    cwd = join(root, 'work');
    home = join(root, 'home');
    await mkdir(cwd, { recursive: true });
    await mkdir(home, { recursive: true });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  void test('search order: OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack, /etc/openstack; yaml, yml, json', () => {
    const files = configFileCandidates('clouds', opts({ OS_CLIENT_CONFIG_FILE: '/x/my.yaml' }));
    assert.equal(files[0], '/x/my.yaml');
    assert.deepEqual(files.slice(1, 4), [join(cwd, 'clouds.yaml'), join(cwd, 'clouds.yml'), join(cwd, 'clouds.json')]);
    const home0 = files.indexOf(join(home, '.config/openstack/clouds.yaml'));
    const etc = files.indexOf('/etc/openstack/clouds.yaml');
    assert.ok(home0 > 3 && etc > home0);
    assert.equal(configFileCandidates('secure', opts({ OS_CLIENT_SECURE_FILE: '/s.yaml' }))[0], '/s.yaml');
  });

  void test('the first file found wins; secure.yaml is deep-merged; a single cloud is the default', async () => {
    const dir = join(home, '.config/openstack');
    await put(join(dir, 'clouds.yaml'), PASSWORD_CLOUD);
    await put(join(dir, 'secure.yaml'), 'clouds:\n  lab:\n    auth:\n      password: s3cret\n');
    const cfg = await loadCloudConfig(undefined, opts());
    assert.equal(cfg.name, 'lab');
    assert.equal(cfg.file, join(dir, 'clouds.yaml'));
    assert.equal(cfg.secureFile, join(dir, 'secure.yaml'));
    assert.equal(cfg.auth.password, 's3cret');
    assert.equal(cfg.auth.username, 'alice');
    assert.equal(cfg.regionName, 'RegionTwo');
    assert.equal(cfg.interface, 'public');
    assert.equal(cfg.authType, 'password');
    assert.equal(cfg.verify, true);

    // ./clouds.yml in the working directory comes before ~/.config/openstack.
    await put(
      join(cwd, 'clouds.yml'),
      'clouds:\n  here:\n    auth: {auth_url: http://k/, username: u, password: p}\n  there:\n    auth: {auth_url: http://k/, username: u, password: p}\n',
    );
    await assert.rejects(loadCloudConfig(undefined, opts()), (err: unknown) => {
      assert.ok(err instanceof CloudConfigError);
      assert.match(err.message, /clouds\.yml: clouds: no cloud chosen: set OS_CLOUD/);
      assert.equal(err.retryable, false);
      return true;
    });
    assert.equal((await loadCloudConfig(undefined, opts({ OS_CLOUD: 'there' }))).name, 'there');
    assert.equal((await loadCloudConfig('here', opts({ OS_CLOUD: 'there' }))).name, 'here');
    await rm(join(cwd, 'clouds.yml'));
    // secure.yaml is merged whatever clouds file wins (as in openstacksdk): clear it for the next tests.
    await rm(join(dir, 'secure.yaml'));
  });

  void test('OS_CLIENT_CONFIG_FILE (json) goes first; unknown cloud names the file and key', async () => {
    const file = await put(
      join(root, 'elsewhere/clouds.json'),
      JSON.stringify({ clouds: { j: { auth: { auth_url: 'http://k', token: 't' }, auth_type: 'v3token' } } }),
    );
    const cfg = await loadCloudConfig(undefined, opts({ OS_CLIENT_CONFIG_FILE: file }));
    assert.equal(cfg.name, 'j');
    assert.equal(cfg.authType, 'v3token');
    await assert.rejects(loadCloudConfig('nope', opts({ OS_CLIENT_CONFIG_FILE: file })), (err: unknown) => {
      assert.ok(err instanceof CloudConfigError);
      assert.ok(err.message.startsWith(`${file}: clouds.nope:`));
      assert.deepEqual(err.details(), { file, key: 'clouds.nope', cloud: 'nope' });
      return true;
    });
  });

  void test('auth types, missing keys, interface, overrides, verify', async () => {
    const file = join(root, 'types/clouds.yaml');
    await put(
      file,
      `
clouds:
  appcred:
    auth_type: v3applicationcredential
    auth: {auth_url: http://k/v3, application_credential_id: abc, application_credential_secret: xyz}
    interface: internalURL
    compute_endpoint_override: http://nova.example/v2.1
    image_endpoint_override: http://glance.example
    verify: false
  byname:
    auth_type: v3applicationcredential
    auth: {auth_url: http://k/v3, application_credential_name: n, application_credential_secret: xyz, username: u, user_domain_id: default}
  nopassword:
    auth: {auth_url: http://k, username: u}
  badtype:
    auth_type: oidc
    auth: {auth_url: http://k}
  insecure:
    auth: {auth_url: http://k, username: u, password: p, domain_name: D, project_name: P}
    insecure: true
    cacert: ca.pem
`,
    );
    const o = opts({ OS_CLIENT_CONFIG_FILE: file });
    const app = await loadCloudConfig('appcred', o);
    assert.equal(app.authType, 'v3applicationcredential');
    assert.equal(app.interface, 'internal');
    assert.deepEqual(app.endpointOverrides, { compute: 'http://nova.example/v2.1', image: 'http://glance.example' });
    assert.equal(app.verify, false);
    assert.deepEqual(authRequestBody(app), {
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'abc', secret: 'xyz' } } },
    });
    const byName = await loadCloudConfig('byname', o);
    assert.deepEqual(authRequestBody(byName), {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { name: 'n', user: { name: 'u', domain: { id: 'default' } }, secret: 'xyz' },
        },
      },
    });
    await assert.rejects(loadCloudConfig('nopassword', o), /clouds\.nopassword\.auth\.password: missing/);
    await assert.rejects(loadCloudConfig('badtype', o), /clouds\.badtype\.auth_type: unsupported auth_type "oidc"/);
    const insecure = await loadCloudConfig('insecure', o);
    assert.equal(insecure.verify, false);
    assert.equal(insecure.cacert, join(cwd, 'ca.pem'));
    // domain_name applies to user and project (openstacksdk _handle_domain_id).
    assert.deepEqual(authRequestBody(insecure), {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'D' }, password: 'p' } } },
        scope: { project: { name: 'P', domain: { name: 'D' } } },
      },
    });
    // A CA bundle that cannot be read is a config error naming the file and the key, not a crash later.
    assert.throws(
      () => new HttpTransport({ cacert: insecure.cacert }),
      (err: unknown) => {
        assert.ok(err instanceof CloudConfigError);
        assert.match(err.message, /ca\.pem: cacert: cannot read cacert file/);
        return true;
      },
    );
  });

  void test('no clouds.yaml anywhere is a config error listing the search path', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'os-empty-'));
    try {
      await assert.rejects(
        loadCloudConfig(undefined, { env: { HOME: empty, XDG_CONFIG_DIRS: empty }, cwd: empty, home: empty }),
        (err: unknown) => err instanceof CloudConfigError && /no clouds\.yaml found/.test(err.message),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  void test('invalid YAML names the file', async () => {
    const file = await put(join(root, 'bad/clouds.yaml'), 'clouds: [\n');
    await assert.rejects(loadCloudConfig(undefined, opts({ OS_CLIENT_CONFIG_FILE: file })), (err: unknown) => {
      assert.ok(err instanceof CloudConfigError);
      assert.ok(err.message.startsWith(`${file}: not valid YAML`));
      return true;
    });
  });
});
