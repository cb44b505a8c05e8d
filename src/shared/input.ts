/**
 * The createSnapset input: one schema, three accepted spellings (DESIGN §2, §5 step 1).
 *
 * - camelCase JSON (`stackName`, `controller`, `snapsetData`, ...), the documented form;
 * - the seed role's snake_case variables (`snapset_data`, `controller_ansible_host`, `os_cloud`);
 * - hotstack's `<stack_name>-outputs.yaml` (see {@link fromStackOutputs}).
 *
 * Pure (runs inside workflows). Every rejection names the field path in the spelling the user
 * wrote, and what was expected.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { ValidationError, type FieldIssue } from './errors.js';
import type { ControllerTarget, InstanceSpec } from './types.js';
import { stackNameProblem } from './workflow-api.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Six octets of one or two hex digits, `:` or `-` separated: the seed's own example writes `fa:16:9e:81:f6:5`. */
const MAC = /^[0-9a-f]{1,2}(?:([:-])[0-9a-f]{1,2})(?:\1[0-9a-f]{1,2}){4}$/i;
/** Instance names end up in image names (`hotstack-{name}-snapshot-{id}`) and in the `name=` tag. */
const INSTANCE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62})$/;
const ROLE = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62})$/;
/** Heat's rule for stack names; the stack name is also part of the workflow ID. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const CLOUD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9a-f:]+(?:%[A-Za-z0-9_.-]+)?$/i;
const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/** Caps that keep one input well inside Temporal's 2 MB payload limit and any real lab. */
export const LIMITS = {
  /** Instances of one SnapSet (a Hotstack lab has a handful; 500 is far above any real one). */
  instances: 500,
  /** Length of any string in the input (file paths included: Linux PATH_MAX is 4096). */
  stringLength: 4096,
  /** Nesting depth of the input document (the schema itself needs 4). */
  depth: 16,
  /** Keys in any one mapping. */
  keys: 1000,
} as const;

/** Keys an instance name must not be: they are Object.prototype's and would vanish or misbehave as map keys. */
const PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** `FA-16-9E-81-F6-5` → `fa:16:9e:81:f6:05`: the form Nova reports and the tags carry. */
export function canonicalMac(mac: string): string {
  return mac
    .split(/[:-]/)
    .map((o) => o.toLowerCase().padStart(2, '0'))
    .join(':');
}

const DEFAULTS = {
  certRotationWait: '25h',
  stablePeriod: '60s',
  stableTimeout: '20m',
  shutoffTimeout: '250s', // the seed: 25 polls x 10 s
  shutoffPollInterval: '10s',
  imageTimeout: '20m', // the seed: 1200 s
} as const;

function required(what: string) {
  return { error: (iss: { input: unknown }) => (iss.input === undefined ? `required (${what})` : `expected ${what}`) };
}

const text = (what: string, re: RegExp, hint: string) => z.string(required(what)).regex(re, `expected ${hint}`);

/** Durations are written as text (`25h`, `60s`) and parsed once, here: the output carries milliseconds. */
const durationText = () =>
  z.string(required('a duration such as 25h or 60s')).refine((s) => parseDuration(s) !== undefined, 'expected a duration such as 25h, 60s, 1h30m or 500ms');
export const duration = (fallback: string) =>
  durationText()
    .default(fallback)
    .transform((s) => parseDuration(s)!);

/**
 * The zod schemas, built when an input is parsed rather than when this module is imported. The
 * workflow sandbox instantiates every module once per cached workflow — the lock workflow included —
 * and these ~200 schema objects were most of a cached workflow's memory (bench/results.md, issue 16).
 * Built per parse (well under a millisecond), they are garbage once validation is done.
 */
