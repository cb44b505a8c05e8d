/**
 * Validation of everything that ends up in a command line on the controller. Commands are never
 * built by quoting user input into a shell: every argument is checked against a strict pattern
 * first, and the assembled command is checked once more against a shell-inert alphabet.
 */
import { ValidationError, type FieldIssue } from '../shared/errors.js';

/** RFC 1123 subdomain, as Kubernetes validates object names (nodes, CSRs). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_MAX = 253;

/** Characters a built command may contain: no quotes, no `$`, `;`, `|`, `&`, backticks, spaces other than separators. */
const SHELL_INERT = /^[A-Za-z0-9._/=:+,-]+$/;

/** Whether `name` is a valid Kubernetes object name (RFC 1123 subdomain, ≤ 253 characters). */
export function isDns1123Subdomain(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= DNS1123_MAX && DNS1123_SUBDOMAIN.test(name);
}

function describe(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  // Keep the message short; the value is user input, not a secret.
  return JSON.stringify((s ?? String(value)).slice(0, 80));
}

/**
 * Checks a list of Kubernetes object names; throws one non-retryable `ValidationError` naming
 * every bad entry. `field` is the input path used in the error (e.g. `nodes`).
 */
export function validateObjectNames(names: unknown, field: string, kind = 'node name'): string[] {
  if (!Array.isArray(names)) {
    throw new ValidationError([{ path: field, message: `expected an array of ${kind}s` }]);
  }
  const issues: FieldIssue[] = [];
  names.forEach((n, i) => {
    if (!isDns1123Subdomain(n)) {
      issues.push({
        path: `${field}[${i}]`,
        message: `${describe(n)} is not a valid ${kind} (RFC 1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)`,
      });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return [...new Set(names as string[])];
}

/** Checks one Kubernetes object name. */
export function validateObjectName(name: unknown, field: string, kind = 'node name'): string {
  if (!isDns1123Subdomain(name)) {
    throw new ValidationError([{ path: field, message: `${describe(name)} is not a valid ${kind} (RFC 1123 subdomain)` }]);
  }
  return name;
}

/** Checks an integer number of seconds within bounds. */
export function validateSeconds(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError([{ path: field, message: `expected an integer number of seconds in [${min}, ${max}]` }]);
  }
  return value;
}

/** A whole number of seconds as a Go duration (`60s`, `20m`, `2h`), as `oc` flags expect. */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`invalid duration ${seconds}`);
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * A command line assembled from already validated tokens. Every token must be shell-inert, so the
 * remote shell sees exactly these words; anything else is a programming error caught here.
 */
export interface SafeCommand {
  readonly line: string;
  /** Short, secret-free description used in errors and logs (e.g. `oc adm cordon`). */
  readonly verb: string;
}

export function safeCommand(tokens: string[], verb: string): SafeCommand {
  const bad = tokens.filter((t) => !SHELL_INERT.test(t));
  if (tokens.length === 0 || bad.length > 0) {
    throw new ValidationError([{ path: 'command', message: `refusing to build a command with unsafe arguments: ${bad.map(describe).join(', ')}` }]);
  }
  return { line: tokens.join(' '), verb };
}
