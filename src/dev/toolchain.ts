/**
 * Installs and locates the Temporal servers the project runs on this machine, from package
 * registries only (DESIGN §9): the Temporal CLI (dev server + Web UI) through the Go module proxy,
 * the time-skipping test server through Maven Central, Debian's OpenSSH server for the SSH tests and
 * Debian's Chromium for the Web UI test.
 *
 * Pinned, cached outside the repo (`$HOTSTACK_SNAPSET_CACHE`, default `~/.cache/hotstack-snapset`),
 * idempotent: a second run only checks versions. `npm test` and `npm start` call it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The newest CLI tag whose go.mod has no `replace` (so `go install` works); embeds server 1.29.1. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
/** Java SDK's time-skipping test server, from Maven Central. */
export const TEST_SERVER_VERSION = '1.38.0';

export interface Toolchain {
  /** The `temporal` binary (dev server, Web UI, CLI). */
  temporalCli: string;
  /** Wrapper that execs java on the time-skipping test server; takes `<port>` like the SDK expects. */
  testServer: string;
  /** Debian's sshd, for the SSH runner tests; undefined when it could not be installed. */
  sshd?: string;
  /** Debian's chromium, for the Web UI test and `npm run screenshots`; undefined when it could not be installed. */
  chromium?: string;
}

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.HOTSTACK_SNAPSET_CACHE || join(base, 'hotstack-snapset');
}

function manifestPath(): string {
  return join(cacheDir(), 'toolchain.json');
}

type Log = (line: string) => void;

async function onPath(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

async function versionOf(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 20_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function ensureTemporalCli(log: Log): Promise<string> {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!(await versionOf(explicit))) throw new Error(`TEMPORAL_CLI_PATH=${explicit} does not run`);
    return explicit;
  }
  // The pin is kept in a stamp file: binaries built before the version was linked in report "0.0.0-DEV".
  const cached = join(cacheDir(), 'bin', 'temporal');
  const stamp = `${cached}.version`;
  const stamped = existsSync(stamp) ? (await readFile(stamp, 'utf8')).trim() : undefined;
  if (stamped === TEMPORAL_CLI_VERSION && (await versionOf(cached))) return cached;
  const existing = await onPath('temporal');
  if (existing && (await versionOf(existing))) {
    log(`using temporal from PATH: ${existing}`);
    return existing;
  }
  log(`installing Temporal CLI v${TEMPORAL_CLI_VERSION} with go install (first run only, a few minutes)...`);
  const go = await onPath('go');
  if (!go && !existsSync('/usr/local/go/bin/go')) {
    throw new Error('Go is needed to build the Temporal CLI once (go install); install Go 1.24+ or put `temporal` on PATH');
  }
  // The release builds' ldflag (the CLI's .goreleaser.yml), so `temporal --version` says 1.5.1, not 0.0.0-DEV.
  const ldflags = `-ldflags=-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;
  await runLogged(go ?? '/usr/local/go/bin/go', ['install', ldflags, `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
    ...process.env,
    GOBIN: join(cacheDir(), 'bin'),
    GOFLAGS: '-mod=mod',
  });
  if (!(await versionOf(cached))) throw new Error(`go install did not produce a working ${cached}`);
  await writeFile(stamp, `${TEMPORAL_CLI_VERSION}\n`);
  return cached;
}

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.hotstack-snapset</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;

/**
 * The SDK starts the test server as `<path> <port>` and gives it about 5 s; a cold JVM loading
 * this classpath takes 1-2.5 s on this machine and more under load. An AppCDS archive, made once
 * from a real start, brings it to about 0.35 s; C1-only JIT helps start-up too.
 */