export function inputSchemas() {
  const isoTime = z
    .string(required('an ISO 8601 time'))
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/, 'expected an ISO 8601 time with zone, e.g. 2026-11-20T01:00:00Z')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'expected a real date');

  const instanceSchema = z.strictObject(
    {
      uuid: text('a string', UUID, 'a server UUID such as 6f4512de-f744-4979-8ab2-45f5461e304c'),
      role: text('a string', ROLE, 'a role such as controller or ocp_master (letters, digits, _ . -)'),
      mac_address: text('a string', MAC, 'a MAC address such as fa:16:9e:81:f6:05').transform(canonicalMac),
      /**
       * The Cinder volumes of this instance to capture, by UUID (absent: every volume attached to it,
       * discovered at preflight). Preflight checks each one is attached to this instance.
       */
      volumes: z
        .array(text('a string', UUID, 'a volume UUID such as 1b2f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'), required('a list of volume UUIDs'))
        .max(64, 'expected at most 64 volumes')
        .superRefine((ids, ctx) => {
          const seen = new Set<string>();
          ids.forEach((id, i) => {
            if (seen.has(id.toLowerCase())) ctx.addIssue({ code: 'custom', path: [i], message: `volume ${id} listed twice` });
            seen.add(id.toLowerCase());
          });
        })
        .optional(),
    },
    required('an object with uuid, role and mac_address'),
  );

  const controllerSchema = z.strictObject(
    {
      name: text('a string', INSTANCE_NAME, 'an inventory name (letters, digits, _ . -)'),
      host: z
        .string(required('a host name or IP address'))
        .refine((h) => HOSTNAME.test(h) || IPV4.test(h) || (h.includes(':') && IPV6.test(h)), 'expected a host name or IP address'),
      port: z.number(required('a TCP port number')).int('expected a whole number').min(1).max(65535).default(22),
      user: text('a string', SSH_USER, 'a login name'),
      privateKeyFile: z
        .string(required('a file path'))
        .min(1, 'expected a file path')
        .max(LIMITS.stringLength, `expected a file path of at most ${LIMITS.stringLength} characters`)
        .optional(),
      hostKeyFingerprint: text('a string', FINGERPRINT, 'a host key fingerprint as `ssh-keygen -lf` prints it: SHA256:<43 base64 characters>').optional(),
      knownHostsFile: z
        .string(required('a file path'))
        .min(1, 'expected a file path')
        .max(LIMITS.stringLength, `expected a file path of at most ${LIMITS.stringLength} characters`)
        .optional(),
      insecureIgnoreHostKey: z.boolean(required('true or false')).optional(),
    },
    required('an object'),
  );

  const prepareSchema = z.strictObject(
    {
      enabled: z.boolean(required('true or false')).default(true),
      certRotationWait: duration(DEFAULTS.certRotationWait),
      clusterCreatedAt: isoTime.optional(),
      stablePeriod: duration(DEFAULTS.stablePeriod),
      stableTimeout: duration(DEFAULTS.stableTimeout),
    },
    required('an object'),
  );

  const captureSchema = z.strictObject(
    {
      shutoffTimeout: duration(DEFAULTS.shutoffTimeout),
      shutoffPollInterval: duration(DEFAULTS.shutoffPollInterval),
      forceStopAfter: durationText()
        .transform((s) => parseDuration(s)!)
        .optional(),
      imageTimeout: duration(DEFAULTS.imageTimeout),
      imagePollInterval: duration('5s'),
      maxParallelImages: z.number(required('a number')).int('expected a whole number').min(1).max(256).optional(),
      /** Times one image may be taken while the VMs stay SHUTOFF (a killed snapshot is taken again); 1 = never again. */
      imageAttempts: z
        .number(required('a number'))
        .int('expected a whole number')
        .min(1, 'expected at least 1 (1: a failed snapshot fails the run)')
        .max(10)
        .default(3),
      /** Wait before the first retake of a failed image; doubles on each further attempt (at most 5 min). */
      imageRetryDelay: duration('10s'),
      onFailure: z.enum(['cleanup', 'keep'], { error: 'expected "cleanup" or "keep"' }).default('cleanup'),
      /**
       * The instances' attached Cinder volumes: `snapshot` takes a snapshot of each in the same fan-out
       * as the images (a volume-backed server's are made by Nova with its image either way); `ignore`
       * leaves data volumes out of the set.
       */
      volumes: z.enum(['snapshot', 'ignore'], { error: 'expected "snapshot" or "ignore"' }).default('snapshot'),
    },
    required('an object'),
  );

  const retentionSchema = z.strictObject(
    {
      keep: z.number(required('a number')).int('expected a whole number').min(1, 'expected at least 1 (the newest complete set is never deleted)'),
      maxAge: duration('30d'),
    },
    required('an object'),
  );

  /** Fields the other workflows' inputs (reviveSnapset) share with createSnapset's. */
  const stackNameField = text('a string', STACK_NAME, 'a stack name: a letter, then letters, digits, _ . - (at most 100)').superRefine((name, ctx) => {
    // Workflow IDs are built from the stack name: names that would forge another kind's ID are refused.
    const problem = stackNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
  const cloudNameField = text('a string', CLOUD_NAME, 'a cloud name from clouds.yaml');

  const snapsetInputSchema = z.strictObject(
    {
      stackName: stackNameField,
      cloud: cloudNameField.optional(),
      controller: controllerSchema,
      snapsetData: z.strictObject(
        {
          instances: z.record(z.string(), instanceSchema, required('a map of instance name to {uuid, role, mac_address}')).superRefine((instances, ctx) => {
            const names = Object.keys(instances);
            if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one instance' });
            if (names.length > LIMITS.instances)
              ctx.addIssue({ code: 'custom', message: `expected at most ${LIMITS.instances} instances (got ${names.length})` });
            for (const name of names) {
              if (!INSTANCE_NAME.test(name)) {
                ctx.addIssue({
                  code: 'custom',
                  path: [name],
                  message: 'instance name must be usable in an image name: letters, digits, _ . - (at most 63, not starting with a symbol)',
                });
              }
            }
            const seen = new Map<string, string>();
            for (const [name, inst] of Object.entries(instances)) {
              const other = seen.get(inst.uuid.toLowerCase());
              if (other) ctx.addIssue({ code: 'custom', path: [name, 'uuid'], message: `same server UUID as instance ${other}` });
              seen.set(inst.uuid.toLowerCase(), name);
            }
          }),
        },
        required('an object with instances'),
      ),
      prepare: prepareSchema.prefault({}),
      capture: captureSchema.prefault({}),
      retention: retentionSchema.optional(),
    },
    required('an object'),
  );

  return { instanceSchema, controllerSchema, stackNameField, cloudNameField, snapsetInputSchema };
}
type InputSchemas = ReturnType<typeof inputSchemas>;

/** The validated, defaulted createSnapset input. */
export type SnapsetInput = z.output<InputSchemas['snapsetInputSchema']>;
/** What callers may send (camelCase form). */
export type SnapsetInputArg = z.input<InputSchemas['snapsetInputSchema']>;

// Compile-time guards that the schema matches the shared types.
type Assert<T extends true> = T;
export type _InstanceMatches = Assert<z.output<InputSchemas['instanceSchema']> extends InstanceSpec ? true : false>;
export type _ControllerMatches = Assert<z.output<InputSchemas['controllerSchema']> extends ControllerTarget ? true : false>;

/** Keys whose name says they hold a secret; only file *paths* to secrets are allowed. */
const SECRET_KEY = /pass(word|wd|phrase)?$|secret|token|api[_-]?key|credential|private[_-]?key$|^key$|auth$/i;
const SECRET_KEY_ALLOWED = new Set(['privateKeyFile', 'ansible_ssh_private_key_file', 'knownHostsFile']);
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|^gAAAAA[A-Za-z0-9_-]{20,}/;

/**
 * Temporal stores workflow inputs in history and shows them in the Web UI, so anything that looks
 * like a secret is refused before it gets there.
 */
export function findSecrets(value: unknown, path: string[] = []): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (typeof value === 'string') {
    if (SECRET_VALUE.test(value)) {
      issues.push({
        path: path.join('.'),
        message: 'looks like key material or a token; secrets must not be in the input (it is kept in Temporal history): give a file path instead',
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => issues.push(...findSecrets(v, [...path, String(i)])));
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (SECRET_KEY.test(key) && !SECRET_KEY_ALLOWED.has(key)) {
        issues.push({
          path: [...path, key].join('.'),
          message: 'looks like a secret; secrets must not be in the input (it is kept in Temporal history): use clouds.yaml/secure.yaml or a key file',
        });
      } else {
        issues.push(...findSecrets(v, [...path, key]));
      }
    }
  }
  return issues;
}

const SNAKE_TOP: Record<string, string> = {
  stack_name: 'stackName',
  os_cloud: 'cloud',
  controller_ansible_host: 'controller',
  snapset_data: 'snapsetData',
};
const SNAKE_CONTROLLER: Record<string, string> = {
  ansible_host: 'host',
  ansible_user: 'user',
  ansible_port: 'port',
  ansible_ssh_private_key_file: 'privateKeyFile',
};
const invert = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k]));
const CAMEL_TOP = invert(SNAKE_TOP);
const CAMEL_CONTROLLER = invert(SNAKE_CONTROLLER);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function renameKeys(obj: Record<string, unknown>, map: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [map[k] ?? k, v]));
}

