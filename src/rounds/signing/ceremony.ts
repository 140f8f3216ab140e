// Step 6: the threshold set signs every input of the document in one FROST ceremony, with
// ROAST-style retries inside the round.
//
// Attempt k's signers are the first t peers of the seniority-ordered pool (threshold set, then
// the rest of the eligible signing set) that have not been named in this round. A signer that
// sends a malformed commitment or an invalid share, or stays silent past the stage timeout, is
// named and blocked, and attempt k+1 starts with fresh nonces, as long as t unnamed peers remain.
// Every node in the pool runs this logic (signers and standbys), so all of them reach the same
// verdicts from the same broadcast messages.
import { hexToBytes } from '@noble/hashes/utils.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { Transaction } from '@scure/btc-signer';
import {
  aggregateSignatures, signingCommit, signShares, validateCommitmentList, verifySignatureShares, type NonceCommitment, type SigningTarget,
} from '../../crypto/signing.js';
import { assembleSignedTx, type Candidate } from '../../custody/candidate.js';
import { isMetanodeError } from '../../util/errors.js';
import { blame, finish, isCulprit, note, participant, publish, type Ctx } from './ctx.js';
import { MSG, type CommitPayload, type FinalPayload, type SharePayload } from './messages.js';
import type { AttemptState } from './types.js';
import { commitmentDigest } from './sessions.js';

export function targetsOf(doc: Candidate): SigningTarget[] {
  return doc.inputs.map((i, idx) => ({ message: doc.sighashes[idx]!, ...(i.tweak ? { tweak: i.tweak } : {}) }));
}

function idOf(c: Ctx, peer: string): string {
  return participant(c, peer)!.identifier;
}

function peerOfId(c: Ctx, identifier: string): string {
  return c.s.cfg.participants.find((p) => p.identifier === identifier)?.peerId ?? identifier;
}

/** Stage length for this document: the base timeout plus the per-input allowance. */
export function stageMs(c: Ctx, base: number): number {
  const inputs = c.s.doc?.inputs.length ?? 0;
  return base + inputs * (c.s.cfg.timeouts.perInputMs ?? 0);
}

export function signersFor(c: Ctx): string[] {
  return c.s.pool.filter((p) => !isCulprit(c, p)).slice(0, c.s.cfg.threshold);
}

export function startAttempt(c: Ctx, attempt: number): void {
  const signers = signersFor(c);
  if (signers.length < c.s.cfg.threshold) {
    const culprits = c.s.culprits.map((x) => x.peer);
    finish(c, 'aborted', 'ceremony', `fewer than ${c.s.cfg.threshold} unnamed signers left`, { code: 'ABORTED', culprits });
    return;
  }
  const a: AttemptState = {
    attempt, signers, stage: 'commit', deadline: c.now + stageMs(c, c.s.cfg.timeouts.commitMs),
    nonces: null, ownCommitted: false, ownShared: false, lists: null, shares: {},
  };
  c.s.attempt = a;
  c.s.phase = 'ceremony';
  c.s.deadline = a.deadline;
  note(c, 'ceremony', 'attempt', { reason: `attempt ${attempt}: signers ${signers.join(',')}` });
  const self = c.s.cfg.self;
  if (signers.includes(self) && c.s.cfg.share && !c.s.cooldown) {
    const doc = c.s.doc!;
    const { nonces, commitments } = signingCommit(c.s.cfg.share, c.s.cfg.key, doc.inputs.length);
    a.nonces = nonces;
    a.ownCommitted = true;
    const payload: CommitPayload = { attempt, signers, commitments };
    (c.s.commits[attempt] ??= {})[self] = payload;
    publish(c, MSG.commit, payload);
    note(c, 'ceremony', 'sent', { peer: self, reason: 'commitments' });
  }
  for (const [from, m] of Object.entries(c.s.commits[attempt] ?? {})) if (from !== self) handleCommit(c, from, m, false);
  maybeFinishCommits(c);
}

