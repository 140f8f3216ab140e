// One fuzz case: what it targets, how it was made (enough to recognise it in a report), and how to
// judge it. Cases are built from a seeded generator, so (seed, index) reproduces any of them.
export type FuzzTarget = 'gossip' | 'direct-request' | 'direct-response' | 'http' | 'esplora' | 'bitcoind';

/** Refused with a reason (what must happen), or a failure: accepted, crashed, wrong error. */
export type FuzzOutcome = { ok: true; reason: string } | { ok: false; failure: string };

export interface FuzzCase {
  target: FuzzTarget;
  /** Message type, direct kind, HTTP route or chain call. */
  subject: string;
  /** The mutation operator. */
  op: string;
  detail: string;
  run(): Promise<FuzzOutcome>;
}
