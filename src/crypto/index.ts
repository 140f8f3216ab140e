// Public surface of src/crypto in one import. See notes/crypto-api.md for the contract; the
// files below document where they refine it.
export * from './types.js';
export { identifierAt, membersInOrder, identifierOf, positionalIdentifierProblem, defaultThreshold, normalizeCommittee, findMember, peerIdsOf } from './identifiers.js';
export {
  dkgStart,
  dkgRound2,
  dkgFinish,
  dkgTranscriptHash,
  DkgSession,
  validateRound1,
  checkProofOfKnowledge,
  feldmanSumCheck,
  feldmanCulprits,
  type DkgRound1Package,
  type DkgRound2Package,
  type DkgParams,
  type FeldmanItem,
} from './dkg.js';
export {
  signingCommit,
  validateCommitmentList,
  signShares,
  verifySignatureShares,
  createShareVerifier,
  aggregateSignatures,
  verifyBip340,
  SigningNonces,
  type NonceCommitment,
  type SigningTarget,
  type AggregateOptions,
} from './signing.js';
export { prepareVerifyingShares } from './verifying-tables.js';
export { reshareDeal, reshareReceive, type ReshareDealing, type ReshareSubShare, type ReshareDealParams, type ReshareReceiveParams } from './reshare.js';
export { createTssProof, verifyTssProof, assertTssProof, verifyingShareOf, type TssProofContext } from './proof.js';
export {
  vaultAddress,
  depositTweak,
  depositAddress,
  outputKeyFor,
  scriptPubKeyFor,
  addressFromScript,
  scriptFromAddress,
  taprootOutputKey,
  tapTweakScalar,
  btcNetwork,
} from './taproot.js';
export { bitcoinjsEcc, ensureBitcoinjsEcc } from './bitcoinjs-ecc.js';
