// Test harness: real libp2p nodes on 127.0.0.1 (port 0) with a deterministic fake stake checker.
import '../../src/util/polyfill.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { openDb } from '../../src/store/db.js';
import { p2pMigrations } from '../../src/p2p/migrations.js';
import { P2pNetwork, type P2pNetworkOptions } from '../../src/p2p/network.js';
import type { StakeChecker, StakeVerdict } from '../../src/p2p/stake-checker.js';
import '../../src/p2p/messages/ping.js';

export interface Ident {
  key: PrivateKey;
  peerId: string;
  stake: string;
  verdict: StakeVerdict;
}

export async function identity(i: number, verdict?: StakeVerdict): Promise<Ident> {
  const key = (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
  const peerId = peerIdFromPrivateKey(key as any).toString();
  const txid = (i + 1).toString(16).padStart(2, '0').repeat(32);
  return {
    key,
    peerId,
    stake: `${txid}:0`,
    verdict: verdict ?? { valid: true, seniority: { height: 100 + i, txid }, amount: 1_000_000n + BigInt(i), rewardAddress: `bcrt1qreward${i}` },
  };
}

/** Verdict per (peer, outpoint), fixed up front; anything else is "not-found". */
export class MapStakeChecker implements StakeChecker {
  calls = 0;
  constructor(readonly verdicts: Map<string, StakeVerdict>) {}
  async check(peerId: string, outpoint: string): Promise<StakeVerdict> {
    this.calls++;
    return this.verdicts.get(`${peerId}|${outpoint}`) ?? { valid: false, reason: 'not-found', detail: `no stake ${outpoint} for ${peerId}` };
  }
}

export function stakeMap(ids: Ident[]): MapStakeChecker {
  return new MapStakeChecker(new Map(ids.map((x) => [`${x.peerId}|${x.stake}`, x.verdict])));
}

export function makeNode(id: Ident, stake: StakeChecker, over: Partial<P2pNetworkOptions> = {}): P2pNetwork {
  return new P2pNetwork({
    network: 'regtest',
    privateKey: id.key,
    db: openDb(':memory:', p2pMigrations),
    stakeChecker: stake,
    ownStake: id.stake,
    pingIntervalMs: 400,
    peerTimeoutMs: 2500,
    maintenanceIntervalMs: 300,
    heartbeatMs: 300,
    redialBaseMs: 200,
    redialMaxMs: 2000,
    ...over,
  });
}

export function addrOf(n: P2pNetwork): string {
  const a = n.multiaddrs().find((m) => m.includes('/ip4/127.0.0.1/'));
  if (!a) throw new Error('node has no loopback address');
  return a;
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 40_000, stepMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function stopAll(nodes: { stop(): Promise<unknown> | unknown }[], timeoutMs = 10_000): Promise<void> {
  await Promise.race([
    Promise.allSettled(nodes.map(async (n) => n.stop())),
    new Promise((r) => setTimeout(r, timeoutMs).unref()),
  ]);
}
