/**
 * What the simulated controller answers to an `exec` request: the `oc` verbs this project sends
 * (with the output shapes and messages of the real `oc`/kubectl), and the controller's own
 * `shutdown`. Anything else gets bash's "command not found".
 */
import { randomBytes } from 'node:crypto';
import { apiVersionList, type SimCluster, type SimNode } from './cluster.js';

export interface ExecIo {
  out(text: string): void;
  err(text: string): void;
  /** True once the client closed the channel (or the connection went away). */
  closed(): boolean;
  /** Sleeps real milliseconds; resolves early when the channel closes. */
  sleep(ms: number): Promise<void>;
}

export type ExecOutcome = { exitCode: number } | { drop: true };

export interface CommandContext {
  cluster: SimCluster;
  /** Base latency of an `oc` call (real ms, already scaled). */
  latencyMs: number;
  sudoRequiresPassword: boolean;
  /** The controller powers off: `delayMs` until it is gone. */
  shutdownController(delayMs: number): void;
}

const SHELL_SYNTAX = /[;&|$`()<>\\\n]/;

/** Splits a command line into words (single and double quotes only; no expansions). */
export function splitWords(line: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      if (SHELL_SYNTAX.test(ch)) return undefined;
      cur += ch;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) words.push(cur);
  return words;
}

/** Parses a Go duration (`60s`, `20m`, `1h30m`, `1.5h`) into seconds; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === s.length && s.length > 0 ? total : undefined;
}

/** Formats whole seconds like Go's `time.Duration.String()` (`45s`, `1m30s`, `1h0m0s`). */
export function formatGoDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${m}m${r}s` : `${m}m${r}s`;
}

const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const suffix = () =>
  randomBytes(8)
    .toString('hex')
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 5);

function refused(ctx: CommandContext, io: ExecIo): ExecOutcome {
  io.err(`The connection to the server ${ctx.cluster.apiHost} was refused - did you specify the right host or port?\n`);
  return { exitCode: 1 };
}

function unknownFlag(io: ExecIo, flag: string, cmd: string): ExecOutcome {
  io.err(`error: unknown flag: ${flag}\nSee '${cmd} --help' for usage.\n`);
  return { exitCode: 1 };
}

/** `-o json` / `-o=json` / `--output json`; undefined when absent, null when malformed. */
function outputFormat(args: string[]): { format?: string; rest: string[] } | null {
  const rest: string[] = [];
  let format: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-o' || a === '--output') {
      if (i + 1 >= args.length) return null;
      format = args[++i];
    } else if (a.startsWith('-o=') || a.startsWith('--output=')) {
      format = a.slice(a.indexOf('=') + 1);
    } else if (a.startsWith('-o') && a.length > 2) {
      format = a.slice(2);
    } else rest.push(a);
  }
  return { format, rest };
}