/** The seed's and hotstack's snake_case spelling, turned into the camelCase one. */
function fromSnake(raw: Record<string, unknown>): Record<string, unknown> {
  const out = renameKeys(raw, SNAKE_TOP);
  if (isRecord(out.controller)) {
    // An Ansible port may be a string in YAML inventories.
    const c = renameKeys(out.controller, SNAKE_CONTROLLER);
    if (typeof c.port === 'string' && /^\d+$/.test(c.port)) c.port = Number(c.port);
    out.controller = c;
  }
  return out;
}

function toUserPath(path: PropertyKey[], snake: boolean): string {
  const parts = path.map(String);
  if (snake && parts.length > 0) {
    const top = parts[0]!;
    parts[0] = CAMEL_TOP[top] ?? top;
    if (top === 'controller' && parts[1]) parts[1] = CAMEL_CONTROLLER[parts[1]] ?? parts[1];
  }
  return parts.join('.');
}

/** zod's issues as field issues, with unknown keys reported at their own path. */
export function zodIssues(error: z.ZodError, mapPath: (p: PropertyKey[]) => string = (p) => p.map(String).join('.')): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const iss of error.issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: mapPath([...iss.path, key]), message: 'unknown key' });
    } else {
      out.push({ path: mapPath(iss.path), message: iss.message });
    }
  }
  return out;
}