/** Records a commitment; `fresh` = just arrived (stored ones were already logged on arrival). */
export function handleCommit(c: Ctx, from: string, m: CommitPayload, fresh: boolean): void {
  const a = c.s.attempt;
  if (fresh) (c.s.commits[m.attempt] ??= {})[from] ??= m;
  if (!a || c.s.phase !== 'ceremony' || m.attempt !== a.attempt) return; // kept for its attempt
  if (!a.signers.includes(from)) return void note(c, 'ceremony', 'ignore', { peer: from, reason: 'not-a-signer' });
  if (m.signers.join(',') !== a.signers.join(',')) return void note(c, 'ceremony', 'ignore', { peer: from, reason: 'signer-set-mismatch' });
  const id = idOf(c, from);
  const n = c.s.doc!.inputs.length;
  if (m.commitments.length !== n || m.commitments.some((x) => x.identifier !== id)) {
    blame(c, 'ceremony', from, 'INVALID_NONCE_COMMITMENT', 'commitments of the wrong count or identifier');
    return retry(c);
  }
  note(c, 'ceremony', 'accept', { peer: from, reason: 'commitments' });
  maybeFinishCommits(c);
}

function maybeFinishCommits(c: Ctx): void {
  const a = c.s.attempt;
  if (!a || c.s.phase !== 'ceremony' || a.stage !== 'commit') return;
  const got = c.s.commits[a.attempt] ?? {};
  if (!a.signers.every((p) => got[p] && got[p]!.signers.join(',') === a.signers.join(','))) return;
  const lists: Record<string, NonceCommitment[]> = {};
  for (const p of a.signers) lists[idOf(c, p)] = got[p]!.commitments;
  try {
    validateCommitmentList(c.s.cfg.key, a.signers.map((p) => idOf(c, p)), lists, c.s.doc!.inputs.length);
  } catch (e) {
    const culprits = isMetanodeError(e) ? e.culprits.map((x) => peerOfId(c, x)) : [];
    for (const p of culprits) blame(c, 'ceremony', p, isMetanodeError(e) ? e.code : 'INVALID_COMMITMENT_LIST', 'invalid nonce commitments');
    return retry(c);
  }
  a.lists = lists;
  a.stage = 'share';
  a.deadline = c.now + stageMs(c, c.s.cfg.timeouts.shareMs);
  c.s.deadline = a.deadline;
  const self = c.s.cfg.self;
  if (a.ownCommitted && a.nonces && !c.s.cooldown) {
    const doc = c.s.doc!;
    // The session record must be durable before the share leaves; the driver enforces the order.
    const own = (c.s.commits[a.attempt] ?? {})[self]?.commitments ?? [];
    c.out.push({ kind: 'guard-session', roundId: c.s.cfg.roundId, attempt: a.attempt, digest: doc.docHash, commitments: own.map(commitmentDigest) });
    const shares = signShares(c.s.cfg.share!, c.s.cfg.key, a.nonces, lists, targetsOf(doc));
    a.nonces = null;
    a.ownShared = true;
    const payload: SharePayload = { attempt: a.attempt, shares };
    (c.s.sharesIn[a.attempt] ??= {})[self] = payload;
    a.shares[idOf(c, self)] = shares;
    publish(c, MSG.share, payload);
    note(c, 'ceremony', 'sent', { peer: self, digest: doc.docHash, reason: 'signature-shares' });
  }
  for (const [from, m] of Object.entries(c.s.sharesIn[a.attempt] ?? {})) {
    if (from === self) continue;
    handleShare(c, from, m, false);
    if (c.s.attempt !== a || c.s.phase !== 'ceremony') return;
  }
  maybeAggregate(c);
}

export function handleShare(c: Ctx, from: string, m: SharePayload, fresh: boolean): void {
  if (fresh) (c.s.sharesIn[m.attempt] ??= {})[from] ??= m;
  const a = c.s.attempt;
  if (!a || c.s.phase !== 'ceremony' || m.attempt !== a.attempt || a.stage !== 'share' || !a.lists) return;
  if (!a.signers.includes(from)) return void note(c, 'ceremony', 'ignore', { peer: from, reason: 'not-a-signer' });
  const id = idOf(c, from);
  if (a.shares[id]) return;
  if (!verifySignatureShares(c.s.cfg.key, a.lists, targetsOf(c.s.doc!), id, m.shares)) {
    blame(c, 'ceremony', from, 'INVALID_SIGNATURE_SHARE', `invalid signature share in attempt ${a.attempt}`);
    return retry(c);
  }
  a.shares[id] = m.shares;
  note(c, 'ceremony', 'accept', { peer: from, reason: 'signature-shares' });
  maybeAggregate(c);
}