function nodeArg(arg: string): string {
  return arg.replace(/^(node|nodes|no)\//, '');
}

async function ocGet(ctx: CommandContext, args: string[], io: ExecIo): Promise<ExecOutcome> {
  const parsed = outputFormat(args);
  if (!parsed) {
    io.err("error: flag needs an argument: 'o' in -o\n");
    return { exitCode: 1 };
  }
  const [resource, name, ...extra] = parsed.rest;
  const flag = parsed.rest.find((a) => a.startsWith('-'));
  if (flag) return unknownFlag(io, flag, 'oc get');
  if (!resource) {
    io.err(
      'You must specify the type of resource to get. Use "oc api-resources" for a complete list of supported resources.\n\nerror: Required resource not specified.\n',
    );
    return { exitCode: 1 };
  }
  if (extra.length > 0) {
    io.err('error: only one resource name is supported by this simulator\n');
    return { exitCode: 1 };
  }
  if (!ctx.cluster.apiUp()) return refused(ctx, io);
  const c = ctx.cluster;
  const print = (obj: unknown) => io.out(`${JSON.stringify(obj, null, 4)}\n`);
  switch (resource) {
    case 'nodes':
    case 'node':
    case 'no': {
      const list = c.nodeListJson() as { items: { metadata: { name: string } }[] };
      if (name !== undefined) {
        const item = list.items.find((i) => i.metadata.name === name);
        if (!item) {
          io.err(`Error from server (NotFound): nodes "${name}" not found\n`);
          return { exitCode: 1 };
        }
        if (parsed.format === 'json') print(item);
        else io.out(`node/${name}\n`);
        return { exitCode: 0 };
      }
      if (parsed.format === 'json') print(list);
      else if (parsed.format === 'name') io.out(list.items.map((i) => `node/${i.metadata.name}\n`).join(''));
      else {
        const rows = [...c.nodes.values()].map((n) => {
          const v = c.view(n);
          const status = (v.ready ? 'Ready' : v.poweredOff ? 'NotReady' : 'NotReady') + (v.unschedulable ? ',SchedulingDisabled' : '');
          return [n.name, status, n.roles.join(','), '30h', 'v1.29.6+aba1e8d'];
        });
        io.out(table(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'], rows));
      }
      return { exitCode: 0 };
    }
    case 'csr':
    case 'certificatesigningrequest':
    case 'certificatesigningrequests': {
      if (name !== undefined) {
        const csr = c.visibleCsrs().find((x) => x.name === name);
        if (!csr) {
          io.err(`Error from server (NotFound): certificatesigningrequests.certificates.k8s.io "${name}" not found\n`);
          return { exitCode: 1 };
        }
        if (parsed.format === 'json') print(c.csrJson(csr));
        else io.out(`certificatesigningrequest.certificates.k8s.io/${name}\n`);
        return { exitCode: 0 };
      }
      if (parsed.format === 'json') print(c.csrListJson());
      else {
        const rows = c.visibleCsrs().map((x) => [x.name, '5m', x.signerName, x.username, '<none>', x.state === 'Approved' ? 'Approved,Issued' : x.state]);
        if (rows.length === 0) io.err('No resources found\n');
        else io.out(table(['NAME', 'AGE', 'SIGNERNAME', 'REQUESTOR', 'REQUESTEDDURATION', 'CONDITION'], rows));
      }
      return { exitCode: 0 };
    }
    case 'clusterversion':
    case 'clusterversions':
    case 'clusterversion.config.openshift.io': {
      if (name !== undefined && name !== 'version') {
        io.err(`Error from server (NotFound): clusterversions.config.openshift.io "${name}" not found\n`);
        return { exitCode: 1 };
      }
      const cv = c.clusterVersionJson();
      if (parsed.format === 'json') {
        print(name === undefined ? { apiVersion: 'v1', items: [cv], kind: 'List', metadata: { resourceVersion: '' } } : cv);
      } else if (parsed.format?.startsWith('jsonpath=')) {
        const path = parsed.format.slice('jsonpath='.length);
        if (path !== '{.metadata.creationTimestamp}') {
          io.err('error: the simulator only evaluates jsonpath {.metadata.creationTimestamp}\n');
          return { exitCode: 1 };
        }
        io.out(c.createdAt); // jsonpath prints no trailing newline
      } else {
        io.out(
          table(
            ['NAME', 'VERSION', 'AVAILABLE', 'PROGRESSING', 'SINCE', 'STATUS'],
            [['version', '4.16.3', 'True', 'False', '30h', 'Cluster version is 4.16.3']],
          ),
        );
      }
      return { exitCode: 0 };
    }
    default:
      io.err(`error: the server doesn't have a resource type "${resource}"\n`);
      return { exitCode: 1 };
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('');
  return [header, ...rows].map(line).join('\n') + '\n';
}

async function ocCordon(ctx: CommandContext, verb: 'cordon' | 'uncordon', args: string[], io: ExecIo): Promise<ExecOutcome> {
  const flag = args.find((a) => a.startsWith('-'));
  if (flag) return unknownFlag(io, flag, `oc adm ${verb}`);
  if (args.length === 0) {
    io.err(`error: USAGE: ${verb} NODE [flags]\nSee 'oc adm ${verb} -h' for help and examples\n`);
    return { exitCode: 1 };
  }
  if (!ctx.cluster.apiUp()) return refused(ctx, io);
  let exitCode = 0;
  for (const arg of args) {
    const name = nodeArg(arg);
    const node = ctx.cluster.nodes.get(name);
    if (!node) {
      io.err(`Error from server (NotFound): nodes "${name}" not found\n`);
      exitCode = 1;
      continue;
    }
    const desired = verb === 'cordon';
    if (node.unschedulable === desired) io.out(`node/${name} already ${verb}ed\n`);
    else {
      node.unschedulable = desired;
      io.out(`node/${name} ${verb}ed\n`);
    }
  }
  return { exitCode };
}

/** `oc adm wait-for-stable-cluster`, following oc's own loop and messages (pkg/cli/admin/waitforstable). */
async function ocWaitForStable(ctx: CommandContext, args: string[], io: ExecIo): Promise<ExecOutcome> {
  let minimum = 300;
  let timeout = 3600;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--(minimum-stable-period|timeout)(?:=(.*))?$/.exec(a);
    if (!m) return unknownFlag(io, a, 'oc adm wait-for-stable-cluster');
    const raw = m[2] ?? args[++i];
    const value = raw === undefined ? undefined : parseGoDuration(raw);
    if (value === undefined) {
      io.err(`Error: invalid argument "${raw ?? ''}" for "--${m[1]}" flag: time: invalid duration "${raw ?? ''}"\n`);
      return { exitCode: 1 };
    }
    if (m[1] === 'timeout') timeout = value;
    else minimum = value;
  }
  if (timeout <= minimum) {
    io.err('error: --timeout must be greater than the --minimum-stable-period\n');
    return { exitCode: 1 };
  }
  const c = ctx.cluster;
  const intervalSim = 10 > minimum ? minimum + 1 : 10;
  const start = Date.now();
  const deadline = start + c.ms(timeout);
  let stableSince: number | undefined;
  let previouslyUnstable = new Set<string>();
  const unstableSince = new Map<string, number>();
  for (;;) {
    if (io.closed()) return { exitCode: 130 };
    const now = Date.now();
    if (!c.apiUp(now)) {
      io.err(
        `failed to list clusteroperators: Get "https://${c.apiHost}/apis/config.openshift.io/v1/clusteroperators": dial tcp 192.168.32.5:6443: connect: connection refused`,
      );
      stableSince = undefined;
    } else {
      const op = c.unstableOperator(now);
      const nowUnstable = new Set<string>();
      if (op) {
        nowUnstable.add(op);
        if (!unstableSince.has(op)) unstableSince.set(op, now);
        const reason = 'progressing';
        if (previouslyUnstable.has(op)) {
          io.out(`clusteroperators/${op} is still ${reason} after ${formatGoDuration(c.simSeconds(now - unstableSince.get(op)!))}\n`);
        } else if (previouslyUnstable.size === 0) {
          io.out(`clusteroperators/${op} is ${reason} at ${rfc3339(now)}\n`);
        } else {
          io.out(`clusteroperators/${op} became ${reason} at ${rfc3339(now)}\n`);
        }
      }
      for (const prev of previouslyUnstable) {
        if (!nowUnstable.has(prev)) {
          io.out(`clusteroperators/${prev} stabilized at ${rfc3339(now)} after ${formatGoDuration(c.simSeconds(now - unstableSince.get(prev)!))}\n`);
          unstableSince.delete(prev);
        }
      }
      previouslyUnstable = nowUnstable;
      if (nowUnstable.size > 0) {
        stableSince = undefined;
      } else {
        if (stableSince === undefined) {
          stableSince = now;
          io.out(`All clusteroperators became stable at ${rfc3339(now)}\n`);
        } else {
          io.out(`All clusteroperators are still stable after ${formatGoDuration(c.simSeconds(now - stableSince))}\n`);
        }
        if (now - stableSince > c.ms(minimum)) {
          io.out('\n');
          io.out('All clusteroperators are stable\n');
          return { exitCode: 0 };
        }
        c.maybeFlap(now - stableSince, c.ms(minimum), now);
      }
    }
    io.out('\n'); // oc prints an empty line after every poll (deferred Fprintln)
    const wait = Math.min(c.ms(intervalSim), deadline - Date.now());
    if (wait <= 0) {
      io.err('error: context deadline exceeded\n');
      return { exitCode: 1 };
    }
    await io.sleep(wait);
    if (Date.now() >= deadline) {
      io.err('error: context deadline exceeded\n');
      return { exitCode: 1 };
    }
  }
}

async function ocDebug(ctx: CommandContext, args: string[], io: ExecIo): Promise<ExecOutcome> {
  const dashdash = args.indexOf('--');
  const target = dashdash === -1 ? args : args.slice(0, dashdash);
  const command = dashdash === -1 ? [] : args.slice(dashdash + 1);
  if (target.length !== 1 || !/^(node|nodes|no)\//.test(target[0]!)) {
    io.err('error: the simulator only debugs nodes: oc debug node/NAME -- COMMAND\n');
    return { exitCode: 1 };
  }
  if (!ctx.cluster.apiUp()) return refused(ctx, io);
  const name = nodeArg(target[0]!);
  const node: SimNode | undefined = ctx.cluster.nodes.get(name);
  if (!node) {
    io.err(`Error from server (NotFound): nodes "${name}" not found\n`);
    return { exitCode: 1 };
  }
  const isShutdown =
    command.length >= 3 &&
    command[0] === 'chroot' &&
    command[1] === '/host' &&
    command[2] === 'shutdown' &&
    command.slice(3).every((a) => /^(-h|-P|--poweroff|now|\+?\d+)$/.test(a));
  if (!isShutdown) {
    io.err('error: the simulator only runs "chroot /host shutdown -h +1" in debug pods\n');
    return { exitCode: 1 };
  }
  const pod = `${name.replace(/\./g, '')}-debug-${suffix()}`;
  const ns = `openshift-debug-${suffix()}`;
  io.err(`Temporary namespace ${ns} is created for debugging node...\n`);
  io.err(`Starting pod/${pod} ...\nTo use host binaries, run \`chroot /host\`\n`);
  await io.sleep(node.debugLatencyMs);
  if (ctx.cluster.isPoweredOff(node)) {
    io.err(`\nRemoving debug pod ...\nTemporary namespace ${ns} was removed.\nerror: timed out waiting for the condition\n`);
    return { exitCode: 1 };
  }
  if (node.shutdownFails) {
    io.err('Call to ScheduleShutdown failed: Access denied\n');
    io.err(`\nRemoving debug pod ...\nTemporary namespace ${ns} was removed.\nerror: non-zero exit code from debug container\n`);
    return { exitCode: 1 };
  }
  ctx.cluster.scheduleNodeShutdown(node);
  const when = new Date(Date.now() + 60_000).toUTCString().replace(/ GMT$/, ' UTC');
  io.err(`Shutdown scheduled for ${when}, use 'shutdown -c' to cancel.\n`);
  io.err(`\nRemoving debug pod ...\nTemporary namespace ${ns} was removed.\n`);
  return { exitCode: 0 };
}

async function ocApprove(ctx: CommandContext, args: string[], io: ExecIo): Promise<ExecOutcome> {
  const flag = args.find((a) => a.startsWith('-'));
  if (flag) return unknownFlag(io, flag, 'oc adm certificate approve');
  if (args.length === 0) {
    io.err('error: one or more CSRs must be specified as <name> or -f <filename>\n');
    return { exitCode: 1 };
  }
  if (!ctx.cluster.apiUp()) return refused(ctx, io);
  let exitCode = 0;
  for (const name of args) {
    const csr = ctx.cluster.visibleCsrs().find((c) => c.name === name);
    if (!csr) {
      io.err(`Error from server (NotFound): certificatesigningrequests.certificates.k8s.io "${name}" not found\n`);
      exitCode = 1;
      continue;
    }
    if (csr.state === 'Denied') {
      io.err(`error: certificate signing request "${name}" is already Denied\n`);
      exitCode = 1;
      continue;
    }
    ctx.cluster.approveCsr(csr);
    io.out(`certificatesigningrequest.certificates.k8s.io/${name} approved\n`);
  }
  return { exitCode };
}

async function oc(ctx: CommandContext, args: string[], io: ExecIo): Promise<ExecOutcome> {
  await io.sleep(ctx.latencyMs);
  const [verb, ...rest] = args;
  switch (verb) {
    case 'get':
      return ocGet(ctx, rest, io);
    case 'api-versions':
      if (rest.length > 0) return unknownFlag(io, rest[0]!, 'oc api-versions');
      if (!ctx.cluster.apiUp()) return refused(ctx, io);
      io.out(apiVersionList(ctx.cluster.routeApiUp()).join('\n') + '\n');
      return { exitCode: 0 };
    case 'debug':
      return ocDebug(ctx, rest, io);
    case 'adm': {
      const [sub, ...more] = rest;
      if (sub === 'cordon' || sub === 'uncordon') return ocCordon(ctx, sub, more, io);
      if (sub === 'wait-for-stable-cluster') return ocWaitForStable(ctx, more, io);
      if (sub === 'certificate' && more[0] === 'approve') return ocApprove(ctx, more.slice(1), io);
      io.err(`error: unknown command "${sub ?? ''}" for "oc adm"\n`);
      return { exitCode: 1 };
    }
    default:
      io.err(`error: unknown command "${verb ?? ''}" for "oc"\n\nDid you mean this?\n\tget\n`);
      return { exitCode: 1 };
  }
}

function controllerShutdown(ctx: CommandContext, words: string[], io: ExecIo): ExecOutcome | undefined {
  let w = words;
  let sudo = false;
  if (w[0] === 'sudo') {
    sudo = true;
    w = w.slice(1);
    if (w[0] === '-n') w = w.slice(1);
  }
  const prog = w[0]?.replace(/^(\/usr)?\/s?bin\//, '');
  const isShutdown =
    (prog === 'shutdown' && w.slice(1).every((a) => /^(-h|-P|--poweroff|now|\+\d+)$/.test(a))) ||
    (prog === 'poweroff' && w.length === 1) ||
    (prog === 'systemctl' && w.length === 2 && w[1] === 'poweroff');
  if (!isShutdown) return undefined;
  if (!sudo) {
    io.err('Call to PowerOff failed: Interactive authentication required.\n');
    return { exitCode: 1 };
  }
  if (ctx.sudoRequiresPassword) {
    io.err(
      'sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n',
    );
    return { exitCode: 1 };
  }
  const minutes = w.slice(1).find((a) => /^\+\d+$/.test(a));
  if (minutes && Number(minutes.slice(1)) > 0) {
    const delayMs = ctx.cluster.ms(Number(minutes.slice(1)) * 60);
    ctx.shutdownController(delayMs);
    const when = new Date(Date.now() + Number(minutes.slice(1)) * 60_000).toUTCString().replace(/ GMT$/, ' UTC');
    io.err(`Shutdown scheduled for ${when}, use 'shutdown -c' to cancel.\n`);
    return { exitCode: 0 };
  }
  ctx.shutdownController(0);
  // sshd is killed with the rest of userspace: the session ends without an exit status.
  return { drop: true };
}

/** Runs one exec request. */
export async function runCommand(ctx: CommandContext, line: string, io: ExecIo): Promise<ExecOutcome> {
  const words = splitWords(line);
  if (words === undefined) {
    io.err('sim-controller: shell syntax (;, |, &, $, `, redirections, unbalanced quotes) is not supported\n');
    return { exitCode: 2 };
  }
  if (words.length === 0) return { exitCode: 0 };
  if (words[0] === 'oc') return oc(ctx, words.slice(1), io);
  const shutdown = controllerShutdown(ctx, words, io);
  if (shutdown) return shutdown;
  if (words[0] === 'true') return { exitCode: 0 };
  io.err(`bash: line 1: ${words[0]}: command not found\n`);
  return { exitCode: 127 };
}
