// `metanode verify-epoch --from <url> ...` (seed 003: a client checks that every authority signed
// the same data before trusting it). For one epoch (default the latest) it asks every node for
// /v1/epochs and checks, per node:
//   (a) every committee member signed the record's canonical bytes with its Ed25519 identity key
//       (the public key comes out of the peer id), nobody else signed, and no signature is bad;
//   (b) the served key is the one the record commits to (checkEpochKey: keyHash, committee,
//       identifiers, Taproot tweak, vault address, shares on commitments) and is self-consistent;
//   (c) every node serves the same record (canonical bytes) and the same key; the reference is
//       what most nodes serve, so the odd one out is named with the fields that differ.
// `agreed` holds only if every node asked answered and passed all three.
import { errorMessage, MetanodeError } from '../../util/errors.js';
import { createApiClient, type ApiClient } from '../client.js';
import type { EpochJson } from '../json-types.js';
import { UsageError } from '../exit-codes.js';
import { positionalIdentifierProblem } from '../../crypto/identifiers.js';
import { taprootOutputKey, vaultAddress as vaultAddressOf } from '../../crypto/taproot.js';
import type { EpochKey } from '../../crypto/types.js';
import { checkSignedRecord, verifyWithPeerId, type VerifyFn } from '../../epochs/attest.js';
import { canonicalJson, epochKeyHash, recordHash, type EpochRecord } from '../../epochs/record.js';
import { checkEpochKey } from '../../epochs/sync.js';
import { fetchEpochEntries } from './epochs.js';
import type { View } from '../print.js';

export interface VerifyEpochOptions {
  from: string[];
  /** Epoch to verify; default the highest epoch any source reports. */
  epoch?: number;
  timeoutMs?: number;
  /** For tests: a client per URL. */
  clientFor?: (url: string) => ApiClient;
  /** Identity signature check (default: the Ed25519 key inside the peer id). */
  verify?: VerifyFn;
}

export interface SourceReport {
  url: string;
  ok: boolean;
  /** Unreachable, malformed answer, or no record for the epoch. */
  error?: string;
  /** sha256 of the canonical record bytes this node serves. */
  recordHash: string | null;
  status: string | null;
  /** Committee members with a valid signature in this node's answer. */
  validSigners: number;
  /** Committee members without a valid signature here. */
  missingSigners: string[];
  /** Members whose signature here does not verify over the record bytes. */
  invalidSigners: string[];
  /** Signers that are not committee members. */
  outsiders: string[];
  /** Fields (record.<f>, key.<f>, vaultAddress) that differ from the reference the most nodes serve. */
  differs: string[];
  /** Key/record consistency problems of this node's entry on its own. */
  problems: string[];
}

export interface VerifyEpochResult {
  agreed: boolean;
  epoch: number | null;
  /** Hash of the reference record (the one most nodes serve). */
  recordHash: string | null;
  outputKey: string | null;
  vaultAddress: string | null;
  threshold: number | null;
  committeeSize: number | null;
  /** Nodes that answered with a valid /v1/epochs body. */
  answered: number;
  sources: SourceReport[];
}

/** Problems with one key on its own, whatever the record or the other nodes say. */
export function selfCheck(key: EpochKey, vaultAddress: string): string[] {
  const problems: string[] = [];
  const guard = (what: string, f: () => void) => {
    try {
      f();
    } catch (err) {
      problems.push(`${what}: ${errorMessage(err)}`);
    }
  };
  guard('taproot tweak', () => {
    if (taprootOutputKey(key.internalKey).outputKey !== key.outputKey) problems.push('output key is not the Taproot tweak of the internal key');
  });
  guard('vault address', () => {
    if (vaultAddressOf(key) !== vaultAddress) problems.push(`vault address ${vaultAddress} does not belong to the output key`);
  });
  const n = key.committee.length;
  if (!Number.isInteger(key.threshold) || key.threshold < 1 || key.threshold > n) problems.push(`threshold ${key.threshold} is not within 1..${n}`);
  guard('committee', () => {
    const positional = positionalIdentifierProblem(key.committee);
    if (positional) problems.push(positional);
  });
  const ids = new Set(key.committee.map((m) => m.identifier));
  const shares = Object.keys(key.verifyingShares);
  if (shares.length !== ids.size || shares.some((s) => !ids.has(s))) problems.push('verifying shares do not match the committee');
  return problems;
}

