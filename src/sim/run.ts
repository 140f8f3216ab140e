// One simulation run: N members, a keygen, custody signing rounds, a regroup to a changed
// committee (one member leaves, one joins), in virtual time over the seeded network, with K
// Byzantine members. Invariants are checked as the run goes (every block an honest member
// issues, every broadcast, every ceremony state after every step) and at each scenario's end
// (agreement, progress within the stated bound). The report carries the replay command and the
// trace hash: the same options give the same hash.
import { performance } from 'node:perf_hooks';
import { computeCommittee, computeRegroupCommittee, selectDealers } from '../rounds/committee.js';
import { DEFAULT_KEYGEN_TIMEOUTS, type KeygenState } from '../rounds/keygen/keygen.js';
import { DEFAULT_REGROUP_TIMEOUTS, type RegroupState } from '../rounds/regroup/regroup.js';
import { roundTimeouts } from '../node/signing-runner.js';
import { checkSignedRecord } from '../epochs/attest.js';
import { recordHash, regroupTestMessage } from '../epochs/record.js';
import { verifyBip340 } from '../crypto/signing.js';
import type { EpochKey, KeyShare } from '../crypto/types.js';
import { openDb } from '../store/db.js';
import { roundLogMigrations } from '../rounds/roundlog.js';
import { transferMigrations } from '../custody/transfers.js';
import { signedSessionMigrations } from '../rounds/signing/sessions.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Prng } from '../util/prng.js';
import { withSeededEntropy } from './entropy.js';
import { NetModel, DEFAULT_NET, type NetConfig } from './net.js';
import { World, type Traffic } from './world.js';
import { makeMember, type Member } from './members.js';
import { STRATEGIES, type Strategy } from './byzantine.js';
import { ROUND_MS, runKeygen, runRegroup } from './ceremonies.js';
import { fundRound, runSigningRound, type Funds, type SignerNode } from './signing.js';
import { SimChain } from './chain.js';

