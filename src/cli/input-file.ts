/** Reading createSnapset inputs from files: JSON or YAML, errors naming the file. */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { ValidationError } from '../shared/errors.js';

export async function readInputFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ValidationError([{ path: file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ValidationError([{ path: file, message: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}` }]);
  }
}
