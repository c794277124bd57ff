/**
 * Rejects JSON text in which an object repeats a member name. JSON.parse keeps the last duplicate silently,
 * which would let two readers of one envelope see different values; the envelope must mean one thing.
 * Assumes `text` already parsed with JSON.parse (so it is well-formed).
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top && top.keys) top.expectKey = true;
    }
    i++;
  }
  return undefined;
}

/**
 * The first number written with a fraction or an exponent ("12.0", "1e3") as the value of a member named `name`,
 * at any depth. Go's encoding/json refuses such a literal for an integer field (a descriptor's int64 `size`), so
 * notation refuses the document; JSON.parse would read 12.0 as 12. Assumes `text` parsed with JSON.parse.
 */
export function findNonIntegerMember(text: string, name: string): string | undefined {
  const stack: boolean[] = []; // per open container: is it an object
  let expectKey = false;
  let lastKey: string | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (stack[stack.length - 1] && expectKey) {
        lastKey = JSON.parse(text.slice(i, j + 1)) as string;
        expectKey = false;
      } else {
        lastKey = undefined;
      }
      i = j + 1;
      continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < n && /[0-9eE.+-]/.test(text[j]!)) j++;
      const literal = text.slice(i, j);
      if (lastKey === name && stack[stack.length - 1] && /[.eE]/.test(literal)) return literal;
      lastKey = undefined;
      i = j;
      continue;
    }
    if (c === '{') {
      stack.push(true);
      expectKey = true;
    } else if (c === '[') {
      stack.push(false);
      lastKey = undefined;
    } else if (c === '}' || c === ']') {
      stack.pop();
      lastKey = undefined;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] === true;
      lastKey = undefined;
    }
    i++;
  }
  return undefined;
}