export interface SimOptions {
  nodes: number;
  seed: string;
  byzantine: number;
  /** Custody signing rounds after the keygen. */
  rounds: number;
  /** Transfers paid per round (each one deposit input). */
  transfers: number;
  /** Strategies the seed chooses from for the Byzantine members. */
  strategies: readonly Strategy[];
  net: NetConfig;
  /** Links cut for a few virtual seconds during the first signing round. */
  partitions: number;
  regroup: boolean;
  /** Progress lines (one per scenario end); not part of the trace. */
  progress?: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<SimOptions, 'nodes' | 'seed'> = {
  byzantine: 0, rounds: 2, transfers: 2, strategies: STRATEGIES, net: DEFAULT_NET, partitions: 0, regroup: true,
};

export interface Violation {
  invariant: string;
  scenario: string;
  at: number;
  detail: string;
}

export interface TrafficSummary {
  /** Per node, mean and max over the participants. */
  sentMessages: { mean: number; max: number };
  sentBytes: { mean: number; max: number };
  receivedMessages: { mean: number; max: number };
  receivedBytes: { mean: number; max: number };
}

export interface ScenarioReport {
  name: string;
  completed: boolean;
  /** Virtual ms from the scenario's boundary to its end (ceremony done on every honest member; custody: signature). */
  virtualMs: number | null;
  /** Stated bound for virtualMs (the scenario fails its progress invariant above it). */
  boundMs: number;
  traffic: TrafficSummary;
  /** Wall-clock ms the scenario took in this process (all members' crypto on one core). */
  wallMs: number;
  /** wallMs / participants: each member's share of the work, were it on its own machine. */
  cpuMsPerNode: number;
  /** virtualMs + cpuMsPerNode: a rough figure with compute included (the virtual clock counts network only). */
  estimatedWithCpuMs: number | null;
  culprits: Array<{ peer: string; code: string; byzantine: boolean }>;
  /** Custody rounds: members honest members left out of the round without naming them. */
  setAside?: Array<{ peer: string; code: string; byzantine: boolean }>;
  attempts?: number;
  txid?: string | null;
  detail?: string;
}

export interface SimReport {
  ok: boolean;
  seed: string;
  nodes: number;
  threshold: number;
  f: number;
  byzantine: Array<{ peer: string; index: number; strategy: Strategy }>;
  net: NetConfig;
  scenarios: ScenarioReport[];
  violations: Violation[];
  /** Invariant checks performed. */
  checks: number;
  steps: number;
  traceHash: string;
  wallMs: number;
  replay: string;
}

export function replayCommand(o: SimOptions): string {
  const parts = [`npm run sim -- --nodes ${o.nodes} --seed ${o.seed}`];
  const d = DEFAULT_OPTIONS;
  if (o.byzantine !== d.byzantine) parts.push(`--byzantine ${o.byzantine}`);
  if (o.rounds !== d.rounds) parts.push(`--rounds ${o.rounds}`);
  if (o.transfers !== d.transfers) parts.push(`--transfers ${o.transfers}`);
  if (o.strategies.join(',') !== d.strategies.join(',')) parts.push(`--strategies ${o.strategies.join(',')}`);
  if (o.partitions !== d.partitions) parts.push(`--partitions ${o.partitions}`);
  if (!o.regroup) parts.push('--no-regroup');
  if (o.net.rttMs !== DEFAULT_NET.rttMs) parts.push(`--rtt ${o.net.rttMs}`);
  if (o.net.jitterMs !== DEFAULT_NET.jitterMs) parts.push(`--jitter ${o.net.jitterMs}`);
  if (o.net.loss !== DEFAULT_NET.loss) parts.push(`--loss ${o.net.loss}`);
  if (o.net.maxSkewMs !== DEFAULT_NET.maxSkewMs) parts.push(`--skew ${o.net.maxSkewMs}`);
  return parts.join(' ');
}

function summarize(world: World, peers: readonly string[]): TrafficSummary {
  const stat = (m: Map<string, Traffic>, k: keyof Traffic) => {
    const xs = peers.map((p) => m.get(p)?.[k] ?? 0);
    return { mean: Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)), max: Math.max(0, ...xs) };
  };
  return {
    sentMessages: stat(world.sent, 'messages'), sentBytes: stat(world.sent, 'bytes'),
    receivedMessages: stat(world.received, 'messages'), receivedBytes: stat(world.received, 'bytes'),
  };
}

