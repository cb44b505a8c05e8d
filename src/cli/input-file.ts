/** Reading createSnapset inputs from files: JSON or YAML, errors naming the file, never echoing binary content. */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { ValidationError } from '../shared/errors.js';

/** Larger than any lab's input by far; a bigger file is not an input. */
const MAX_BYTES = 1024 * 1024;

/** The file's text, or a ValidationError when it is not UTF-8 text (its bytes are never printed). */
function asText(file: string, bytes: Buffer): string {
  if (bytes.length > MAX_BYTES) throw new ValidationError([{ path: file, message: `too large for an input file (${bytes.length} bytes)` }]);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError([{ path: file, message: 'not a text file (not UTF-8); expected JSON or YAML' }]);
  }
  if (/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text))
    throw new ValidationError([{ path: file, message: 'not a text file (control characters); expected JSON or YAML' }]);
  return text;
}

export async function readInputFile(file: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new ValidationError([{ path: file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  const text = asText(file, bytes);
  try {
    return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ValidationError([{ path: file, message: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}` }]);
  }
}
