/** Output helpers shared by the verbs: durations to the second, tables, JSON. */
import { formatDuration } from '../shared/duration.js';

/** `86_397_289` → `23h59m57s`: people read seconds, not milliseconds. */
export function seconds(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);
}

/** Workflow details text with its durations cut to the second (`23h59m57s289ms` → `23h59m57s`). */
export function tidyDurations(text: string): string {
  return text.replace(/\b((?:\d+(?:d|h|m(?!s)|s))+)\d+ms\b/g, '$1').replace(/\b\d{1,3}ms\b/g, '0s');
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
