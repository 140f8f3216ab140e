// Mutations that turn a well-formed JSON value into a malformed one, chosen so the result is
// malformed by construction (never a different valid message): a string becomes a number or an
// over-long non-hex string, a number a negative fraction or a string, an object gains an
// unknown key or loses a required one, an array gains an element of the wrong kind, and so on.
// Whether a key may be dropped is read from the schema's declaration (optional keys and record
// entries are never dropped).
import type { z } from 'zod';
import type { Prng } from '../util/prng.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Path = Array<string | number>;

interface Def {
  type: string;
  checks?: Array<{ _zod: { def: { check: string; format?: string; pattern?: RegExp } } }>;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

function unwrap(s: z.ZodType): z.ZodType {
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if (d.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
  return s;
}

/** The schema that judges the value at `path` (undefined when the path leaves the schema). */
export function schemaAt(schema: z.ZodType, path: Path): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const p of path) {
    if (!s) return undefined;
    const d = defOf(unwrap(s));
    if (d.type === 'object' && typeof p === 'string') s = d.shape?.[p];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else return undefined;
  }
  return s;
}

/** Whether the object at `parent` must hold `key` (false for optional keys and record entries). */
export function isRequiredKey(schema: z.ZodType, parent: Path, key: string): boolean {
  const p = schemaAt(schema, parent);
  if (!p) return false;
  const d = defOf(unwrap(p));
  if (d.type !== 'object') return false;
  const child = d.shape?.[key];
  return child !== undefined && !child.safeParse(undefined).success;
}

/** Whether the string at `path` must be lowercase hex (a regex of [0-9a-f] only). */
export function isLowerHexString(schema: z.ZodType, path: Path): boolean {
  const s = schemaAt(schema, path);
  if (!s) return false;
  const d = defOf(unwrap(s));
  return d.type === 'string' && (d.checks ?? []).some((c) => {
    const src = c._zod.def.pattern?.source ?? '';
    return c._zod.def.format === 'regex' && src.includes('0-9a-f') && !/A-F|a-z|\\w|\./.test(src);
  });
}

/** Every path in the value (root first), with what is there. */
export function paths(v: Json, at: Path = []): Array<{ path: Path; value: Json }> {
  const out: Array<{ path: Path; value: Json }> = [{ path: at, value: v }];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

export function getAt(v: Json, path: Path): Json {
  let cur: Json = v;
  for (const p of path) cur = (cur as Record<string | number, Json>)[p]!;
  return cur;
}

/** A copy of `v` with the value at `path` replaced (undefined deletes an object key). */
export function setAt(v: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : value;
  const root = structuredClone(v);
  let cur = root as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined && !Array.isArray(cur)) delete cur[last];
  else cur[last] = value as Json;
  return root;
}

export interface Mutation {
  op: string;
  path: string;
  value: Json;
}

const TOO_LONG = 'Z'.repeat(600);
const fmt = (p: Path) => (p.length ? p.join('.') : '(payload)');

/**
 * One malformed variant of `v` under `schema`, or null when no operator applies to the picked
 * spot (the caller picks again). Operators: wrong-type, too-long-string, bad-number,
 * uppercase-hex, odd-hex, unknown-key, drop-required-key, wrong-element, not-an-object.
 */
export function mutate(v: Json, schema: z.ZodType, rng: Prng): Mutation | null {
  const spots = paths(v);
  const { path, value } = rng.pick(spots);
  const at = fmt(path);
  if (path.length === 0 && rng.chance(0.15)) {
    return { op: 'not-an-object', path: at, value: rng.pick<Json>([null, 0, 'payload', [], true]) };
  }
  if (typeof value === 'string') {
    const hex = isLowerHexString(schema, path);
    const ops = ['wrong-type', 'too-long-string', ...(hex && /[a-f]/.test(value) ? ['uppercase-hex'] : []), ...(hex ? ['odd-hex'] : [])];
    const op = rng.pick(ops);
    const next: Json =
      op === 'wrong-type' ? rng.pick<Json>([7, true, { zz: 1 }, [value]]) : op === 'too-long-string' ? TOO_LONG : op === 'uppercase-hex' ? value.toUpperCase() : value.slice(0, -1);
    return { op, path: at, value: setAt(v, path, next) };
  }
  if (typeof value === 'number') {
    const next = rng.pick<Json>([-1.5, String(value), [value], { n: value }]);
    return { op: 'bad-number', path: at, value: setAt(v, path, next) };
  }
  if (typeof value === 'boolean') return { op: 'wrong-type', path: at, value: setAt(v, path, rng.pick<Json>(['true', 1, null])) };
  if (value === null) return { op: 'wrong-type', path: at, value: setAt(v, path, rng.pick<Json>(['x', -1.5, [], { zz: 1 }])) };
  if (Array.isArray(value)) {
    return { op: 'wrong-element', path: at, value: setAt(v, path, [...value, rng.pick<Json>([{ zz: 1 }, [[]], -1.5])]) };
  }
  const obj = value as Record<string, Json>;
  const required = Object.keys(obj).filter((k) => isRequiredKey(schema, path, k));
  if (required.length > 0 && rng.chance(0.5)) {
    const key = rng.pick(required);
    return { op: 'drop-required-key', path: fmt([...path, key]), value: setAt(v, [...path, key], undefined) };
  }
  return { op: 'unknown-key', path: at, value: setAt(v, path, { ...obj, zz_fuzz: { zz: 1 } }) };
}
