// Environment overrides: METANODE_<SECTION>_<KEY>[_<SUBKEY>] sets one config leaf, matched
// case-insensitively against the schema; a camelCase key may be split by underscores or not
// (METANODE_CHAIN_ESPLORA_URL or METANODE_CHAIN_ESPLORAURL -> chain.esploraUrl,
// METANODE_CHAIN_BITCOIND_PASSWORD -> chain.bitcoind.password, METANODE_DATA_DIR -> dataDir).
// Lists take comma-separated values (METANODE_P2P_BOOTSTRAP=/ip4/.../p2p/A,/ip4/.../p2p/B).
// Variables whose first part names no section are left alone (METANODE_PASSPHRASE, METANODE_CONFIG);
// a known section with an unknown key is an error, so a typo does not silently do nothing.
import type { z } from 'zod';

export const ENV_PREFIX = 'METANODE_';

type Leaf = 'string' | 'number' | 'boolean' | 'array' | 'other';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

function def(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strip wrappers (default, optional, transform pipes) down to the schema that decides the shape. */
function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = def(s);
    if ((d.type === 'default' || d.type === 'prefault' || d.type === 'optional' || d.type === 'nullable') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

function leafKind(s: z.ZodType): Leaf {
  const d = def(unwrap(s));
  if (d.type === 'number') return 'number';
  if (d.type === 'boolean') return 'boolean';
  if (d.type === 'array') return 'array';
  if (d.type === 'string' || d.type === 'enum') return 'string';
  return 'other';
}

function shapeOf(s: z.ZodType): Record<string, z.ZodType> | undefined {
  const d = def(unwrap(s));
  return d.type === 'object' ? d.shape : undefined;
}

function coerce(kind: Leaf, raw: string): unknown {
  const v = raw.trim();
  switch (kind) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(v)) return true;
      if (/^(false|0|no|off)$/i.test(v)) return false;
      return v;
    case 'array':
      return v === '' ? [] : v.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
    default:
      return v;
  }
}

export interface EnvOverride {
  variable: string;
  path: string[];
}

export interface EnvResult {
  overrides: EnvOverride[];
  /** Messages for METANODE_<SECTION>_<KEY> variables whose key does not exist. */
  errors: string[];
}

/**
 * Apply matching environment variables onto `target` (the parsed file, mutated in place).
 * Matching walks the schema: each `_`-separated part names one key, case-insensitively.
 */
export function applyEnvOverrides(schema: z.ZodType, target: Record<string, unknown>, env: Record<string, string | undefined>): EnvResult {
  const out: EnvResult = { overrides: [], errors: [] };
  const root = shapeOf(schema);
  if (!root) return out;
  outer: for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const value = env[name];
    if (value === undefined) continue;
    const parts = name.slice(ENV_PREFIX.length).toLowerCase().split('_').filter((p) => p.length > 0);
    if (parts.length === 0) continue;
    let shape: Record<string, z.ZodType> | undefined = root;
    const path: string[] = [];
    let leaf: z.ZodType | undefined;
    let unknown = false;
    // Each key takes one or more consecutive parts, so both METANODE_DATADIR and
    // METANODE_DATA_DIR name dataDir; the shortest match wins.
    let i = 0;
    while (i < parts.length) {
      let key: string | undefined;
      let j = i;
      for (; shape && j < parts.length && key === undefined; j++) {
        const joined = parts.slice(i, j + 1).join('');
        key = Object.keys(shape).find((k) => k.toLowerCase() === joined);
      }
      if (!shape || key === undefined) {
        unknown = true;
        break;
      }
      path.push(key);
      const child: z.ZodType = shape[key]!;
      i = j;
      if (i >= parts.length) leaf = child;
      else shape = shapeOf(child);
    }
    if (unknown || !leaf) {
      // Only complain when the variable clearly aims at a config section.
      if (path.length > 0) out.errors.push(`${name}: no config key ${[...path, parts.slice(i).join('_')].filter(Boolean).join('.')} (known: ${Object.keys(shape ?? {}).join(', ') || 'none'})`);
      continue;
    }
    if (shapeOf(leaf)) {
      out.errors.push(`${name}: ${path.join('.')} is a section; set one of its keys`);
      continue;
    }
    let node: Record<string, unknown> = target;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null) node[key] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        out.errors.push(`${name}: cannot set ${path.join('.')} because ${key} in the file is not a section`);
        continue outer;
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = coerce(leafKind(leaf), value);
    out.overrides.push({ variable: name, path });
  }
  return out;
}