export async function runSim(opts: SimOptions): Promise<SimReport> {
  if (!Number.isSafeInteger(opts.nodes) || opts.nodes < 4) throw new Error('sim: --nodes must be a whole number >= 4');
  if (!Number.isSafeInteger(opts.byzantine) || opts.byzantine < 0 || opts.byzantine >= opts.nodes) throw new Error('sim: --byzantine must be in [0, nodes)');
  const wall0 = performance.now();
  return withSeededEntropy(`sim/${opts.seed}`, async () => {
    const prng = new Prng(`sim/${opts.seed}`);
    const net = new NetModel(opts.net, prng.fork('net'));
    const world = new World(net);
    const violations: Violation[] = [];
    let checks = 0;
    let scenario = 'setup';
    const reported = new Set<string>();
    const violate = (invariant: string, detail: string) => {
      const k = `${scenario}|${invariant}|${detail}`;
      if (reported.has(k)) return;
      reported.add(k);
      violations.push({ invariant, scenario, at: world.now, detail });
      world.note(`violation ${invariant}`);
    };
    const idPrng = prng.fork('identities');
    const members: Member[] = [];
    for (let i = 0; i < opts.nodes; i++) members.push(await makeMember(idPrng, i));
    for (const m of members) world.join(m.peerId);
    net.assignSkew(members.map((m) => m.peerId));
    const byzPrng = prng.fork('byzantine');
    const byz = new Map<string, Strategy>();
    // The seed chooses the members and their strategies: distinct strategies while the list lasts.
    const chosen = byzPrng.sample(members, opts.byzantine);
    const picks = byzPrng.sample(opts.strategies, opts.strategies.length);
    chosen.forEach((m, i) => byz.set(m.peerId, i < picks.length ? picks[i]! : byzPrng.pick(opts.strategies)));
    const honest = (p: string) => !byz.has(p);
    const f = Math.floor((opts.nodes - 1) / 3);
    const scenarios: ScenarioReport[] = [];
    const report = (r: ScenarioReport) => {
      scenarios.push(r);
      opts.progress?.(`${r.name}: ${r.completed ? 'completed' : 'NOT completed'}, virtual ${r.virtualMs ?? '-'} ms, wall ${r.wallMs} ms`);
    };
    const culpritsOf = (named: Map<string, string>) => [...named].map(([peer, code]) => ({ peer, code, byzantine: byz.has(peer) })).sort((a, b) => (a.peer < b.peer ? -1 : 1));

    // ---- keygen ---------------------------------------------------------------------------
    scenario = 'keygen';
    const { committee, threshold } = computeCommittee(members.map((m) => m.stake), { max: opts.nodes });
    const phaseMs = Math.max(5_000, Math.min(20_000, Math.floor(ROUND_MS / 5)));
    const kgTimeouts = { round1: phaseMs, echo: phaseMs, round2: phaseMs, attest: phaseMs };
    const kgRound = 1000;
    let adopted: { hash: string; key: EpochKey } | null = null;
    const kgHashes = new Map<string, string>();
    world.resetTraffic();
    const kgWall = performance.now();
    const kgBound = 4 * phaseMs;
    const checkCeremony = (states: ReadonlyMap<string, KeygenState | RegroupState>) => {
      for (const [peer, s] of states) {
        if (!honest(peer)) continue;
        checks++;
        if (s.failure) for (const c of s.failure.culprits) if (honest(c)) violate('no-honest-culprit', `${peer} names honest ${c} (${s.failure.code}: ${s.failure.message})`);
        if (s.phase === 'done' && s.result && !kgHashes.has(peer)) {
          const h = recordHash(s.result.record);
          kgHashes.set(peer, h);
          if (new Set(kgHashes.values()).size > 1) violate('one-record-per-epoch', `${peer} adopted ${h}; others adopted ${[...new Set(kgHashes.values())].join(',')}`);
        }
      }
    };
    const kg = await runKeygen(world, members, { network: 'regtest', epoch: 1, round: kgRound, committee, threshold, timeouts: kgTimeouts }, honest, kgBound + 10_000, checkCeremony);
    const kgWallMs = performance.now() - kgWall;
    const kgDone = [...kg.states].filter(([p]) => honest(p)).every(([, s]) => s.phase === 'done');
    const shares = new Map<string, KeyShare>();
    const kgNamed = new Map<string, string>();
    for (const [p, s] of kg.states) {
      if (s.result) shares.set(p, s.result.share);
      if (s.failure && honest(p)) for (const c of s.failure.culprits) kgNamed.set(c, s.failure.code);
    }
    const kgEnd = world.now;
    if (kgDone) {
      const first = [...kg.states.values()].find((s) => s.result)!.result!;
      adopted = { hash: recordHash(first.record), key: first.key };
      checks++;
      const chk = await checkSignedRecord({ record: first.record, signatures: first.signatures, status: 'adopted' });
      if (!chk.complete) violate('record-attested', `keygen record lacks valid attestations: missing ${chk.missing.join(',')} invalid ${chk.invalid.join(',')}`);
    } else {
      violate('progress', `keygen did not complete on every honest member within ${kgBound} ms (${kg.stopped}): ${[...kg.states].filter(([p, s]) => honest(p) && s.phase !== 'done').map(([p, s]) => `${p.slice(-6)}:${s.phase}${s.failure ? `/${s.failure.code}` : ''}`).join(' ')}`);
    }
    const kgVirtual = kgDone ? kgEnd - kgRound * ROUND_MS : null;
    if (kgVirtual !== null && kgVirtual > kgBound) violate('progress', `keygen took ${kgVirtual} ms, bound ${kgBound} ms`);
    world.note(`keygen ${kgDone ? adopted!.hash : 'failed'}`);
    report({
      name: 'keygen', completed: kgDone, virtualMs: kgVirtual, boundMs: kgBound, traffic: summarize(world, members.map((m) => m.peerId)),
      wallMs: Math.round(kgWallMs), cpuMsPerNode: Math.round(kgWallMs / opts.nodes), estimatedWithCpuMs: kgVirtual === null ? null : Math.round(kgVirtual + kgWallMs / opts.nodes),
      culprits: culpritsOf(kgNamed),
    });

    // ---- custody signing rounds ----------------------------------------------------------
    const chain = new SimChain();
    const funds: Funds = { requests: [], deposits: [], vault: [] };
    let key = adopted?.key ?? null;
    if (key) {
      const rewardPrng = prng.fork('rewards');
      const signers: SignerNode[] = members.map((m) => ({
        peerId: m.peerId, share: shares.get(m.peerId)!, strategy: byz.get(m.peerId) ?? null, paid: new Set(), spent: new Set(),
        db: openDb(':memory:', [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations]),
        rewardAddress: '',
      }));
      const { addressFromScript } = await import('../crypto/taproot.js');
      const { schnorr } = await import('@noble/curves/secp256k1.js');
      for (const s of signers) s.rewardAddress = addressFromScript('5120' + bytesToHex(schnorr.getPublicKey(schnorr.utils.randomSecretKey(rewardPrng.bytes(48)))), 'regtest');
      const timeouts = roundTimeouts(ROUND_MS);
      const stage = (base: number) => base + opts.transfers * 2 * timeouts.perInputMs;
      // Phases, then one attempt per member that can be left out (f) plus the one that signs.
      const roundBound = timeouts.candidateMs + timeouts.proposalMs + timeouts.signingSetMs + timeouts.checksumMs + (f + 1) * (stage(timeouts.commitMs) + 2 * stage(timeouts.shareMs));
      const fundPrng = prng.fork('funds');
      const netPrng = prng.fork('partitions');
      let roundId = kgRound + Math.ceil((world.now - kgRound * ROUND_MS) / ROUND_MS) + 1;
      for (let r = 0; r < opts.rounds; r++, roundId++) {
        scenario = `custody-${r + 1}`;
        const anchor = 200 + r;
        fundRound(fundPrng, chain, funds, key, roundId, ROUND_MS, opts.transfers, anchor);
        const partitioned = r === 0 && opts.partitions > 0;
        if (partitioned) {
          for (let i = 0; i < opts.partitions; i++) {
            const [a, b] = netPrng.sample(members, 2);
            const from = roundId * ROUND_MS + netPrng.range(-200, 800);
            net.cut({ a: a!.peerId, b: b!.peerId, from, to: from + netPrng.range(1_000, 10_000) });
          }
        }
        world.resetTraffic();
        world.now = Math.max(world.now, roundId * ROUND_MS - 2 * opts.net.maxSkewMs - 1);
        const w0 = performance.now();
        const named = new Map<string, string>();
        const onBlock = (b: { by: string; peer: string; code: string; reason: string }) => {
          checks++;
          if (!honest(b.by)) return;
          named.set(b.peer, b.code);
          if (honest(b.peer) && !(partitioned && b.code === 'TIMEOUT')) violate('no-honest-culprit', `${b.by} named honest ${b.peer}: ${b.code} ${b.reason}`);
        };
        const run = await runSigningRound(world, signers, funds, chain, { key, roundId, roundMs: ROUND_MS, anchor, timeouts, limitMs: roundBound + 10_000 }, honest, prng.fork(`byz-round-${r}`), {
          problem: (p) => violate('chain', p),
          block: onBlock,
        });
        const wallMs = performance.now() - w0;
        const txids = new Set<string>();
        let attempts = 0;
        const unfinished: string[] = [];
        const aside = new Map<string, string>();
        for (const [p, s] of run.states) {
          if (!honest(p)) continue;
          checks++;
          for (const x of s.setAside) aside.set(x.peer, x.code);
          if (s.result) txids.add(s.result.txid);
          attempts = Math.max(attempts, (s.attempt?.attempt ?? -1) + 1);
          for (const x of s.setAside) if (honest(x.peer) && !partitioned) violate('no-honest-excluded', `${p} set aside honest ${x.peer}: ${x.code} ${x.reason}`);
          if (!s.result) unfinished.push(`${p.slice(-6)}:${s.phase}/${s.outcome}${s.endReason ? ` (${s.endReason})` : ''}`);
        }
        const roundTxs = [...chain.txs.values()].filter((t) => t.at >= roundId * ROUND_MS - ROUND_MS && t.at < (roundId + 1) * ROUND_MS + roundBound);
        if (txids.size > 1) violate('one-signature-per-round', `honest members hold different transactions: ${[...txids].join(',')}`);
        const virtualMs = run.firstSignatureAt === null ? null : run.firstSignatureAt - roundId * ROUND_MS;
        const completed = unfinished.length === 0 && txids.size === 1;
        if (opts.byzantine <= f && !partitioned) {
          if (!completed) violate('progress', `custody round ${roundId} did not sign on every honest member within ${roundBound} ms (${run.stopped}): ${unfinished.slice(0, 8).join(' ')}${unfinished.length > 8 ? ` … ${unfinished.length} in all` : ''}`);
          else if (virtualMs !== null && virtualMs > roundBound) violate('progress', `custody round ${roundId} signed after ${virtualMs} ms, bound ${roundBound} ms`);
        }
        world.note(`${scenario} ${[...txids].join(',')}`);
        report({
          name: scenario, completed, virtualMs, boundMs: roundBound, traffic: summarize(world, members.map((m) => m.peerId)),
          wallMs: Math.round(wallMs), cpuMsPerNode: Math.round(wallMs / opts.nodes), estimatedWithCpuMs: virtualMs === null ? null : Math.round(virtualMs + wallMs / opts.nodes),
          culprits: culpritsOf(named), setAside: culpritsOf(aside), attempts, txid: [...txids][0] ?? null, ...(roundTxs.length > 1 ? { detail: `${roundTxs.length} transactions on chain` } : {}),
        });
      }
      for (const s of signers) s.db.close();
    }

    // ---- regroup: one member leaves, one joins --------------------------------------------
    if (opts.regroup && key && adopted) {
      scenario = 'regroup';
      const honestIdx = members.filter((m) => honest(m.peerId));
      const leaver = prng.fork('leaver').pick(honestIdx);
      const newcomer = await makeMember(idPrng, opts.nodes);
      world.join(newcomer.peerId);
      net.skew.set(newcomer.peerId, 0);
      world.offline.add(leaver.peerId);
      const round = Math.ceil(world.now / ROUND_MS) + 1;
      const now = round * ROUND_MS;
      const everyone = [...members, newcomer];
      const plan = computeRegroupCommittee({
        peers: everyone.map((m) => ({ ...m.stake, lastSeenMs: m === leaver ? now - 3_600_000 : now - 1_000 })),
        oldCommittee: key.committee, now, offlineAfterMs: 10_000, violations: [], cfg: { max: opts.nodes },
      });
      const dealers = selectDealers(key.committee, key.threshold, (p) => p !== leaver.peerId);
      const participants = everyone.filter((m) => m !== leaver);
      const rgTimeouts = { agree: phaseMs, deal: phaseMs, commit: phaseMs, sigshare: phaseMs, attest: phaseMs };
      const rgBound = 5 * phaseMs;
      world.resetTraffic();
      world.now = Math.max(world.now, now - 2 * opts.net.maxSkewMs - 1);
      kgHashes.clear();
      const w0 = performance.now();
      const rg = await runRegroup(world, participants, { network: 'regtest', epoch: 2, round, oldKey: key, oldShares: shares, dealers, newCommittee: plan.committee, newThreshold: plan.threshold, timeouts: rgTimeouts }, honest, rgBound + 10_000, checkCeremony);
      const wallMs = performance.now() - w0;
      const done = [...rg.states].filter(([p]) => honest(p)).every(([, s]) => s.phase === 'done');
      const named = new Map<string, string>();
      for (const [p, s] of rg.states) if (s.failure && honest(p)) for (const c of s.failure.culprits) named.set(c, s.failure.code);
      const virtualMs = done ? world.now - now : null;
      let detail = `left ${leaver.peerId}, joined ${newcomer.peerId}; committee ${plan.committee.length}, t ${plan.threshold}`;
      if (done) {
        const r = [...rg.states.values()].find((s) => s.result)!.result!;
        checks += 3;
        if (r.record.outputKey !== key.outputKey) violate('key-kept', `regroup changed the group key ${key.outputKey} -> ${r.record.outputKey}`);
        if (!r.record.testSignature || !verifyBip340(r.record.testSignature, regroupTestMessage('regtest', 2, r.record.outputKey), r.record.outputKey)) violate('signature-verifies', 'regroup test signature does not verify (BIP340)');
        const chk = await checkSignedRecord({ record: r.record, signatures: r.signatures, status: 'adopted' }, undefined, key.committee.map((m) => m.peerId));
        if (!chk.complete) violate('record-attested', `regroup record lacks attestations: missing ${chk.missing.join(',')} invalid ${chk.invalid.join(',')}`);
        if (!r.record.committee.some((m) => m.peerId === newcomer.peerId) || r.record.committee.some((m) => m.peerId === leaver.peerId)) violate('committee-changed', 'regroup record does not hold the planned committee');
        detail += `; record ${recordHash(r.record)}`;
      } else {
        violate('progress', `regroup did not complete on every honest participant within ${rgBound} ms (${rg.stopped}): ${[...rg.states].filter(([p, s]) => honest(p) && s.phase !== 'done').slice(0, 8).map(([p, s]) => `${p.slice(-6)}:${s.phase}${s.failure ? `/${s.failure.code}` : ''}`).join(' ')}`);
      }
      if (virtualMs !== null && virtualMs > rgBound) violate('progress', `regroup took ${virtualMs} ms, bound ${rgBound} ms`);
      world.note(`regroup ${done}`);
      report({
        name: 'regroup', completed: done, virtualMs, boundMs: rgBound, traffic: summarize(world, participants.map((m) => m.peerId)),
        wallMs: Math.round(wallMs), cpuMsPerNode: Math.round(wallMs / participants.length), estimatedWithCpuMs: virtualMs === null ? null : Math.round(virtualMs + wallMs / participants.length),
        culprits: culpritsOf(named), detail,
      });
    }

    return {
      ok: violations.length === 0,
      seed: opts.seed,
      nodes: opts.nodes,
      threshold,
      f,
      byzantine: [...byz].map(([peer, strategy]) => ({ peer, index: members.find((m) => m.peerId === peer)!.index, strategy })).sort((a, b) => a.index - b.index),
      net: opts.net,
      scenarios,
      violations,
      checks,
      steps: world.steps,
      traceHash: world.traceHash(),
      wallMs: Math.round(performance.now() - wall0),
      replay: replayCommand(opts),
    };
  });
}
