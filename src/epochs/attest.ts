// Identity-key attestations of epoch records (seed 003: clients check that every authority
// signed the same data). Each committee member signs the record's canonical bytes with its
// libp2p Ed25519 identity key; anyone holding only peer ids can verify, because an Ed25519
// peer id embeds its public key.
import { peerIdFromString } from '@libp2p/peer-id';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { MetanodeError, errorMessage } from '../util/errors.js';
import {
  EpochsResponseSchema,
  recordBytes,
  recordHash,
  EpochRecordSchema,
  type Attestation,
  type EpochRecord,
  type SignedEpochRecord,
} from './record.js';

/** Signs with this node's identity key (libp2p PrivateKey.sign fits). */
export type SignFn = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>;
/** Verifies a signature by the identity key a peer id names. Never throws; false on anything wrong. */
export type VerifyFn = (peerId: string, bytes: Uint8Array, signature: Uint8Array) => Promise<boolean>;

/** The real verifier: the public key comes out of the peer id itself (Ed25519 identity multihash). */
export const verifyWithPeerId: VerifyFn = async (peerId, bytes, signature) => {
  try {
    const pub = peerIdFromString(peerId).publicKey;
    if (!pub || pub.type !== 'Ed25519') return false;
    return await pub.verify(bytes, signature);
  } catch {
    return false;
  }
};

export async function signRecord(record: EpochRecord, peerId: string, sign: SignFn): Promise<Attestation> {
  const sig = await sign(recordBytes(record));
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new MetanodeError('INVALID_SIGNATURE', 'identity signer did not return a 64-byte Ed25519 signature');
  return { peerId, signature: bytesToHex(sig) };
}

export async function verifyAttestation(record: EpochRecord, att: Attestation, verify: VerifyFn = verifyWithPeerId): Promise<boolean> {
  if (!/^[0-9a-f]{128}$/.test(att.signature)) return false;
  return verify(att.peerId, recordBytes(record), hexToBytes(att.signature));
}

export interface RecordCheck {
  epoch: number;
  recordHash: string;
  /** Every committee member has exactly one valid signature, and no one but them (and consenting previous members) signed. */
  complete: boolean;
  missing: string[];
  invalid: string[];
  outsiders: string[];
}

/**
 * Checks one signed record: valid signature from every committee member, nothing else except
 * signatures of `consenting` peers (the previous committee, whose members consent to a regroup).
 */
export async function checkSignedRecord(s: SignedEpochRecord, verify: VerifyFn = verifyWithPeerId, consenting: Iterable<string> = []): Promise<RecordCheck> {
  const required = new Set(s.record.committee.map((m) => m.peerId));
  const members = new Set([...required, ...consenting]);
  const valid = new Set<string>();
  const invalid: string[] = [];
  const outsiders: string[] = [];
  for (const a of s.signatures) {
    if (!members.has(a.peerId)) {
      outsiders.push(a.peerId);
      continue;
    }
    if (await verifyAttestation(s.record, a, verify)) valid.add(a.peerId);
    else invalid.push(a.peerId);
  }
  const missing = [...required].filter((p) => !valid.has(p));
  return { epoch: s.record.epoch, recordHash: recordHash(s.record), complete: missing.length === 0 && invalid.length === 0 && outsiders.length === 0, missing, invalid, outsiders };
}

export interface SourceRecords {
  /** Where these came from (a URL), for the report. */
  source: string;
  epochs: SignedEpochRecord[];
  /** Set when the source could not be read; its records are then empty. */
  error?: string;
}

export interface VerifyEpochReport {
  allSignaturesValid: boolean;
  allAgree: boolean;
  details: {
    sources: { source: string; error?: string; epochs: number }[];
    /** Per epoch: the record hash each source reports and the signature check of each distinct record. */
    epochs: { epoch: number; bySource: Record<string, string | null>; agree: boolean; checks: RecordCheck[] }[];
    problems: string[];
  };
}

/**
 * Compares the epoch records several nodes serve. Signatures: every record must carry a valid
 * signature from each committee member. Agreement: for every epoch any source reports, all
 * sources report the same record (a source that omits an epoch another reports disagrees).
 */
