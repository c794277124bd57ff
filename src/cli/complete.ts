/**
 * Shell completion of `docker sign …` / `docker generate …`: the docker CLI completes a plug-in's words by running
 * it as `docker-<name> __complete <name> WORD… CURRENT` (checked with docker 28: what the plug-in prints is passed
 * through as is; global flags such as -H are not passed on). The answer is cobra's completion protocol: one candidate
 * per line (`value<TAB>description`), then `:<directive>`, where the directive tells the shell whether to fall back
 * to file names (0) or not (4, ShellCompDirectiveNoFileComp).
 *
 * The command table comes from dist/completion.json, written at build time from the oclif commands (names,
 * summaries, flags, options), so completion needs neither oclif nor the commands at run time. What a word means
 * beyond that (an image, a signing key, a file) is said here:
 * - images: local image names (`docker image ls`, through the docker CLI on PATH, so its context applies);
 * - signing keys: the names in signingkeys.json of the config dir (--config-dir in the words, DOCKER_SIGN_CONFIG, …);
 * - files: the shell's own file completion (directive 0).
 */
import type * as Fs from 'node:fs';
import type * as ChildProcess from 'node:child_process';
import { configPaths } from '../config/dir.js';

const fs = process.getBuiltinModule('node:fs') as typeof Fs;

export interface CompletionFlag {
  name: string;
  char?: string;
  description?: string;
  /** Takes a value (an option flag), as opposed to a boolean. */
  value: boolean;
  options?: string[];
}

export interface CompletionCommand {
  summary?: string;
  flags: CompletionFlag[];
  args: string[];
}

/** dist/completion.json: command id ("key:rm") → what completion needs of it. */
export interface CompletionTable {
  commands: Record<string, CompletionCommand>;
  /** Topic id ("key") → summary. */
  topics: Record<string, string>;
}

const DIRECTIVE_DEFAULT = 0; // the shell completes file names when no candidate fits
const DIRECTIVE_NO_FILES = 4;

type ValueKind = 'file' | 'key' | 'image' | 'none';

/** Flags whose value is a path, by flag name (every command). */
const FILE_FLAGS = new Set(['file', 'cert', 'p12', 'oci-layout', 'timestamp-root-cert', 'config-dir', 'audit-log', 'socket', 'spec-dir', 'dir', 'daemon-json', 'pidfile', 'rc']);

function flagValueKind(command: string, flag: string): ValueKind {
  if (flag === 'key') return command === 'key:import' ? 'file' : 'key';
  return FILE_FLAGS.has(flag) ? 'file' : 'none';
}

/** What the positional arguments of a command are. */
function argKind(command: string): ValueKind {
  if (['sign', 'push', 'generate:manifest', 'verify', 'ls', 'inspect'].includes(command)) return 'image';
  if (['key:rm', 'key:default'].includes(command)) return 'key';
  if (['cert:add', 'policy:import', 'policy:validate'].includes(command)) return 'file';
  return 'none';
}

interface Candidate { value: string; description?: string }

/**
 * The completion answer for `words` (after `__complete <plugin>`; the last one is the word being completed, maybe
 * empty) of plug-in `plugin` ('sign' or 'generate').
 */
