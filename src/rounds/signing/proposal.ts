// Step 2 of the round: the sign proposal <sha512_256(doc), sha512_256(peer_id || doc), tss_proof>,
// at most one per peer per round (a second, different one is equivocation: round.ts), and step
// 3's check of a received proposal.
import { sha512_256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Candidate } from '../../custody/candidate.js';
import type { ProposalPayload } from './messages.js';
import type { Participant } from './types.js';

export type Check = { result: 'accept' } | { result: 'ignore'; reason: string } | { result: 'reject'; reason: string };

/** sha512_256(peer_id || tx_sign_doc): binds the proposal to its sender. */
export function peerDocHash(peerId: string, docHex: string): string {
  return bytesToHex(sha512_256(concatBytes(utf8ToBytes(peerId), hexToBytes(docHex))));
}

export function makeProposal(peerId: string, doc: Candidate, tssProof: string): ProposalPayload {
  return { h0: doc.docHash, h1: peerDocHash(peerId, doc.doc), tssProof };
}

/**
 * Step 3: accept when m[0] == own[0], m[1] == sha512_256(sender || own_doc) and the tss_proof
 * verifies. A different document is not blamed (views may differ); a bad binding or proof is.
 */
export function checkProposal(
  sender: Participant,
  m: ProposalPayload,
  ownDoc: Candidate,
  verifyTssProof: (p: Participant, proof: string) => boolean,
): Check {
  if (m.h0 !== ownDoc.docHash) return { result: 'ignore', reason: 'different-document' };
  if (m.h1 !== peerDocHash(sender.peerId, ownDoc.doc)) return { result: 'reject', reason: 'bad-peer-binding' };
  if (!verifyTssProof(sender, m.tssProof)) return { result: 'reject', reason: 'invalid-tss-proof' };
  return { result: 'accept' };
}