/**
 * Validates a createSnapset input in any accepted spelling and returns it in canonical form,
 * with defaults filled in. Throws {@link ValidationError} listing every problem.
 */
export function parseSnapsetInput(raw: unknown): SnapsetInput {
  return parseSnapsetInputWithNotes(raw).input;
}

/**
 * Walks the raw document without recursion (a 5,000-deep input must not overflow the stack) and
 * reports what is beyond {@link LIMITS}, before any other check looks at it.
 */
export function checkShape(raw: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value: raw, path: [] }];
  while (stack.length > 0 && issues.length < 20) {
    const { value, path } = stack.pop()!;
    const where = path.join('.');
    if (typeof value === 'string') {
      if (value.length > LIMITS.stringLength) issues.push({ path: where, message: `expected at most ${LIMITS.stringLength} characters (got ${value.length})` });
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (path.length >= LIMITS.depth) {
      issues.push({ path: where, message: `nested deeper than ${LIMITS.depth} levels` });
      continue;
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length > LIMITS.keys) {
      issues.push({ path: where, message: `expected at most ${LIMITS.keys} entries (got ${entries.length})` });
      continue;
    }
    for (const [k, v] of entries) stack.push({ value: v, path: [...path, k] });
  }
  return issues;
}

/** The validated input plus notes on what validation changed (a MAC written `FA:16:…:5` → `fa:16:…:05`). */
export function parseSnapsetInputWithNotes(raw: unknown): { input: SnapsetInput; notes: string[] } {
  if (!isRecord(raw)) throw new ValidationError([{ path: '', message: 'expected an object (JSON or YAML mapping)' }]);
  const shape = checkShape(raw);
  if (shape.length > 0) throw new ValidationError(shape);
  const secrets = findSecrets(raw);
  if (secrets.length > 0) throw new ValidationError(secrets);
  const hasSnake = Object.keys(raw).some((k) => k in SNAKE_TOP);
  const hasCamel = Object.keys(raw).some((k) => k in CAMEL_TOP);
  if (hasSnake && hasCamel) {
    throw new ValidationError([
      {
        path: '',
        message:
          'mixes camelCase keys (stackName, controller, snapsetData, cloud) with the seed’s snake_case ones (stack_name, controller_ansible_host, snapset_data, os_cloud): use one spelling',
      },
    ]);
  }
  const candidate = hasSnake ? fromSnake(raw) : raw;
  const rawInstances = isRecord(candidate.snapsetData) && isRecord(candidate.snapsetData.instances) ? candidate.snapsetData.instances : {};
  // JSON.parse makes `__proto__` an own key; copying it into a plain object would silently drop the instance.
  const reserved = Object.keys(rawInstances).filter((k) => PROTOTYPE_KEYS.has(k));
  if (reserved.length > 0) {
    throw new ValidationError(
      reserved.map((k) => ({
        path: toUserPath(['snapsetData', 'instances', k], hasSnake),
        message: 'reserved name (a JavaScript object key): rename the instance',
      })),
    );
  }
  const result = inputSchemas().snapsetInputSchema.safeParse(candidate);
  if (!result.success) throw new ValidationError(zodIssues(result.error, (p) => toUserPath(p, hasSnake)));
  const notes: string[] = [];
  for (const [name, inst] of Object.entries(result.data.snapsetData.instances)) {
    const given = (rawInstances[name] as Record<string, unknown> | undefined)?.mac_address;
    if (typeof given === 'string' && given !== inst.mac_address) notes.push(`instances.${name}.mac_address ${given} normalized to ${inst.mac_address}`);
  }
  return { input: result.data, notes };
}

