// Typed protocol errors that name who is to blame, in the manner of frost-core's
// Error::InvalidSignatureShare { culprit }. The round log stores `code` and `culprits` as-is.
export type ErrorCode =
  // DKG / reshare
  | 'INVALID_PROOF_OF_KNOWLEDGE'
  | 'INVALID_SECRET_SHARE'
  | 'INCORRECT_COMMITMENT_LENGTH'
  | 'DUPLICATE_IDENTIFIER'
  | 'INVALID_IDENTIFIER'
  | 'UNKNOWN_PARTICIPANT'
  | 'MISSING_PACKAGE'
  | 'INVALID_COMMITMENT'
  | 'GROUP_KEY_MISMATCH'
  // signing
  | 'INVALID_NONCE_COMMITMENT'
  | 'INVALID_COMMITMENT_LIST'
  | 'INVALID_SIGNATURE_SHARE'
  | 'NONCE_REUSE'
  | 'INVALID_SIGNATURE'
  // proofs
  | 'INVALID_TSS_PROOF'
  // network / chain / config / store
  | 'INVALID_MESSAGE'
  | 'CHAIN_UNAVAILABLE'
  | 'CHAIN_BAD_RESPONSE'
  | 'CHAIN_RPC_ERROR' // bitcoind answered with an RPC error object; detail.rpcCode holds its code
  | 'TX_REJECTED'
  | 'INVALID_STAKE'
  | 'INVALID_CONFIG'
  | 'INVALID_INPUT'
  | 'KEYSTORE'
  | 'SHARE_INCONSISTENCY'
  | 'ADOPTION_REFUSED' // an epoch record breaks a trust rule (src/epochs/adoption.ts); detail.rule, detail.retry
  | 'DATADIR_LOCKED' // another process holds the data directory's lock
  | 'DOPPELGANGER' // another instance is running with this node's peer id
  | 'DATABASE_NEWER' // the database records migrations this code does not know
  | 'TIMEOUT'
  | 'ABORTED'
  // custody round (src/rounds/signing, src/custody/transfers)
  | 'DOUBLE_SIGN'
  | 'PROTOCOL_VIOLATION'
  | 'CHECKSUM_MISMATCH'
  | 'EQUIVOCATION'
  | 'TRANSFER_CONFLICT'
  | 'QUOTA_EXCEEDED' // a per-origin request quota; detail.quota names which
  // operator tools (CLI -> node HTTP API)
  | 'NODE_UNREACHABLE'
  | 'NODE_ERROR';

export class MetanodeError extends Error {
  readonly code: ErrorCode;
  /** Identifiers (FROST identifier hex or peer id) of the parties at fault, if any. */
  readonly culprits: string[];
  readonly detail?: Record<string, unknown>;
  /** The message without the code prefix and culprit suffix (for bodies that carry both apart). */
  readonly reason: string;

  constructor(code: ErrorCode, message: string, culprits: string[] = [], detail?: Record<string, unknown>) {
    super(culprits.length ? `${code}: ${message} (culprits: ${culprits.join(', ')})` : `${code}: ${message}`);
    this.name = 'MetanodeError';
    this.code = code;
    this.reason = message;
    this.culprits = culprits;
    this.detail = detail;
  }
}

export function isMetanodeError(e: unknown, code?: ErrorCode): e is MetanodeError {
  return e instanceof MetanodeError && (code === undefined || e.code === code);
}

/** Stringify any thrown value for a log line or an HTTP reply without leaking stacks. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
