/**
 * key=value pairs from the command line: signed user metadata (`docker sign -a`) and the metadata a verification
 * requires (`docker sign verify -m`). A module of its own so verify does not load the signing code.
 */
import { InputError } from '../errors.js';

/**
 * Parses repeated `key=value` flags as notation's ParseFlagMap does (notation sign / verify --user-metadata): split at
 * the first "=", key and value both non-empty, no comma splitting (the value may contain commas and "="), a key given
 * again takes the later value. Undefined for none.
 */
export function parseAnnotations(list: string[] | undefined, usage = '-a key=value'): Record<string, string> | undefined {
  if (!list || list.length === 0) return undefined;
  // no prototype: "__proto__" is a key like any other
  const out = Object.create(null) as Record<string, string>;
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0 || i === kv.length - 1) {
      throw new InputError('INVALID_ANNOTATION', `invalid annotation ${JSON.stringify(kv)}: a key-value pair needs a key, "=" and a value`, { hint: `use ${usage}` });
    }
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** The user metadata a verification requires (`-m key=value`, repeatable, as notation verify takes it). */
export function parseRequiredMetadata(values: string[] | undefined): Record<string, string> | undefined {
  return parseAnnotations(values, '-m key=value');
}

/** Signed user metadata (`docker sign -a` / `-m`): as parseAnnotations, and keys under notation's reserved prefix refused. */
export function parseUserMetadata(list: string[] | undefined): Record<string, string> | undefined {
  const out = parseAnnotations(list);
  for (const k of Object.keys(out ?? {})) {
    if (k.startsWith('io.cncf.notary')) {
      throw new InputError('INVALID_ANNOTATION', `metadata key ${JSON.stringify(k)} has reserved prefix "io.cncf.notary"`, { hint: 'notation refuses it too; use another key' });
    }
  }
  return out;
}
