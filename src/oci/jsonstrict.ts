/**
 * Checks on JSON text that JSON.parse cannot make because it forgets how the text was written: repeated member
 * names, and how numbers are written. Both walk the tokens of text that already parsed with JSON.parse (so it is
 * well-formed); strings are skipped without being decoded, except member names.
 */

type Token =
  | { kind: 'open'; object: boolean }
  | { kind: 'close' }
  | { kind: 'comma' }
  | { kind: 'string'; raw: string }
  | { kind: 'number'; raw: string };

function* tokens(text: string): Generator<Token> {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      yield { kind: 'string', raw: text.slice(i, j + 1) };
      i = j + 1;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < n && /[0-9eE.+-]/.test(text[j]!)) j++;
      yield { kind: 'number', raw: text.slice(i, j) };
      i = j;
      continue;
    }
    if (c === '{' || c === '[') yield { kind: 'open', object: c === '{' };
    else if (c === '}' || c === ']') yield { kind: 'close' };
    else if (c === ',') yield { kind: 'comma' };
    i++;
  }
}

/**
 * A member name an object repeats, if any. JSON.parse keeps the last duplicate silently, which would let two
 * readers of one envelope see different values; the envelope must mean one thing.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (const t of tokens(text)) {
    const top = stack[stack.length - 1];
    if (t.kind === 'open') stack.push({ keys: t.object ? new Set() : null, expectKey: t.object });
    else if (t.kind === 'close') stack.pop();
    else if (t.kind === 'comma') {
      if (top?.keys) top.expectKey = true;
    } else if (t.kind === 'string' && top?.keys && top.expectKey) {
      const key = JSON.parse(t.raw) as string;
      if (top.keys.has(key)) return key;
      top.keys.add(key);
      top.expectKey = false;
    }
  }
  return undefined;
}

/**
 * The first number written with a fraction or an exponent ("12.0", "1e3") as the value of a member named `name`,
 * at any depth. Go's encoding/json refuses such a literal for an integer field (a descriptor's int64 `size`), so
 * notation refuses the document; JSON.parse would read 12.0 as 12.
 */
export function findNonIntegerMember(text: string, name: string): string | undefined {
  // Manifests and referrers indexes are read on every verify and sign: a native search first, the token walk
  // (~30 µs/kB) only when some "name": number has a fraction or exponent somewhere (it may be inside a string).
  const quoted = JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // (a member name may also be spelled with \u escapes: then walk anyway)
  if (!text.includes('\\u') && !new RegExp(`${quoted}\\s*:\\s*-?\\d+[.eE]`).test(text)) return undefined;
  const stack: boolean[] = []; // per open container: is it an object
  let expectKey = false;
  let lastKey: string | undefined;
  for (const t of tokens(text)) {
    const inObject = stack[stack.length - 1] === true;
    if (t.kind === 'string' && inObject && expectKey) {
      lastKey = JSON.parse(t.raw) as string;
      expectKey = false;
      continue;
    }
    if (t.kind === 'number' && lastKey === name && inObject && /[.eE]/.test(t.raw)) return t.raw;
    if (t.kind === 'open') {
      stack.push(t.object);
      expectKey = t.object;
    } else if (t.kind === 'close') {
      stack.pop();
    } else if (t.kind === 'comma') {
      expectKey = inObject;
    }
    lastKey = undefined;
  }
  return undefined;
}
