// Epoch catch-up (direct kind 'epochs.sync'). A node that missed the final attestations of a
// ceremony, or that is newly staked and never held a key, asks a peer for the epochs after the
// last one it has, and stores each as a PUBLIC epoch (record, signatures, key; no share) only
// if it verifies on its own, whoever served it:
//   - every committee member signed exactly this record with its identity key, nobody else did;
//   - the EpochKey is the one the record commits to (keyHash), its committee is the record's,
//     identifiers are the committee positions 1..n, the vault address and the Taproot output key
//     recompute from it, and its verifying shares lie on its Feldman commitments;
//   - the record chains: previousEpoch is an epoch this node holds; a regroup keeps the key and
//     address of the epoch it reshared and carries the new committee's valid test signature.
// A stored epoch is never replaced by a different record: two fully signed records for one
// epoch are equivocation, kept as evidence when the same member signed both.
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
import { verifyBip340 } from '../crypto/signing.js';
import { EpochKeySchema } from '../rounds/regroup/messages.js';
import { MetanodeError, errorMessage } from '../util/errors.js';
import { checkSignedRecord, verifyWithPeerId, type VerifyFn } from './attest.js';
import { equivocationEvidence, verifyViolation } from './evidence.js';
import type { EpochManager } from './manager.js';
import { AttestationSchema, EpochRecordSchema, canonicalJson, epochKeyHash, recordHash, regroupTestMessage, type EpochRecord } from './record.js';

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
  if (canonicalJson(key.committee) !== canonicalJson(record.committee)) return 'key committee differs from the record';
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
  /** Only records of this network are accepted. */
  network?: Network;
  verify?: VerifyFn;
  /**
   * An extra anchor for the first epochs a new node learns, e.g. every committee member must be
   * a staked peer in its stake table. Returns a reason to refuse, or null.
   */
  checkCommittee?: (record: EpochRecord) => string | null;
}

export interface ImportEpochsResult {
  /** Epochs stored as public epochs, ascending. */
  imported: number[];
  rejected: { epoch: number; reason: string }[];
  /** Epochs already stored with the very same record (nothing changed). */
  known: number[];
  /** Epochs retired because an imported regroup reshared them. */
  retired: number[];
  /** Peers whose equivocation evidence verified and was stored. */
  violations: string[];
}

async function checkEntry(manager: EpochManager, e: EpochSyncEntry, opts: ImportEpochsOptions): Promise<string | null> {
  const { record, key } = e;
  if (opts.network && record.network !== opts.network) return `record is for network ${record.network}, not ${opts.network}`;
  const keyProblem = checkEpochKey(record, key);
  if (keyProblem) return keyProblem;
  if (record.previousEpoch === null) {
    if (record.kind !== 'keygen' || record.epoch !== 1) return 'only the first keygen epoch may have no previous epoch';
  } else {
    if (record.previousEpoch >= record.epoch) return `previous epoch ${record.previousEpoch} is not older`;
    const prev = manager.store.get(record.previousEpoch);
    if (!prev) return `previous epoch ${record.previousEpoch} is not known here`;
    if (prev.record.network !== record.network) return 'previous epoch is for another network';
    if (record.kind === 'regroup') {
      if (prev.record.outputKey !== record.outputKey || prev.record.internalKey !== record.internalKey || prev.record.vaultAddress !== record.vaultAddress)
        return `regroup changes the key of epoch ${record.previousEpoch}`;
    }
  }
  if (record.kind === 'regroup' && (!record.testSignature || !verifyBip340(record.testSignature, regroupTestMessage(record.network, record.epoch, record.outputKey), record.outputKey)))
    return 'regroup test signature does not verify against the vault key';
  const check = await checkSignedRecord({ record, signatures: e.signatures, status: 'adopted' }, opts.verify ?? verifyWithPeerId);
  if (check.invalid.length) return `invalid signature from ${check.invalid.join(', ')}`;
  if (check.missing.length) return `missing signature of committee member ${check.missing.join(', ')}`;
  if (check.outsiders.length) return `signature from outside the committee: ${check.outsiders.join(', ')}`;
  if (opts.checkCommittee) {
    const r = opts.checkCommittee(record);
    if (r) return r;
  }
  return null;
}

/** Members that signed both the stored record and the offered one: verified evidence is stored. */
async function recordEquivocation(manager: EpochManager, e: EpochSyncEntry, verify: VerifyFn): Promise<string[]> {
  const stored = manager.store.get(e.record.epoch)!;
  const out: string[] = [];
  for (const b of e.signatures) {
    const a = stored.signatures.find((s) => s.peerId === b.peerId);
    if (!a || out.includes(b.peerId)) continue;
    const v = await verifyViolation(equivocationEvidence(b.peerId, { record: stored.record, attestation: a }, { record: e.record, attestation: b }), verify);
    if (v.ok) {
      manager.recordViolation(v.violation);
      out.push(b.peerId);
    }
  }
  return out;
}

/**
 * Client side: verifies each epoch of a peer's `epochs.sync` reply (ascending) and stores those
 * that verify as public epochs through EpochManager.importPublic. The current epoch becomes the
 * highest one in force. Throws INVALID_MESSAGE (culprit: `from`) only when the reply is malformed.
 */
export async function importEpochs(manager: EpochManager, response: unknown, opts: ImportEpochsOptions): Promise<ImportEpochsResult> {
  const p = EpochSyncResponseSchema.safeParse(response);
  if (!p.success) throw new MetanodeError('INVALID_MESSAGE', `bad ${EPOCH_SYNC_KIND} reply from ${opts.from}: ${p.error.issues[0]?.message ?? 'invalid'}`, [opts.from]);
  const verify = opts.verify ?? verifyWithPeerId;
  const res: ImportEpochsResult = { imported: [], rejected: [], known: [], retired: [], violations: [] };
  for (const e of p.data.epochs) {
    const { record } = e;
    const have = manager.store.get(record.epoch);
    if (have) {
      if (recordHash(have.record) === recordHash(record)) {
        res.known.push(record.epoch);
        continue;
      }
      const who = await recordEquivocation(manager, e, verify);
      res.violations.push(...who.filter((x) => !res.violations.includes(x)));
      res.rejected.push({
        epoch: record.epoch,
        reason: `conflicts with the stored record of epoch ${record.epoch} (equivocation${who.length ? ` signed by ${who.join(', ')}` : ''}); not replaced`,
      });
      continue;
    }
    const problem = await checkEntry(manager, e, opts);
    if (problem) {
      res.rejected.push({ epoch: record.epoch, reason: problem });
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
