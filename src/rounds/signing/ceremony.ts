// Step 6: the threshold set signs every input of the document in one FROST ceremony, with
// ROAST-style retries inside the round.
//
// Attempt k's signers are the first t peers of the seniority-ordered pool (threshold set, then
// the rest of the eligible signing set) that have not been named or set aside in this round.
// Stages: commit (each signer's signed nonce commitments), ack (each signer signs the digests of
// the commit messages it holds, one per signer), share. A signer releases its share only when
// every signer's ack equals its own: then the whole threshold set holds one commitment list, and
// an invalid share against it is the sender's own fault (named and blocked). An ack that differs
// is never blamed by itself: we relay the commit we hold from the disputed signer; if that signer
// signed two different commits, the pair is proof and names it (round.ts). A signer whose ack
// still differs at the deadline is set aside for the round, unnamed and unblocked. A malformed
// commitment (the sender's own signed message) or silence in the commit or share stage names the
// signer. Attempt k+1 starts with fresh nonces while t usable peers remain. Every node in the
// pool runs this logic (signers and standbys) on the same broadcast messages.
import { hexToBytes } from '@noble/hashes/utils.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { Transaction } from '@scure/btc-signer';
import {
  aggregateSignatures, signingCommit, signShares, validateCommitmentList, verifySignatureShares, type NonceCommitment, type SigningTarget,
} from '../../crypto/signing.js';
import { assembleSignedTx, type Candidate } from '../../custody/candidate.js';
import { isMetanodeError } from '../../util/errors.js';
import { blame, finish, isCulprit, note, participant, publish, type Ctx } from './ctx.js';
import { MSG, type AckPayload, type CommitPayload, type FinalPayload, type SharePayload } from './messages.js';
import type { AttemptState } from './types.js';
import { commitmentDigest } from './sessions.js';
import { bodyDigest } from './signed.js';
import { relaySlot } from './relay.js';
import { setAside } from './ctx.js';

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

/**
 * Attempt numbers follow from the signers, not from a local counter: attempt k is the one whose
 * last signer stands at pool index t - 1 + k (k pool members before it are left out). Nodes that
 * leave out the same peers in a different order of events still meet in the same attempt, and
 * every retry leaves out at least one signer, so a node never reuses an attempt number (and so
 * never signs two commit messages for one slot).
 */
