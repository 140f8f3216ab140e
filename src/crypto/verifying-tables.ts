// A key's verifying shares, parsed once and, for a key in steady use, with noble's interleaved
// wNAF tables (interleavedMSMUnsafe) built over them.
//
// Why: checking every signature share of a message (aggregateSignatures' default) is one MSM in
// which each signer contributes its nonce commitments D_i, E_i (new every ceremony) and its
// verifying share Y_i (the same for the whole epoch). Parsing Y_i costs a square root (~80 us)
// and a one-shot table for it 8 point additions, on every aggregation; the Y_i term of a 256-bit
// scalar then takes ~43 additions in the shared walk. With tables kept per key (width 8: 64 odd
// multiples per point, built once: ~100 * 64 additions at n = 100, ~1.3 MB) the term takes ~28
// additions and no parsing, and one walk serves the Y_i terms of all messages of a ceremony.
// The tables are built when they pay off: on a key's second aggregation, for a ceremony of
// several messages, or when asked (prepareVerifyingShares, e.g. when a node adopts a key).
import { interleavedMSMUnsafe } from '@noble/curves/abstract/curve.js';
import { fail, Point, type PointT, tryPoint } from './internal.js';
import type { EpochKey } from './types.js';

/** Window width of the kept tables (2^(W-2) odd multiples per point). */
const WIDTH = 8;
/** Keys whose tables are kept (most recently used); a node signs under one or two at a time. */
const MAX_KEYS = 4;
/** Aggregations of this many messages build the tables at once (they save ~6 ms per message). */
export const TABLES_PAY_OFF_AT = 3;

export interface VerifyingTable {
  /** Position of each committee member's verifying share in `points`. */
  index: Map<string, number>;
  points: PointT[];
  /** sum scalars[j] * points[j]; scalars may be shorter (missing = 0) and hold zeros. */
  msm: (scalars: bigint[]) => PointT;
}

const tables = new Map<string, VerifyingTable>();
/** Keys aggregated under once without tables (content key -> true), bounded like `tables`. */
const seen = new Map<string, true>();

/** The verifying shares in committee order: what the tables depend on (a regroup keeps outputKey). */
function contentKey(key: EpochKey): string {
  return key.committee.map((m) => `${m.identifier}:${key.verifyingShares?.[m.identifier] ?? ''}`).join(',');
}

function touch<V>(map: Map<string, V>, k: string, v: V): void {
  map.delete(k);
  map.set(k, v);
  while (map.size > MAX_KEYS) map.delete(map.keys().next().value!);
}

function build(key: EpochKey): VerifyingTable {
  const index = new Map<string, number>();
  const points: PointT[] = [];
  for (const m of key.committee) {
    const h = key.verifyingShares?.[m.identifier];
    const Y = typeof h === 'string' ? tryPoint(h) : null;
    if (!Y) continue; // a broken entry fails when (if ever) its member signs, as without tables
    index.set(m.identifier, points.length);
    points.push(Y);
  }
  return { index, points, msm: interleavedMSMUnsafe(Point, points, WIDTH) };
}

/**
 * The key's table if it is kept or worth building now (`messages` about to be checked, or the
 * key was aggregated under before); undefined for a first, small aggregation (one-shot MSM).
 */
export function verifyingTableFor(key: EpochKey, messages: number): VerifyingTable | undefined {
  const k = contentKey(key);
  const hit = tables.get(k);
  if (hit) {
    touch(tables, k, hit);
    return hit;
  }
  if (messages < TABLES_PAY_OFF_AT && !seen.has(k)) {
    touch(seen, k, true);
    return undefined;
  }
  seen.delete(k);
  const t = build(key);
  touch(tables, k, t);
  return t;
}

/** Parses the key's verifying shares and builds their tables now (e.g. when a node adopts the key). */
export function prepareVerifyingShares(key: EpochKey): void {
  if (!key || typeof key !== 'object' || !Array.isArray(key.committee)) fail('INVALID_INPUT', 'not an epoch key');
  const k = contentKey(key);
  if (!tables.has(k)) touch(tables, k, build(key));
}

/** Drops every kept table (tests and benchmarks measure cold paths with it). */
export function resetVerifyingTables(): void {
  tables.clear();
  seen.clear();
}