type Fetched = { url: string; epochs: EpochJson[]; error?: undefined } | { url: string; epochs?: undefined; error: string };

function differingFields(e: EpochJson, ref: EpochJson): string[] {
  const out: string[] = [];
  const cmp = (prefix: string, a: Record<string, unknown>, b: Record<string, unknown>) => {
    for (const f of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) if (canonicalJson(a[f] ?? null) !== canonicalJson(b[f] ?? null)) out.push(`${prefix}${f}`);
  };
  cmp('record.', e.record as Record<string, unknown>, ref.record as Record<string, unknown>);
  cmp('key.', e.key as unknown as Record<string, unknown>, ref.key as unknown as Record<string, unknown>);
  if (e.vaultAddress !== ref.vaultAddress) out.push('vaultAddress');
  return out;
}

/** Record plus key: two nodes agree exactly when this matches. */
function identity(e: EpochJson): string {
  return `${recordHash(e.record as EpochRecord)}|${epochKeyHash(e.key as EpochKey)}`;
}

export async function verifyEpochCommand(opts: VerifyEpochOptions): Promise<VerifyEpochResult> {
  const urls = [...new Set(opts.from)];
  if (urls.length === 0) throw new UsageError('give at least one --from <url>');
  if (opts.epoch !== undefined && (!Number.isSafeInteger(opts.epoch) || opts.epoch < 1)) throw new UsageError(`--epoch must be a positive whole number, got ${opts.epoch}`);
  const verify = opts.verify ?? verifyWithPeerId;
  const clientFor = opts.clientFor ?? ((u: string) => createApiClient(u, { timeoutMs: opts.timeoutMs ?? 10_000 }));
  const fetched: Fetched[] = await Promise.all(
    urls.map(async (url): Promise<Fetched> => {
      try {
        return { url, epochs: await fetchEpochEntries(clientFor(url), url) };
      } catch (e) {
        return { url, error: errorMessage(e) };
      }
    }),
  );
  const answered = fetched.filter((f) => f.epochs).length;
  if (answered === 0) throw new MetanodeError('NODE_UNREACHABLE', `no source answered: ${fetched.map((f) => `${f.url}: ${f.error}`).join('; ')}`);
  const all = fetched.flatMap((f) => f.epochs ?? []);
  const epoch = opts.epoch ?? (all.length ? Math.max(...all.map((e) => e.record.epoch)) : null);

  const rows = await Promise.all(
    fetched.map(async (f) => {
      if (f.error !== undefined) return { url: f.url, error: f.error };
      const mine = f.epochs.filter((e) => e.record.epoch === epoch);
      if (mine.length === 0) return { url: f.url, error: epoch === null ? 'serves no epochs' : `has no epoch ${epoch}` };
      const entry = mine[0]!;
      const problems: string[] = [];
      if (mine.length > 1) problems.push(`serves ${mine.length} entries for epoch ${epoch}`);
      const keyProblem = checkEpochKey(entry.record as EpochRecord, entry.key as EpochKey);
      if (keyProblem) problems.push(`key vs record: ${keyProblem}`);
      problems.push(...selfCheck(entry.key as EpochKey, entry.vaultAddress));
      if (entry.vaultAddress !== entry.record.vaultAddress) problems.push(`served vault address ${entry.vaultAddress} is not the record's ${entry.record.vaultAddress}`);
      // Members of the previous epoch may sign too: the old key holders' consent to a regroup.
      const consenting = f.epochs.filter((e) => e.record.epoch === entry.record.previousEpoch).flatMap((e) => e.record.committee.map((m) => m.peerId));
      const sig = await checkSignedRecord(entry, verify, consenting);
      return { url: f.url, entry, problems: [...new Set(problems)], sig };
    }),
  );

  // The reference is what the most nodes serve, preferring a fully signed record on a tie, so a
  // single liar is the one flagged.
  const groups = new Map<string, { n: number; complete: boolean; entry: EpochJson; first: number }>();
  rows.forEach((r, i) => {
    if (!('entry' in r) || !r.entry) return;
    const id = identity(r.entry);
    const g = groups.get(id);
    if (g) g.n++;
    else groups.set(id, { n: 1, complete: r.sig.complete, entry: r.entry, first: i });
  });
  const reference = [...groups.values()].sort((a, b) => b.n - a.n || Number(b.complete) - Number(a.complete) || a.first - b.first)[0]?.entry ?? null;

  const sources: SourceReport[] = rows.map((r) => {
    if (!('entry' in r) || !r.entry) return { url: r.url, ok: false, error: r.error, recordHash: null, status: null, validSigners: 0, missingSigners: [], invalidSigners: [], outsiders: [], differs: [], problems: [] };
    const differs = reference ? differingFields(r.entry, reference) : [];
    const { sig } = r;
    return {
      url: r.url,
      ok: sig.complete && differs.length === 0 && r.problems.length === 0,
      recordHash: sig.recordHash,
      status: r.entry.status,
      validSigners: r.entry.record.committee.length - sig.missing.length,
      missingSigners: sig.missing,
      invalidSigners: sig.invalid,
      outsiders: sig.outsiders,
      differs,
      problems: r.problems,
    };
  });
  return {
    agreed: reference !== null && sources.every((s) => s.ok),
    epoch,
    recordHash: reference ? recordHash(reference.record as EpochRecord) : null,
    outputKey: reference?.record.outputKey ?? null,
    vaultAddress: reference?.record.vaultAddress ?? null,
    threshold: reference?.record.threshold ?? null,
    committeeSize: reference?.record.committee.length ?? null,
    answered,
    sources,
  };
}