async function ensureTestServer(log: Log): Promise<string> {
  const dir = join(cacheDir(), `temporal-test-server-${TEST_SERVER_VERSION}`);
  const wrapper = join(dir, 'temporal-test-server');
  const cpFile = join(dir, 'classpath.txt');
  const jsa = join(dir, 'app.jsa');
  if (existsSync(wrapper) && existsSync(cpFile) && existsSync(jsa)) return wrapper;
  await mkdir(dir, { recursive: true });
  log(`resolving io.temporal:temporal-test-server:${TEST_SERVER_VERSION} with Maven (first run only)...`);
  await writeFile(join(dir, 'pom.xml'), POM);
  const mvn = (await onPath('mvn')) ?? 'mvn';
  await runLogged(mvn, ['-q', '-B', '-f', join(dir, 'pom.xml'), 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`], process.env);
  const classpath = (await readFile(cpFile, 'utf8')).trim();
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : ((await onPath('java')) ?? 'java');
  const jvm = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k'];
  log('recording the test server class-data archive (AppCDS)...');
  await recordCdsArchive(java, [
    ...jvm,
    `-XX:ArchiveClassesAtExit=${jsa}`,
    '-Xlog:cds=off',
    '-Xlog:cds+dynamic=off',
    '-cp',
    classpath,
    'io.temporal.testserver.TestServer',
  ]);
  const script = `#!/bin/sh
# Generated by hotstack-snapset's toolchain: the Temporal time-skipping test server ${TEST_SERVER_VERSION}.
# exec, so that the SDK's kill reaches the JVM itself.
exec "${java}" ${jvm.join(' ')} -XX:SharedArchiveFile="${jsa}" -Xlog:cds=off -Xlog:cds+dynamic=off -cp "${classpath}" io.temporal.testserver.TestServer "$@"
`;
  const tmp = `${wrapper}.tmp`;
  await writeFile(tmp, script);
  await chmod(tmp, 0o755);
  await rename(tmp, wrapper);
  return wrapper;
}

async function recordCdsArchive(java: string, args: string[]): Promise<void> {
  const port = await freePort();
  const child = spawn(java, [...args, String(port)], { stdio: 'ignore' });
  try {
    await waitForPort(port, 60_000);
    // Let the server finish wiring its gRPC services so their classes land in the archive.
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM'); // the JVM writes the dynamic archive on its orderly exit
    await exited;
  }
}

async function ensureSshd(log: Log): Promise<string | undefined> {
  const sshd = '/usr/sbin/sshd';
  if (existsSync(sshd)) return sshd;
  if (process.getuid?.() !== 0) {
    log('sshd missing and not root: install openssh-server (Debian) for the SSH tests');
    return undefined;
  }
  log('installing Debian openssh-server for the SSH runner tests...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLogged('apt-get', ['update', '-qq'], env);
  await runLogged('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'openssh-server'], env);
  // Debian's package starts a system sshd where systemd runs; we only need the binary.
  return existsSync(sshd) ? sshd : undefined;
}

/** Where a Chromium build may be: `$CHROMIUM_PATH`, then Debian's and other distributions' names on PATH. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome']) {
    const found = await onPath(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * Debian's `chromium` for the Web UI test (driven by playwright-core with this executable: no
 * browser download). Best-effort like sshd: a machine without it skips that test, naming why.
 */
async function ensureChromium(log: Log): Promise<string | undefined> {
  const found = await findChromium();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    log("chromium missing and not root: install Debian's chromium (or set CHROMIUM_PATH) for the Web UI test");
    return undefined;
  }
  log('installing Debian chromium for the Web UI test (first run only, ~1 min)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await runLogged('apt-get', ['update', '-qq'], env);
    await runLogged('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], env);
  } catch (err) {
    log(`could not install chromium (${err instanceof Error ? err.message : String(err)}); the Web UI test will be skipped`);
    return undefined;
  }
  return findChromium();
}

function runLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ port, host }, () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Installs what is missing and records where everything is. */
export async function ensureToolchain(log: Log = (l) => console.error(`[toolchain] ${l}`)): Promise<Toolchain> {
  await mkdir(cacheDir(), { recursive: true });
  const temporalCli = await ensureTemporalCli(log);
  const testServer = await ensureTestServer(log);
  const sshd = await ensureSshd(log);
  const chromium = await ensureChromium(log);
  const toolchain: Toolchain = { temporalCli, testServer, ...(sshd ? { sshd } : {}), ...(chromium ? { chromium } : {}) };
  await writeFile(manifestPath(), JSON.stringify(toolchain, null, 2));
  return toolchain;
}

/**
 * The shell line that puts the toolchain's `temporal` on PATH (the README's), or undefined when it
 * is not the cached one (already on PATH, or TEMPORAL_CLI_PATH).
 */
export function temporalPathLine(t: Toolchain): string | undefined {
  if (t.temporalCli !== join(cacheDir(), 'bin', 'temporal')) return undefined;
  const dir = dirname(t.temporalCli);
  const home = homedir();
  return `export PATH="${dir.startsWith(`${home}/`) ? `$HOME${dir.slice(home.length)}` : dir}:$PATH"`;
}

/** The recorded toolchain, installing it first when it is not there yet. */
export async function loadToolchain(): Promise<Toolchain> {
  try {
    const t = JSON.parse(await readFile(manifestPath(), 'utf8')) as Toolchain;
    if (existsSync(t.temporalCli) && existsSync(t.testServer)) return t;
  } catch {
    // not installed yet
  }
  return ensureToolchain();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  ensureToolchain()
    .then((t) => {
      console.error(`[toolchain] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const pathLine = temporalPathLine(t);
      console.error(
        pathLine
          ? `[toolchain] the temporal CLI is ${t.temporalCli}; to run it as \`temporal\` in a shell:\n  ${pathLine}`
          : `[toolchain] the temporal CLI: ${t.temporalCli}`,
      );
      console.log(JSON.stringify(t, null, 2));
    })
    .catch((err: unknown) => {
      console.error(`[toolchain] ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