export async function complete(table: CompletionTable, plugin: string, words: string[], env: NodeJS.ProcessEnv = process.env,
  lookups: { images?: () => Promise<string[]>; keys?: (configDir?: string) => string[] } = {}): Promise<string> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const images = lookups.images ?? (() => localImages(env));
  const keys = lookups.keys ?? signingKeyNames;

  // the command: the longest run of leading words naming a topic or command; `docker sign IMAGE` is `sign`
  const ids = Object.keys(table.commands);
  const known = (x: string) => ids.some((c) => c === x || c.startsWith(`${x}:`));
  let id = plugin === 'generate' ? 'generate' : '';
  let i = 0;
  for (; i < before.length; i++) {
    const next = id ? `${id}:${before[i]}` : before[i]!;
    if (!known(next)) break;
    id = next;
  }
  const rest = before.slice(i);
  // a topic with nothing after it ("key", "generate"; the top of docker sign): the next word is a sub-command
  const atTopic = rest.length === 0 && !table.commands[id];
  const command = table.commands[id] ? id : id === '' ? 'sign' : undefined;
  const spec = command ? table.commands[command] : undefined;
  const configDir = flagValue(rest, 'config-dir', spec);
  const out = (cands: Candidate[], directive: number) => answer(cands.filter((c) => c.value.startsWith(current)), directive);

  // the value of a flag: `--flag <TAB>` or `--flag=<TAB>`
  const eq = /^(--[^=]+)=(.*)$/.exec(current);
  const flagWord = eq ? eq[1]! : rest.length > 0 ? before.at(-1) : undefined;
  const flag = spec && flagWord?.startsWith('-') && !flagWord.includes('=') ? findFlag(spec, flagWord) : undefined;
  if (flag?.value) {
    const prefix = eq ? `${eq[1]}=` : '';
    const values = (cands: Candidate[], directive: number) => out(cands.map((c) => ({ ...c, value: prefix + c.value })), directive);
    if (flag.options) return values(flag.options.map((v) => ({ value: v })), DIRECTIVE_NO_FILES);
    const kind = flagValueKind(command!, flag.name);
    if (kind === 'key') return values(keys(configDir).map((k) => ({ value: k })), DIRECTIVE_NO_FILES);
    return answer([], kind === 'file' && !eq ? DIRECTIVE_DEFAULT : DIRECTIVE_NO_FILES);
  }

  if (current.startsWith('-')) {
    const cands: Candidate[] = [];
    for (const f of spec?.flags ?? []) {
      cands.push({ value: `--${f.name}`, description: f.description });
      if (f.char && !current.startsWith('--')) cands.push({ value: `-${f.char}`, description: f.description });
    }
    return out(cands, DIRECTIVE_NO_FILES);
  }

  const cands: Candidate[] = [];
  if (atTopic || (id === '' && rest.length === 0)) {
    const prefix = id ? `${id}:` : '';
    const seen = new Set<string>();
    for (const c of ids) {
      if (!c.startsWith(prefix) || c === 'sign') continue; // `docker sign sign` works, but is not offered
      const word = c.slice(prefix.length).split(':')[0]!;
      if (seen.has(word)) continue;
      seen.add(word);
      cands.push({ value: word, description: table.commands[prefix + word]?.summary ?? table.topics[prefix + word] });
    }
  }
  if (!spec) return out(cands, DIRECTIVE_NO_FILES);
  const positional = rest.filter((w, k) => !w.startsWith('-') && !(k > 0 && takesValue(spec, rest[k - 1]!)));
  const kind = argKind(command!);
  if (kind === 'file') return out(cands, DIRECTIVE_DEFAULT);
  if (kind === 'key' && positional.length < spec.args.length) cands.push(...keys(configDir).map((k) => ({ value: k })));
  if (kind === 'image' && positional.length < Math.max(1, spec.args.length)) cands.push(...(await images()).map((v) => ({ value: v })));
  return out(cands, DIRECTIVE_NO_FILES);
}

function findFlag(spec: CompletionCommand, word: string): CompletionFlag | undefined {
  if (word.startsWith('--')) return spec.flags.find((f) => f.name === word.slice(2));
  return word.length === 2 ? spec.flags.find((f) => f.char === word[1]) : undefined;
}

function takesValue(spec: CompletionCommand, word: string): boolean {
  return word.startsWith('-') && !word.includes('=') && findFlag(spec, word)?.value === true;
}

/** The value given to --name (or its short form) among `words`, if any. */
function flagValue(words: string[], name: string, spec?: CompletionCommand): string | undefined {
  const char = spec?.flags.find((f) => f.name === name)?.char;
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    if (w.startsWith(`--${name}=`)) return w.slice(name.length + 3);
    if ((w === `--${name}` || (char && w === `-${char}`)) && k + 1 < words.length) return words[k + 1];
  }
  return undefined;
}

function answer(cands: Candidate[], directive: number): string {
  const lines = cands.map((c) => (c.description ? `${c.value}\t${c.description.split('\n')[0]}` : c.value));
  return [...lines, `:${directive}`].join('\n') + '\n';
}

/** Names of the signing keys in signingkeys.json; none when it cannot be read. */
export function signingKeyNames(configDir: string | undefined): string[] {
  try {
    const doc = JSON.parse(fs.readFileSync(configPaths(configDir).signingKeys, 'utf8')) as { keys?: { name?: unknown }[] };
    return (doc.keys ?? []).map((k) => k.name).filter((n): n is string => typeof n === 'string');
  } catch {
    return [];
  }
}

/** repository:tag of the local images, from the docker CLI (its context and DOCKER_HOST apply); none on any failure. */
export function localImages(env: NodeJS.ProcessEnv = process.env, timeoutMs = 3000): Promise<string[]> {
  const { execFile } = process.getBuiltinModule('node:child_process') as typeof ChildProcess;
  return new Promise((resolve) => {
    execFile('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { env, timeout: timeoutMs, maxBuffer: 4 << 20, encoding: 'utf8' }, (err, stdout) => {
      if (err) return resolve([]);
      resolve([...new Set(stdout.split('\n').filter((l) => l && !l.includes('<none>')))].sort());
    });
  });
}

/** Entry of the plug-in shims: prints the answer for `argv` = ['__complete', plugin, ...words]. Never throws. */
export async function run(argv: string[], tableFile: string): Promise<void> {
  let text: string;
  try {
    const table = JSON.parse(fs.readFileSync(tableFile, 'utf8')) as CompletionTable;
    text = await complete(table, argv[1] ?? 'sign', argv.slice(2).length > 0 ? argv.slice(2) : ['']);
  } catch {
    text = ':1\n'; // ShellCompDirectiveError: the shell offers nothing
  }
  process.stdout.write(text);
}
