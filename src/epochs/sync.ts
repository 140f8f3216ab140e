// Epoch catch-up (direct kind 'epochs.sync'). A node that missed the final attestations of a
// ceremony, or that is newly staked and never held a key, asks a peer for the epochs after the
// last one it has, and stores each as a PUBLIC epoch (record, signatures, key; no share) only
// if it verifies on its own, whoever served it:
//   - every committee member signed exactly this record with its identity key, nobody else did;
//   - the EpochKey is the one the record commits to (keyHash), its committee is the record's,
//     identifiers are the committee positions 1..n, the vault address and the Taproot output key
//     recompute from it, and its verifying shares lie on its Feldman commitments;
//   - the record passes the trust rules every adoption passes (src/epochs/adoption.ts, through
//     EpochManager.judge/importPublic): chaining on the epoch in force, consent of t_old of its
//     committee, keygen only while open, a first epoch only with two thirds of the staked peers
//     known here, committees of staked peers in seniority order, t >= 2.
// Sync only moves forward: an entry at or below the cursor the request named (the highest epoch
// stored here) is refused, and nothing is concluded from it; a stored epoch is never replaced.
// Sync takes no equivocation evidence: a stale record of a superseded attempt, replayed by
// anyone, must cost an honest member nothing (src/epochs/evidence.ts says what evidence is).
// Decision: importing a regroup retires the epoch it reshared (same key, same address, so no
// funds depend on the old sharing) and destroys this node's share of it, as adopting the
// regroup would have done; shares of epochs at other addresses are kept for their funds.
import { z } from 'zod';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Network } from '../chain/types.js';
import type { EpochKey } from '../crypto/types.js';
import { positionalIdentifierProblem } from '../crypto/identifiers.js';
import { taprootOutputKey, vaultAddress } from '../crypto/taproot.js';
import { EpochKeySchema } from '../rounds/regroup/messages.js';
import { MetanodeError, errorMessage } from '../util/errors.js';
import type { EpochManager } from './manager.js';
import { AttestationSchema, EpochRecordSchema, canonicalJson, epochKeyHash, keyCommittee, recordHash, type EpochRecord } from './record.js';