export function startAttempt(c: Ctx): void {
  const signers = signersFor(c);
  if (signers.length < c.s.cfg.threshold) {
    const culprits = c.s.culprits.map((x) => x.peer);
    finish(c, 'aborted', 'ceremony', `fewer than ${c.s.cfg.threshold} unnamed signers left`, { code: 'ABORTED', culprits });
    return;
  }
  const attempt = c.s.pool.indexOf(signers[signers.length - 1]!) - (c.s.cfg.threshold - 1);
  if (c.s.attempt && attempt <= c.s.attempt.attempt) {
    finish(c, 'aborted', 'ceremony', `no new signer set after attempt ${c.s.attempt.attempt}`, { code: 'ABORTED', culprits: c.s.culprits.map((x) => x.peer) });
    return;
  }
  const a: AttemptState = {
    attempt, signers, stage: 'commit', deadline: c.now + stageMs(c, c.s.cfg.timeouts.commitMs),
    nonces: null, ownCommitted: false, ownShared: false, lists: null, digests: null, shares: {},
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
  a.digests = a.signers.map((p) => bodyDigest(MSG.commit, got[p]));
  a.stage = 'ack';
  a.deadline = c.now + stageMs(c, c.s.cfg.timeouts.shareMs);
  c.s.deadline = a.deadline;
  const self = c.s.cfg.self;
  if (a.ownCommitted) {
    const ack: AckPayload = { attempt: a.attempt, signers: a.signers, digests: a.digests };
    (c.s.acks[a.attempt] ??= {})[self] = ack;
    publish(c, MSG.ack, ack);
    note(c, 'ceremony', 'sent', { peer: self, reason: 'commitment-list ack' });
  }
  for (const [from, m] of Object.entries(c.s.acks[a.attempt] ?? {})) {
    if (from === self) continue;
    handleAck(c, from, m, false);
    if (c.s.attempt !== a || c.s.phase !== 'ceremony' || a.stage !== 'ack') return;
  }
  maybeRelease(c);
}

/** Records a signer's ack; a digest that differs from ours gets the commit we hold relayed. */
export function handleAck(c: Ctx, from: string, m: AckPayload, fresh: boolean): void {
  if (fresh) (c.s.acks[m.attempt] ??= {})[from] ??= m;
  const a = c.s.attempt;
  if (!a || c.s.phase !== 'ceremony' || m.attempt !== a.attempt || !a.digests) return;
  if (!a.signers.includes(from)) return void note(c, 'ceremony', 'ignore', { peer: from, reason: 'not-a-signer' });
  if (m.signers.join(',') !== a.signers.join(',')) return void note(c, 'ceremony', 'ignore', { peer: from, reason: 'signer-set-mismatch' });
  const differ = a.signers.filter((_, j) => m.digests[j] !== a.digests![j]);
  if (differ.length) {
    note(c, 'ceremony', 'ack-differs', { peer: from, reason: `holds other commitments of ${differ.join(',')}` });
    for (const p of differ) relaySlot(c, p, `${MSG.commit}|${a.attempt}`);
    // The ack itself too: if its author told others otherwise, the pair names it.
    relaySlot(c, from, `${MSG.ack}|${a.attempt}`);
    return;
  }
  note(c, 'ceremony', 'accept', { peer: from, reason: 'commitment-list ack' });
  maybeRelease(c);
}

/** Every signer acked our list: the list is agreed; release our share and check theirs. */
function maybeRelease(c: Ctx): void {
  const a = c.s.attempt;
  if (!a || c.s.phase !== 'ceremony' || a.stage !== 'ack' || !a.digests || !a.lists) return;
  const acks = c.s.acks[a.attempt] ?? {};
  const mine = a.digests.join(',');
  const signers = a.signers.join(',');
  if (!a.signers.every((p) => acks[p] && acks[p]!.signers.join(',') === signers && acks[p]!.digests.join(',') === mine)) return;
  const lists = a.lists;
  a.stage = 'share';
  a.deadline = c.now + stageMs(c, c.s.cfg.timeouts.shareMs);
  c.s.deadline = a.deadline;
  note(c, 'ceremony', 'agreed', { digest: bodyDigest(MSG.ack, { digests: a.digests }), reason: 'every signer acked one commitment list' });
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

export function retry(c: Ctx): void {
  const a = c.s.attempt!;
  if (a.nonces) a.nonces = null; // never reused: the next attempt commits afresh
  startAttempt(c);
}

export function ceremonyTick(c: Ctx): void {
  const a = c.s.attempt;
  if (!a || c.s.phase !== 'ceremony' || c.now < a.deadline) return;
  if (a.stage === 'ack') {
    // No agreement on the commitment list and no equivocation surfaced: the signers whose ack is
    // missing or differs from ours are set aside (one of them may be honest and shown another
    // list, or waiting on a commit withheld from it); nobody is named on our view alone.
    const acks = c.s.acks[a.attempt] ?? {};
    const mine = a.digests!.join(',');
    const off = a.signers.filter((p) => p !== c.s.cfg.self && acks[p]?.digests.join(',') !== mine);
    for (const p of off) setAside(c, 'ceremony', p, 'TIMEOUT', `no ack of our commitment list in attempt ${a.attempt}`);
    if (off.length === 0) return void finish(c, 'aborted', 'ceremony', `own ack missing in attempt ${a.attempt}`, { code: 'TIMEOUT', culprits: [] });
    return retry(c);
  }
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
