// Reads one YAML or JSON config file, applies METANODE_* environment overrides, validates it
// with the schema and resolves paths. Every problem is reported, one line per bad field:
//   config error: p2p.listen[0]: invalid multiaddr "foo"
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { MetanodeError } from '../util/errors.js';
import { configSchema, describe, FINALITY_DEPTH_DEFAULT, type Config, type ParsedConfig } from './schema.js';
import { applyEnvOverrides, type EnvOverride } from './env.js';

/** A config that failed to load; `issues` holds one "config error: ..." line per problem. */
export class ConfigError extends MetanodeError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super('INVALID_CONFIG', issues.join('; '), [], { issues });
    this.name = 'ConfigError';
    this.issues = issues;
    this.message = issues.join('\n');
  }
}

export interface LoadOptions {
  /** Base for relative paths (dataDir, keystore.dir, passphraseFile, cookieFile); default process.cwd(). */
  cwd?: string;
  /** Command-line flags; they win over the file and the environment. */
  overrides?: CliOverrides;
}

/** Config fields the CLI sets from flags (--data-dir, --passphrase-file). */
export interface CliOverrides {
  dataDir?: string;
  passphraseFile?: string;
}

/**
 * Load and validate the config. `path` undefined means defaults plus environment only.
 * Throws ConfigError (code INVALID_CONFIG) listing every bad field.
 */
export function loadConfig(path: string | undefined, env: Record<string, string | undefined> = process.env, opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const source = path === undefined ? null : resolve(cwd, path);
  const raw = source === null ? {} : readConfigFile(source);
  return parseConfig(raw, env, { cwd, source, overrides: opts.overrides });
}

/** Validate an already-parsed object (as from a file) with env overrides applied. */
export function parseConfig(
  raw: unknown,
  env: Record<string, string | undefined> = {},
  opts: { cwd?: string; source?: string | null; overrides?: CliOverrides } = {},
): Config {
  const cwd = opts.cwd ?? process.cwd();
  const source = opts.source ?? null;
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([`config error: the file must hold a mapping of sections, got ${describe(raw)}`]);
  const data = structuredClone(raw) as Record<string, unknown>;
  const envResult = applyEnvOverrides(configSchema, data, env);
  const o = opts.overrides ?? {};
  if (o.dataDir !== undefined) data.dataDir = o.dataDir;
  if (o.passphraseFile !== undefined) {
    const ks = (data.keystore && typeof data.keystore === 'object' && !Array.isArray(data.keystore) ? data.keystore : {}) as Record<string, unknown>;
    // The flag names the passphrase source outright: any configured variable gives way to it.
    data.keystore = { ...ks, passphraseFile: o.passphraseFile, passphraseEnv: undefined };
  }
  const issues = envResult.errors.map((e) => `config error: environment ${e}`);
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap((i) => formatIssue(i, envResult.overrides)));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return resolvePaths(parsed.data, cwd, source);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([`config error: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`]);
  }
  try {
    if (file.endsWith('.json')) return JSON.parse(text) as unknown;
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true, intAsBigInt: false }) as unknown;
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      throw new ConfigError([`config error: ${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`]);
    }
    throw new ConfigError([`config error: ${file}: ${(e as Error).message}`]);
  }
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function formatIssue(issue: z.core.$ZodIssue, overrides: EnvOverride[]): string[] {
  const where = (path: ReadonlyArray<PropertyKey>) => {
    const p = formatPath(path);
    const from = overrides.find((o) => formatPath(o.path) === p || p.startsWith(formatPath(o.path) + '['));
    return `${p || '(top level)'}${from ? ` (from ${from.variable})` : ''}`;
  };
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    return issue.keys.map((k) => {
      const hint = closest(k, known);
      return `config error: ${where([...issue.path, k])}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`;
    });
  }
  let msg = issue.message;
  if (issue.code === 'invalid_type' && msg.startsWith('Invalid input')) msg = `expected ${issue.expected}, got ${describe(issue.input)}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) msg = 'required';
  return [`config error: ${where(issue.path)}: ${msg}`];
}

function knownKeysAt(path: ReadonlyArray<PropertyKey>): string[] {
  let s: unknown = configSchema;
  for (const p of [undefined, ...path]) {
    // Walk through wrappers to the object shape at this path.
    for (;;) {
      const d = (s as { _zod?: { def: { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown> } } })._zod?.def;
      if (!d) return [];
      if (d.innerType) s = d.innerType;
      else if (d.type === 'pipe') s = d.in;
      else break;
    }
    if (p === undefined) continue;
    const d = (s as { _zod: { def: { shape?: Record<string, unknown> } } })._zod.def;
    if (!d.shape || typeof p !== 'string') return [];
    s = d.shape[p];
  }
  for (;;) {
    const d = (s as { _zod?: { def: { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown> } } })._zod?.def;
    if (!d) return [];
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else return d.shape ? Object.keys(d.shape) : [];
  }
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function resolvePaths(c: ParsedConfig, cwd: string, source: string | null): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const dataDir = abs(c.dataDir);
  const bitcoind = { ...c.chain.bitcoind, ...(c.chain.bitcoind.cookieFile ? { cookieFile: abs(c.chain.bitcoind.cookieFile) } : {}) };
  return {
    ...c,
    dataDir,
    keystore: {
      ...c.keystore,
      dir: c.keystore.dir ? abs(c.keystore.dir) : join(dataDir, 'keys'),
      passphraseFile: c.keystore.passphraseFile ? abs(c.keystore.passphraseFile) : undefined,
      passphraseEnv: c.keystore.passphraseEnv ?? (c.keystore.passphraseFile ? '' : 'METANODE_PASSPHRASE'),
    },
    chain: { ...c.chain, bitcoind },
    custody: { ...c.custody, finalityDepth: c.custody.finalityDepth ?? FINALITY_DEPTH_DEFAULT[c.network] },
    source,
  };
}

/** Directory a config file lives in, for callers that want to place files next to it. */
export function configDir(config: Config): string | null {
  return config.source ? dirname(config.source) : null;
}
