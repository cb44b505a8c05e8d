/**
 * Durations as people write them in YAML and on the command line: `25h`, `60s`, `1h30m`, `500ms`,
 * `2d`. Pure (used inside workflows). Bare numbers are refused: "60" could be seconds or minutes.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!WHOLE.test(s)) return undefined;
  let total = 0;
  for (const [, n, unit] of s.matchAll(PART)) total += Number(n) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** Like {@link parseDuration} but throws a message naming what was wrong. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 25h, 60s, 1h30m, 500ms)`);
  return ms;
}

/**
 * `90061000` → `25h1m1s`, `2592000000` → `30d`; the inverse of {@link parseDuration} for whole units.
 * Days only from two days on: the certificate wait reads `25h`, as people write it, not `1d1h`.
 */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (unit === 'd' && rest < 2 * size) continue;
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
