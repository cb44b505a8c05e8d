/**
 * Host key checking as OpenSSH does it: `known_hosts` lines (plain, wildcard, negated and hashed
 * `|1|salt|hash` host patterns, `[host]:port` for non-22 ports, `@revoked`), or a pinned
 * `SHA256:<base64>` fingerprint exactly as `ssh-keygen -lf` prints it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `SHA256:<unpadded base64>` of a public key blob, as `ssh-keygen -lf` prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Normalises a pinned fingerprint (`SHA256:…`, padding optional); undefined when malformed. */
export function normalizeFingerprint(pin: string): string | undefined {
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(pin.trim());
  return m ? `SHA256:${m[1]}` : undefined;
}

/** Constant-time comparison of two fingerprints. */
export function fingerprintsEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** The name OpenSSH looks up in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** One parsed known_hosts line. */
export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  keyBlob: Buffer;
  line: number;
}

/** Parses known_hosts text; malformed lines and comments are skipped, as ssh does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() as KnownHostEntry['marker'];
    } else if (fields[0]?.startsWith('@')) {
      return;
    }
    if (fields.length < 3) return;
    const [patterns, keyType, b64] = fields as [string, string, string];
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const keyBlob = Buffer.from(b64, 'base64');
    if (keyBlob.length < 4) return;
    entries.push({ marker, patterns, keyType, keyBlob, line: i + 1 });
  });
  return entries;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatch(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether a known_hosts host-pattern field matches `name` (negations win, as in ssh's match_hostname). */
export function hostPatternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p === '') continue;
    const negated = p.startsWith('!');
    const pat = negated ? p.slice(1) : p;
    if (globToRegExp(pat).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export type HostKeyCheck =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'mismatch'; knownTypes: string[] }
  | { status: 'unknown' };

/** Entries (not `@cert-authority`) that apply to `host:port`. */
export function entriesFor(entries: KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  return entries.filter((e) => e.marker !== '@cert-authority' && hostPatternsMatch(e.patterns, name));
}

/** Checks a presented key blob against the known_hosts entries of `host:port`. */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyCheck {
  const applicable = entriesFor(entries, host, port);
  const revoked = applicable.find((e) => e.marker === '@revoked' && e.keyBlob.equals(keyBlob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const known = applicable.filter((e) => e.marker === undefined);
  const hit = known.find((e) => e.keyBlob.equals(keyBlob));
  if (hit) return { status: 'match', entry: hit };
  if (known.length > 0) return { status: 'mismatch', knownTypes: [...new Set(known.map((e) => e.keyType))] };
  return { status: 'unknown' };
}

/** ssh2 host-key algorithm names able to present a key of the given known_hosts key type. */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  if (['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-dss'].includes(keyType)) {
    return [keyType];
  }
  return [];
}
