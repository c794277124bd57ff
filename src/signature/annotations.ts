/**
 * key=value pairs from the command line: signed user metadata (`docker sign -a`) and the metadata a verification
 * requires (`docker sign verify -m`). A module of its own so verify does not load the signing code.
 */
import { InputError } from '../errors.js';

/** Parses repeated `key=value` flags (duplicates and empty keys are errors); undefined for none. */
export function parseAnnotations(list: string[] | undefined, usage = '-a key=value'): Record<string, string> | undefined {
  if (!list || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new InputError('INVALID_ANNOTATION', `invalid annotation ${JSON.stringify(kv)}`, { hint: `use ${usage}` });
    const k = kv.slice(0, i);
    if (Object.prototype.hasOwnProperty.call(out, k)) throw new InputError('INVALID_ANNOTATION', `annotation ${JSON.stringify(k)} is given twice`);
    out[k] = kv.slice(i + 1);
  }
  return out;
}

/** The user metadata a verification requires (`-m key=value`, repeatable or comma-separated, as notation verify takes it). */
export function parseRequiredMetadata(values: string[] | undefined): Record<string, string> | undefined {
  return parseAnnotations(values?.flatMap((v) => v.split(',')), '-m key=value');
}