/**
 * hotstack writes `<stack_name>-outputs.yaml` with many stack outputs; a SnapSet needs only
 * `controller_ansible_host` and `snapset_data`. The rest (install configs, pull secrets, ...) is
 * dropped here so it never reaches workflow history. `stackName` comes from the file name when
 * the file does not say.
 */
export function fromStackOutputs(outputs: unknown, stackName?: string): Record<string, unknown> {
  if (!isRecord(outputs)) throw new ValidationError([{ path: '', message: 'expected a YAML mapping of stack outputs' }]);
  const issues: FieldIssue[] = [];
  for (const key of ['controller_ansible_host', 'snapset_data']) {
    if (!(key in outputs)) issues.push({ path: key, message: 'required (hotstack stack output)' });
  }
  const name = (typeof outputs.stack_name === 'string' ? outputs.stack_name : undefined) ?? stackName;
  if (!name) issues.push({ path: 'stack_name', message: 'required: not in the file and not derivable from a <stack_name>-outputs.yaml file name' });
  if (issues.length > 0) throw new ValidationError(issues);
  return { stack_name: name, controller_ansible_host: outputs.controller_ansible_host, snapset_data: outputs.snapset_data };
}

/** `mystack-outputs.yaml` → `mystack`. */
export function stackNameFromOutputsFile(fileName: string): string | undefined {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const m = /^(.+)-outputs\.ya?ml$/.exec(base);
  return m?.[1];
}