function maybeAggregate(c: Ctx): void {
  const a = c.s.attempt;
  if (!a || a.stage !== 'share' || !a.lists || c.s.phase !== 'ceremony') return;
  if (!a.signers.every((p) => a.shares[idOf(c, p)])) return;
  const doc = c.s.doc!;
  let sigs: string[];
  try {
    sigs = aggregateSignatures(c.s.cfg.key, a.lists, targetsOf(doc), a.shares);
  } catch (e) {
    const culprits = isMetanodeError(e) ? e.culprits.map((x) => peerOfId(c, x)) : [];
    if (culprits.length === 0) {
      finish(c, 'aborted', 'ceremony', `aggregation failed: ${(e as Error).message}`, { code: isMetanodeError(e) ? e.code : 'INVALID_SIGNATURE', culprits: [] });
      return;
    }
    for (const p of culprits) blame(c, 'ceremony', p, 'INVALID_SIGNATURE_SHARE', 'share rejected at aggregation');
    return retry(c);
  }
  const signed = assembleSignedTx(doc, sigs);
  c.s.result = { txid: signed.txid, hex: signed.hex };
  c.out.push({ kind: 'broadcast-tx', txid: signed.txid, hex: signed.hex, candidate: doc });
  const fin: FinalPayload = { txid: signed.txid, tx: signed.hex };
  publish(c, MSG.final, fin);
  c.s.cooldown = true;
  finish(c, 'completed', 'ceremony', `signed ${doc.inputs.length} inputs in attempt ${a.attempt}`);
}

function retry(c: Ctx): void {
  const a = c.s.attempt!;
  if (a.nonces) a.nonces = null; // never reused: the next attempt commits afresh
  startAttempt(c, a.attempt + 1);
}

export function ceremonyTick(c: Ctx): void {
  const a = c.s.attempt;
  if (!a || c.s.phase !== 'ceremony' || c.now < a.deadline) return;
  const missing =
    a.stage === 'commit'
      ? a.signers.filter((p) => !(c.s.commits[a.attempt] ?? {})[p])
      : a.signers.filter((p) => !a.shares[idOf(c, p)]);
  for (const p of missing) blame(c, 'ceremony', p, 'TIMEOUT', `silent in the ${a.stage} stage of attempt ${a.attempt}`);
  if (missing.length === 0 || missing.every((p) => p === c.s.cfg.self)) {
    // Only we were missing (e.g. our signing was refused): nothing more we can do this round.
    finish(c, 'aborted', 'ceremony', `own ${a.stage} missing in attempt ${a.attempt}`, { code: 'TIMEOUT', culprits: [] });
    return;
  }
  retry(c);
}

/**
 * A final transaction from a peer: accepted when its unsigned form is our document and every
 * input carries a valid BIP340 key-path signature for its sighash and output key.
 */
export function checkFinal(doc: Candidate | null, m: FinalPayload): { ok: true } | { ok: false; reason: string } {
  if (!doc) return { ok: false, reason: 'no-document' };
  let tx: Transaction;
  try {
    tx = Transaction.fromRaw(hexToBytes(m.tx), { allowUnknownOutputs: true, allowUnknownInputs: true });
  } catch {
    return { ok: false, reason: 'undecodable' };
  }
  if (tx.id !== m.txid) return { ok: false, reason: 'txid-mismatch' };
  let unsigned: string;
  try {
    unsigned = Buffer.from(tx.unsignedTx).toString('hex');
  } catch {
    return { ok: false, reason: 'undecodable' };
  }
  if (unsigned !== doc.unsignedTx) return { ok: false, reason: 'different-document' };
  for (let i = 0; i < doc.inputs.length; i++) {
    const w = tx.getInput(i).finalScriptWitness;
    if (!w || w.length !== 1 || w[0]!.length !== 64) return { ok: false, reason: `input ${i} lacks a key-path signature` };
    const outKey = hexToBytes(doc.inputs[i]!.scriptPubKey.slice(4));
    if (!schnorr.verify(w[0]!, hexToBytes(doc.sighashes[i]!), outKey)) return { ok: false, reason: `input ${i} signature invalid` };
  }
  return { ok: true };
}
