// In-memory harness: N nodes with real Ed25519 identities, real crypto, SQLite :memory: epoch
// stores and in-memory share vaults, exchanging ceremony messages through one FIFO queue.
// Tests can rewrite or drop any message on its way (tamper) to play a misbehaving member.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { openDb, type Db } from '../../../src/store/db.js';
import { epochMigrations } from '../../../src/epochs/store.js';
import { EpochManager } from '../../../src/epochs/manager.js';
import { InMemoryShareVault } from '../../../src/epochs/vault.js';
import { verifyWithPeerId } from '../../../src/epochs/attest.js';
import { testPolicy } from '../../support/epoch-policy.js';
import type { AdoptionRules } from '../../../src/epochs/adoption.js';
import type { CeremonyPorts } from '../../../src/rounds/keygen/driver.js';
import type { StakedPeer } from '../../../src/rounds/committee.js';

export interface Delivery {
  from: string;
  to: string;
  type: string;
  payload: unknown;
  direct: boolean;
}

export interface HNode {
  peerId: string;
  db: Db;
  vault: InMemoryShareVault;
  manager: EpochManager;
  ports: CeremonyPorts;
  /** The ceremony currently receiving messages on this node. */
  handler: ((from: string, type: string, payload: unknown) => Promise<void>) | null;
  offline: boolean;
}

export class Harness {
  readonly nodes: HNode[] = [];
  private queue: Delivery[] = [];
  clock = Date.UTC(2025, 0, 10, 12, 0, 0);
  /** Return the payload to deliver (possibly changed) or null to drop. */
  tamper: (d: Delivery) => unknown | null = (d) => d.payload;
  readonly sent: Delivery[] = [];

  static async create(n: number): Promise<Harness> {
    const h = new Harness();
    for (let i = 0; i < n; i++) await h.addNode();
    return h;
  }

  async addNode(): Promise<HNode> {
    const key = await generateKeyPair('Ed25519');
    // Two copies of @libp2p/interface in node_modules make the key types nominally different.
    const peerId = peerIdFromPrivateKey(key as unknown as Parameters<typeof peerIdFromPrivateKey>[0]).toString();
    const db = openDb(':memory:', epochMigrations);
    const vault = new InMemoryShareVault();
    const manager = new EpochManager(db, vault, peerId, { policy: testPolicy(() => this.staked(), () => this.rules), now: () => this.clock });
    const node: HNode = { peerId, db, vault, manager, handler: null, offline: false, ports: undefined as unknown as CeremonyPorts };
    node.ports = {
      publish: async (type, payload) => {
        for (const other of this.nodes) if (other !== node) this.push({ from: peerId, to: other.peerId, type, payload, direct: false });
      },
      sendDirect: async (to, type, payload) => this.push({ from: peerId, to, type, payload, direct: true }),
      sign: (bytes) => key.sign(bytes),
      verify: verifyWithPeerId,
      now: () => this.clock,
    };
    this.nodes.push(node);
    return node;
  }

  private push(d: Delivery): void {
    const sender = this.node(d.from);
    if (sender.offline) return;
    this.sent.push(d);
    this.queue.push(d);
  }

  node(peerId: string): HNode {
    const n = this.nodes.find((x) => x.peerId === peerId);
    if (!n) throw new Error(`no node ${peerId}`);
    return n;
  }

  /** Delivers queued messages until none is left. */
  async pump(): Promise<void> {
    let guard = 0;
    // Drivers apply their initial steps on the microtask queue: let them flush first.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length) {
      if (++guard > 100_000) throw new Error('harness: message storm');
      const d = this.queue.shift()!;
      const to = this.node(d.to);
      if (to.offline || !to.handler) continue;
      const payload = this.tamper(d);
      if (payload === null) continue;
      await to.handler(d.from, d.type, structuredClone(payload));
      if (!this.queue.length) await new Promise((r) => setImmediate(r));
    }
  }

  /** Trust-rule settings every node's policy reads (e.g. keygenUntil). */
  rules: Partial<AdoptionRules> = {};
  /** Stake heights that differ from the default 100 + i (e.g. a newcomer with an older stake). */
  readonly stakeHeights: Record<string, number> = {};

  /** Stake table (every node's stake view): node i staked at height 100 + i (node 0 most senior). */
  staked(): StakedPeer[] {
    return this.nodes.map((n, i) => ({ peerId: n.peerId, stakeHeight: this.stakeHeights[n.peerId] ?? 100 + i, stakeTxid: (i + 1).toString(16).padStart(64, '0') }));
  }
}

import { computeCommittee } from '../../../src/rounds/committee.js';
import { startKeygen, type CeremonyOutcome } from '../../../src/rounds/keygen/run.js';
import { signingCommit, signShares, aggregateSignatures, type NonceCommitment } from '../../../src/crypto/signing.js';
import type { EpochKey, KeyShare } from '../../../src/crypto/types.js';

/** Starts ceremonies on the given nodes, pumps, lets deadlines pass, collects outcomes. */
export async function runAll(h: Harness, starts: { node: HNode; driver: { onMessage(f: string, t: string, p: unknown): Promise<void>; tick(): Promise<void>; stop(): void }; outcome: Promise<CeremonyOutcome> }[]): Promise<Map<string, CeremonyOutcome>> {
  for (const s of starts) s.node.handler = (f, t, p) => s.driver.onMessage(f, t, p);
  await h.pump();
  h.clock += 10 * 60_000;
  for (const s of starts) await s.driver.tick();
  await h.pump();
  const out = new Map<string, CeremonyOutcome>();
  for (const s of starts) out.set(s.node.peerId, await s.outcome);
  for (const s of starts) s.driver.stop();
  for (const n of h.nodes) n.handler = null;
  return out;
}

/** A plain keygen on every online node, committee from the harness stake table. */
export async function keygenAll(h: Harness, round: number): Promise<Map<string, CeremonyOutcome>> {
  const { committee, threshold } = computeCommittee(h.staked(), { max: 15 });
  return runAll(
    h,
    h.nodes.filter((n) => !n.offline).map((node) => ({ node, ...startKeygen({ ports: node.ports, manager: node.manager, network: 'regtest', round, startedAt: round * 60_000, committee, threshold, tickMs: 0 }) })),
  );
}

/** The given members sign `message` with their adopted shares (FROST, real crypto). */
export async function signWith(nodes: HNode[], message: string): Promise<string> {
  const loaded: { key: EpochKey; share: KeyShare }[] = [];
  for (const n of nodes) {
    const ks = await n.manager.currentKeyAndShare();
    if (!ks || !ks.share) throw new Error(`${n.peerId} has no share`);
    loaded.push({ key: ks.key, share: ks.share });
  }
  const commits = loaded.map((l) => signingCommit(l.share, l.key, 1));
  const lists: Record<string, NonceCommitment[]> = {};
  loaded.forEach((l, i) => (lists[l.share.identifier] = commits[i].commitments));
  const shares: Record<string, string[]> = {};
  loaded.forEach((l, i) => (shares[l.share.identifier] = signShares(l.share, l.key, commits[i].nonces, lists, [{ message }])));
  return aggregateSignatures(loaded[0].key, lists, [{ message }], shares)[0];
}