export const EPOCH_SYNC_KIND = 'epochs.sync';
/** Epochs per reply; a node further behind asks again after the last one it imported. */
export const EPOCH_SYNC_MAX_EPOCHS = 16;
export const EPOCH_SYNC_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export const EpochSyncRequestSchema = z.object({ afterEpoch: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();
export type EpochSyncRequest = z.infer<typeof EpochSyncRequestSchema>;

export const EpochSyncEntrySchema = z.object({ record: EpochRecordSchema, signatures: z.array(AttestationSchema).max(1000), key: EpochKeySchema }).strict();
export type EpochSyncEntry = z.infer<typeof EpochSyncEntrySchema>;

export const EpochSyncResponseSchema = z
  .object({ epochs: z.array(EpochSyncEntrySchema).max(EPOCH_SYNC_MAX_EPOCHS) })
  .strict()
  .refine((r) => r.epochs.every((e, i) => i === 0 || e.record.epoch > r.epochs[i - 1].record.epoch), { message: 'epochs must be strictly ascending' });
export type EpochSyncResponse = z.infer<typeof EpochSyncResponseSchema>;

/** For DirectMessenger.register(kind, { ...spec, handler: (from, req) => serveEpochSync(manager, req) }). */
export const epochSyncDirectSpecs = {
  [EPOCH_SYNC_KIND]: { request: EpochSyncRequestSchema, response: EpochSyncResponseSchema, maxRequestBytes: 256, maxResponseBytes: EPOCH_SYNC_MAX_RESPONSE_BYTES },
} as const;

/** What to ask a peer for: everything after the highest epoch this node stores. */
export function epochSyncRequest(manager: EpochManager): EpochSyncRequest {
  return { afterEpoch: manager.store.maxEpoch() };
}

/**
 * Server side: this node's signed records with their public keys after `afterEpoch`, ascending,
 * at most 16 and within the reply size cap (retired epochs included: they are links of the chain).
 */
export function serveEpochSync(manager: EpochManager, req: unknown): EpochSyncResponse {
  const p = EpochSyncRequestSchema.safeParse(req);
  if (!p.success) throw new MetanodeError('INVALID_MESSAGE', `bad ${EPOCH_SYNC_KIND} request: ${p.error.issues[0]?.message ?? 'invalid'}`);
  const epochs: EpochSyncEntry[] = [];
  let bytes = 64;
  for (const e of manager.store.after(p.data.afterEpoch, EPOCH_SYNC_MAX_EPOCHS)) {
    const entry: EpochSyncEntry = { record: e.record, signatures: e.signatures, key: e.key };
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (epochs.length > 0 && bytes + size > EPOCH_SYNC_MAX_RESPONSE_BYTES) break;
    bytes += size;
    epochs.push(entry);
  }
  return { epochs };
}

const Point = secp256k1.Point;
const Fn = Point.Fn;

function randomWeight(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(16));
  const n = BigInt('0x' + bytesToHex(b));
  return n === 0n ? 1n : n;
}

/**
 * Batched Feldman check that every verifying share Y_j equals sum_k C_k * x_j^k: with random
 * 128-bit weights r_j, sum_j r_j Y_j == sum_k (sum_j r_j x_j^k) C_k. A wrong share passes only
 * with negligible probability; cost is one multi-scalar multiplication per side.
 */
function sharesOnCommitments(key: EpochKey): string | null {
  let C: InstanceType<typeof Point>[];
  const Y: InstanceType<typeof Point>[] = [];
  const xs: bigint[] = [];
  try {
    C = key.commitments.map((c) => Point.fromHex(c));
    for (const m of key.committee) {
      Y.push(Point.fromHex(key.verifyingShares[m.identifier]));
      xs.push(BigInt('0x' + m.identifier));
    }
  } catch {
    return 'key holds a commitment or verifying share that is not a valid point';
  }
  if (bytesToHex(C[0].toBytes(true).subarray(1)) !== key.outputKey) return 'first commitment is not the vault output key';
  const r = xs.map(() => randomWeight());
  const coeff: bigint[] = C.map(() => Fn.ZERO);
  xs.forEach((x, j) => {
    let pow = r[j];
    for (let k = 0; k < C.length; k++) {
      coeff[k] = Fn.add(coeff[k], pow);
      pow = Fn.mul(pow, x);
    }
  });
  const lhs = mulAddUnsafe(Point, Y, r);
  const rhs = mulAddUnsafe(Point, C, coeff);
  return lhs.equals(rhs) ? null : 'verifying shares do not lie on the key commitments';
}

/** Whether the public key material is exactly what `record` commits to; a reason when not. */
export function checkEpochKey(record: EpochRecord, key: EpochKey): string | null {
  if (key.epoch !== record.epoch || key.network !== record.network) return 'key is for another epoch or network';
  if (key.outputKey !== record.outputKey || key.internalKey !== record.internalKey) return 'key output/internal key differ from the record';
  if (key.threshold !== record.threshold) return 'key threshold differs from the record';
  if (canonicalJson(key.committee) !== canonicalJson(keyCommittee(record.committee))) return 'key committee differs from the record';
  const positional = positionalIdentifierProblem(record.committee);
  if (positional) return positional;
  const peers = new Set<string>();
  const idents = new Set<string>();
  for (const m of record.committee) {
    if (peers.has(m.peerId) || idents.has(m.identifier)) return `committee member ${m.peerId} listed twice`;
    peers.add(m.peerId);
    idents.add(m.identifier);
  }
  if (epochKeyHash(key) !== record.keyHash) return 'key hash does not match the record keyHash';
  try {
    if (taprootOutputKey(key.internalKey).outputKey !== key.outputKey) return 'output key is not the TapTweak of the internal key';
    if (vaultAddress(key) !== record.vaultAddress) return 'vault address does not recompute from the key';
  } catch (e) {
    return `key does not give a Taproot address: ${errorMessage(e)}`;
  }
  const shareIds = Object.keys(key.verifyingShares);
  if (shareIds.length !== idents.size || !shareIds.every((id) => idents.has(id))) return 'verifying shares are not exactly one per committee member';
  if (key.commitments.length !== key.threshold) return `key has ${key.commitments.length} commitments for threshold ${key.threshold}`;
  return sharesOnCommitments(key);
}

export interface ImportEpochsOptions {
  /** Peer id the response came from (named in the result and logs; not trusted for anything). */
  from: string;
  /** Only records of this network are accepted (the trust rules check it too). */
  network?: Network;
  /** The afterEpoch the request named; default: the highest epoch stored here now. */
  cursor?: number;
}

export interface ImportEpochsResult {
  /** Epochs stored as public epochs, ascending. */
  imported: number[];
  rejected: { epoch: number; reason: string }[];
  /** Epochs already stored with the very same record (nothing changed). */
  known: number[];
  /** Epochs retired because an imported regroup reshared them. */
  retired: number[];
  /** Entries refused for now that may pass later (e.g. a member's stake not visible here yet). */
  notYet: number[];
}

async function checkEntry(manager: EpochManager, e: EpochSyncEntry, opts: ImportEpochsOptions): Promise<{ reason: string; retry: boolean } | null> {
  const { record, key } = e;
  if (opts.network && record.network !== opts.network) return { reason: `record is for network ${record.network}, not ${opts.network}`, retry: false };
  const keyProblem = checkEpochKey(record, key);
  if (keyProblem) return { reason: keyProblem, retry: false };
  const v = await manager.judge(record, e.signatures);
  return v.ok ? null : { reason: v.reason, retry: v.retry };
}

/**
 * Client side: verifies each epoch of a peer's `epochs.sync` reply (ascending) and stores those
 * that verify as public epochs through EpochManager.importPublic. The current epoch becomes the
 * highest one in force. Throws INVALID_MESSAGE (culprit: `from`) only when the reply is malformed.
 */
export async function importEpochs(manager: EpochManager, response: unknown, opts: ImportEpochsOptions): Promise<ImportEpochsResult> {
  const p = EpochSyncResponseSchema.safeParse(response);
  if (!p.success) throw new MetanodeError('INVALID_MESSAGE', `bad ${EPOCH_SYNC_KIND} reply from ${opts.from}: ${p.error.issues[0]?.message ?? 'invalid'}`, [opts.from]);
  const cursor = opts.cursor ?? manager.store.maxEpoch();
  const res: ImportEpochsResult = { imported: [], rejected: [], known: [], retired: [], notYet: [] };
  for (const e of p.data.epochs) {
    const { record } = e;
    if (record.epoch <= cursor) {
      const have = manager.store.get(record.epoch);
      if (have && recordHash(have.record) === recordHash(record)) res.known.push(record.epoch);
      else res.rejected.push({ epoch: record.epoch, reason: `epoch ${record.epoch} is at or below the sync cursor ${cursor}: not asked for, nothing taken from it` });
      continue;
    }
    const problem = await checkEntry(manager, e, opts);
    if (problem) {
      res.rejected.push({ epoch: record.epoch, reason: problem.reason });
      if (problem.retry) res.notYet.push(record.epoch);
      continue;
    }
    const prev = record.previousEpoch === null ? null : manager.store.get(record.previousEpoch);
    const supersedes = record.kind === 'regroup' && prev && prev.status !== 'retired' ? [prev.record.epoch] : [];
    try {
      const r = await manager.importPublic({ record, signatures: e.signatures }, e.key, { retire: supersedes, locked: record.kind === 'regroup' && prev?.status === 'locked' });
      if (r === 'known') res.known.push(record.epoch);
      else {
        res.imported.push(record.epoch);
        res.retired.push(...supersedes);
      }
    } catch (err) {
      res.rejected.push({ epoch: record.epoch, reason: `not stored: ${errorMessage(err)}` });
    }
  }
  return res;
}