export async function verifyEpochRecords(sources: SourceRecords[], verify: VerifyFn = verifyWithPeerId): Promise<VerifyEpochReport> {
  const problems: string[] = [];
  const epochs = new Map<number, Map<string, SignedEpochRecord>>();
  for (const s of sources) {
    if (s.error) problems.push(`${s.source}: ${s.error}`);
    for (const e of s.epochs) {
      const byHash = epochs.get(e.record.epoch) ?? new Map<string, SignedEpochRecord>();
      epochs.set(e.record.epoch, byHash);
      const h = recordHash(e.record);
      // Merge signatures from every source for the same record: one node may lag behind.
      const prev = byHash.get(h);
      if (prev) {
        const have = new Set(prev.signatures.map((a) => a.peerId + a.signature));
        byHash.set(h, { ...prev, signatures: [...prev.signatures, ...e.signatures.filter((a) => !have.has(a.peerId + a.signature))] });
      } else byHash.set(h, e);
    }
  }
  let allSignaturesValid = sources.length > 0 && sources.every((s) => !s.error);
  let allAgree = allSignaturesValid;
  const report: VerifyEpochReport['details']['epochs'] = [];
  for (const epoch of [...epochs.keys()].sort((a, b) => a - b)) {
    const byHash = epochs.get(epoch)!;
    const bySource: Record<string, string | null> = {};
    for (const s of sources) {
      const e = s.epochs.find((x) => x.record.epoch === epoch);
      bySource[s.source] = e ? recordHash(e.record) : null;
    }
    const distinct = new Set(Object.values(bySource));
    const agree = distinct.size === 1 && !distinct.has(null);
    if (!agree) {
      allAgree = false;
      problems.push(`epoch ${epoch}: sources disagree (${Object.entries(bySource).map(([s, h]) => `${s}=${h ?? 'missing'}`).join(', ')})`);
    }
    const checks: RecordCheck[] = [];
    for (const rec of byHash.values()) {
      // Members of the previous epoch (as any source reports it) may sign too: their consent.
      const prev = rec.record.previousEpoch === null ? [] : [...(epochs.get(rec.record.previousEpoch)?.values() ?? [])].flatMap((p) => p.record.committee.map((m) => m.peerId));
      const c = await checkSignedRecord(rec, verify, prev);
      checks.push(c);
      if (!c.complete) {
        allSignaturesValid = false;
        problems.push(`epoch ${epoch} record ${c.recordHash.slice(0, 16)}: missing ${c.missing.join(',') || '-'}, invalid ${c.invalid.join(',') || '-'}, outsiders ${c.outsiders.join(',') || '-'}`);
      }
    }
    report.push({ epoch, bySource, agree, checks });
  }
  return {
    allSignaturesValid,
    allAgree,
    details: { sources: sources.map((s) => ({ source: s.source, error: s.error, epochs: s.epochs.length })), epochs: report, problems },
  };
}

/** Fetches `<url>/v1/epochs` from one node, bounded in time, schema-validated. */
export async function fetchEpochs(url: string, opts: { timeoutMs?: number; fetchFn?: typeof fetch } = {}): Promise<SourceRecords> {
  const base = url.replace(/\/+$/, '');
  try {
    const u = new URL(base + '/v1/epochs');
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported protocol ${u.protocol}`);
    const res = await (opts.fetchFn ?? fetch)(u, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > 32 * 1024 * 1024) throw new Error('response larger than 32 MiB');
    const parsed = EpochsResponseSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`bad /v1/epochs response: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return { source: base, epochs: parsed.data.epochs };
  } catch (e) {
    return { source: base, epochs: [], error: errorMessage(e) };
  }
}

/** `metanode verify-epoch --from <url> [--from <url> ...]`. */
export async function verifyEpochFromUrls(urls: string[], opts: { timeoutMs?: number; fetchFn?: typeof fetch; verify?: VerifyFn } = {}): Promise<VerifyEpochReport> {
  if (urls.length === 0) throw new MetanodeError('INVALID_INPUT', 'verify-epoch needs at least one --from <url>');
  const sources = await Promise.all(urls.map((u) => fetchEpochs(u, opts)));
  return verifyEpochRecords(sources, opts.verify ?? verifyWithPeerId);
}

export { EpochRecordSchema };