/** Every reason a source is not OK, in one line. */
export function sourceProblems(s: SourceReport): string[] {
  if (s.error) return [s.error];
  return [
    ...(s.missingSigners.length ? [`missing signatures: ${s.missingSigners.join(',')}`] : []),
    ...(s.invalidSigners.length ? [`invalid signatures: ${s.invalidSigners.join(',')}`] : []),
    ...(s.outsiders.length ? [`signed by non-members: ${s.outsiders.join(',')}`] : []),
    ...(s.differs.length ? [`differs: ${s.differs.join(',')}`] : []),
    ...s.problems,
  ];
}

export const verifyEpochSourcesView: View<SourceReport> = {
  columns: [
    { header: 'SOURCE', get: (s) => s.url },
    { header: 'OK', get: (s) => (s.ok ? 'yes' : 'NO') },
    { header: 'RECORD', get: (s) => s.recordHash?.slice(0, 16) },
    { header: 'STATUS', get: (s) => s.status },
    { header: 'SIGNED', get: (s) => (s.recordHash ? s.validSigners : null), align: 'right' },
    { header: 'PROBLEM', get: (s) => sourceProblems(s).join('; ') },
  ],
};

export function renderVerifyEpoch(r: VerifyEpochResult, render: (d: unknown, v: View<SourceReport>) => string): string {
  const head = r.agreed
    ? [
        `epoch ${r.epoch}: all ${r.sources.length} sources serve the same record, signed by all ${r.committeeSize} committee members`,
        `record:     ${r.recordHash}`,
        `output key: ${r.outputKey}`,
        `vault:      ${r.vaultAddress}`,
        `threshold:  ${r.threshold} of ${r.committeeSize}`,
      ].join('\n')
    : `epoch ${r.epoch ?? '-'}: NOT AGREED (${r.answered} of ${r.sources.length} sources answered; see the problems below)`;
  return `${head}\n\n${render(r.sources, verifyEpochSourcesView)}`;
}
