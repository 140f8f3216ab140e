// Crypto benchmark: per-member cost of DKG, signing, aggregation and reshare, for the metanode
// wrappers (with every blame check) and for noble called the plain way, side by side.
//
//   dkgMemberMs     one member's whole DKG: round1 + round2 (validate all n packages) + round3
//   signShareMs     one signer, one message: nonce commit + signature share
//   aggregateMs     coordinator, one message, t shares: metanode verifies every share (random-
//                   weight batch, cold caches: a coordinator that did not sign) and BIP340-checks
//                   the result; noble-plain aggregate() (verifies shares only when the sum fails)
//   aggregateSumMs  metanode only: aggregateSignatures(..., { shareCheck: 'sum' }), the same
//                   policy as noble's aggregate (shares checked one by one only if the sum fails)
//   aggregateWarmKeyMs metanode only: aggregateMs for a coordinator that did not sign but keeps
//                   the key's verifying-share tables (prepareVerifyingShares; built after a
//                   key's first aggregation), i.e. every aggregation but the first under a key
//   reshareMemberMs one old holder's dealing to n members + one new holder's receive from t dealers;
//                   noble-plain = the same Feldman math with none of our checks (no sub-share
//                   verification, no constant-term check, no interpolation check): noble has no reshare.
//
// The metanode rows use the project's identifiers (committee positions 1..n) and time the LAST
// member / signer / receiver, whose identifier n is the most expensive for the Horner paths.
// The noble-plain rows use identifiers derived by hashing peer ids (noble Identifier.derive), the
// way the project called noble before and the way the issue's figures were measured.
//
// Each figure is the median over repetitions of both the CPU time of this process
// (process.cpuUsage, what `*Ms` holds: robust to other load on a shared machine) and the wall
// time (`wall` object). Setup (other members' packages) is not timed.
//
// `goals` (at 67-of-100 when measured) compares with issue 9's targets: `met` = within the goal
// on this machine; `metRelative` = metanode/noble-plain here within goal/noble-plain in the issue
// (3300, 48, 48 ms), i.e. the same speed-up the goal asks for on the issue's machine. `parsing`
// measures one point parse: compressed (a field square root; the wire form before issue 9's
// switch), uncompressed with noble's fromHex, and the wire parser metanode uses (tryWirePoint);
// `compressedShareMs` is what parsing each figure's points in the compressed form would cost (what the switch saved).
// Flags: --quick (only the two small sizes), --reps=N (override repetitions), --n=100 or
// --n=5,21 (only those committee sizes; 100 alone takes about a minute and a half).
import { pippenger } from '@noble/curves/abstract/curve.js';
import { __TEST, schnorr_FROST, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { tryWirePoint } from '../src/crypto/internal.js';
import { dkgFinish, dkgRound1FromNoble, dkgRound2, dkgStart, type DkgRound1Package, type DkgRound2Package } from '../src/crypto/dkg.js';
import { membersInOrder } from '../src/crypto/identifiers.js';
import { reshareDeal, reshareReceive } from '../src/crypto/reshare.js';
import { aggregateSignatures, prepareVerifyingShares, resetSigningCaches, signingCommit, signShares, type NonceCommitment } from '../src/crypto/signing.js';
import { parseFlags } from './flags.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../src/crypto/types.js';

const frost = schnorr_FROST;
const Point = secp256k1.Point;
const Fn = Point.Fn;

type Metric = 'dkgMemberMs' | 'signShareMs' | 'aggregateMs' | 'reshareMemberMs';
const METRICS: Metric[] = ['dkgMemberMs', 'signShareMs', 'aggregateMs', 'reshareMemberMs'];
type Row = { impl: 'metanode' | 'noble-plain'; identifiers: 'positions' | 'derived'; n: number; t: number } & Record<Metric, number> & {
  aggregateSumMs?: number;
  aggregateWarmKeyMs?: number;
  wall: Record<Metric, number>;
};

/** Issue 9: targets at 67-of-100, and noble-plain as measured there (no reshare figure given). */
const GOALS: Record<Metric, number> = { dkgMemberMs: 400, signShareMs: 25, aggregateMs: 60, reshareMemberMs: 500 };
const ISSUE_NOBLE: Partial<Record<Metric, number>> = { dkgMemberMs: 3300, signShareMs: 48, aggregateMs: 48 };

const log = (s: string) => process.stderr.write(s + '\n');

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  const v = a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
  return Math.round(v * 100) / 100;
}

interface Sample {
  cpu: number;
  wall: number;
}

function time(fn: () => void): Sample {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall };
}

const positional = (n: number): CommitteeMember[] => membersInOrder(Array.from({ length: n }, (_, i) => `bench-${i}`));
const derived = (n: number): CommitteeMember[] =>
  Array.from({ length: n }, (_, i) => ({ peerId: `bench-${i}`, identifier: frost.Identifier.derive(`metanode/peer/bench-${i}`) }));

function evalPoly(coeffs: bigint[], x: bigint): bigint {
  let acc = Fn.ZERO;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = Fn.add(Fn.mul(acc, x), coeffs[k]);
  return acc;
}

/** Other members' round-1 packages and their shares for `me` (setup, untimed). */
function dkgSetup(c: CommitteeMember[], t: number, me: CommitteeMember) {
  const others = c.filter((m) => m !== me).map((m) => frost.DKG.round1(m.identifier, { min: t, max: c.length }));
  const x = BigInt('0x' + me.identifier);
  // in the wire form (uncompressed points), as the other members would send them
  const r1: DkgRound1Package[] = others.map((o) => dkgRound1FromNoble(o.public));
  const r2: DkgRound2Package[] = others.map((o) => ({
    from: o.public.identifier,
    to: me.identifier,
    signingShare: bytesToHex(Fn.toBytes(evalPoly(o.secret.coefficients!, x))),
  }));
  return { others, r1, r2 };
}

/** An EpochKey in exactly the DKG's output form (trusted dealer + the DKG's empty-root TapTweak). */
function dealtKey(c: CommitteeMember[], t: number): { key: EpochKey; shares: KeyShare[] } {
  const ids = c.map((m) => m.identifier);
  const deal = frost.trustedDealer({ min: t, max: c.length }, ids);
  const root = new Uint8Array(0);
  const pub = __TEST.frostTweakPublic(deal.public, root);
  const P = Point.fromBytes(deal.public.commitments[0]);
  const key: EpochKey = {
    epoch: 1,
    network: 'regtest',
    outputKey: bytesToHex(pub.commitments[0]).slice(2),
    internalKey: bytesToHex(P.toBytes(true)).slice(2),
    threshold: t,
    committee: c,
    verifyingShares: Object.fromEntries(ids.map((id) => [id, bytesToHex(pub.verifyingShares[id])])),
    commitments: pub.commitments.map((b) => bytesToHex(b)),
  };
  const shares = ids.map((id) => {
    const s = __TEST.frostTweakSecret(deal.secretShares[id], deal.public, root);
    return { epoch: 1, identifier: id, signingShare: bytesToHex(s.signingShare) };
  });
  return { key, shares };
}

type Samples = Record<Metric | 'aggregateSumMs' | 'aggregateWarmKeyMs', Sample[]>;
const emptySamples = (): Samples => ({ dkgMemberMs: [], signShareMs: [], aggregateMs: [], aggregateSumMs: [], aggregateWarmKeyMs: [], reshareMemberMs: [] });

function benchDkg(n: number, t: number, reps: number, m: Samples, p: Samples): void {
  const cm = positional(n);
  const cd = derived(n);
  for (let r = 0; r < reps; r++) {
    const me = cm[n - 1];
    const { r1, r2 } = dkgSetup(cm, t, me);
    m.dkgMemberMs.push(
      time(() => {
        const { session, round1 } = dkgStart({ self: me.identifier, committee: cm, threshold: t, epoch: 1, network: 'regtest' });
        dkgRound2(session, [...r1, round1]);
        dkgFinish(session, [...r1, round1], r2);
      }),
    );
    const meD = cd[n - 1];
    const { others, r2: r2d } = dkgSetup(cd, t, meD);
    const noblePub = others.map((o) => o.public);
    const nobleR2 = r2d.map((q) => ({ identifier: q.from, signingShare: hexToBytes(q.signingShare) }));
    p.dkgMemberMs.push(
      time(() => {
        const { secret } = frost.DKG.round1(meD.identifier, { min: t, max: n });
        frost.DKG.round2(secret, noblePub);
        frost.DKG.round3(secret, noblePub, nobleR2);
      }),
    );
    log(`  n=${n} t=${t} dkg rep ${r + 1}/${reps}: metanode ${m.dkgMemberMs.at(-1)!.cpu.toFixed(0)} ms cpu, noble ${p.dkgMemberMs.at(-1)!.cpu.toFixed(0)} ms cpu`);
  }
}

function benchSigning(n: number, t: number, reps: number, m: Samples, p: Samples): void {
  const mine = dealtKey(positional(n), t);
  const plain = dealtKey(derived(n), t);
  const pub = {
    signers: { min: t, max: n },
    commitments: plain.key.commitments.map((h) => hexToBytes(h)),
    verifyingShares: Object.fromEntries(Object.entries(plain.key.verifyingShares).map(([k, v]) => [k, hexToBytes(v)])),
  };
  const sessions: { lists: Record<string, NonceCommitment[]>; targets: { message: string }[]; sh: Record<string, string[]> }[] = [];
  for (let r = 0; r < reps; r++) {
    const message = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
    const targets = [{ message }];
    // metanode: the last signer is timed, before anyone else has signed (cold caches)
    resetSigningCaches();
    const signers = mine.shares.slice(0, t);
    const commits = signers.map((s) => signingCommit(s, mine.key, 1));
    const lists: Record<string, NonceCommitment[]> = {};
    signers.forEach((s, i) => (lists[s.identifier] = commits[i].commitments));
    const sh: Record<string, string[]> = {};
    const last = signers[t - 1];
    m.signShareMs.push(
      time(() => {
        const own = signingCommit(last, mine.key, 1);
        lists[last.identifier] = own.commitments;
        sh[last.identifier] = signShares(last, mine.key, own.nonces, lists, targets);
      }),
    );
    signers.slice(0, t - 1).forEach((s, i) => (sh[s.identifier] = signShares(s, mine.key, commits[i].nonces, lists, targets)));
    resetSigningCaches();
    const sigA = time(() => aggregateSignatures(mine.key, lists, targets, sh));
    m.aggregateMs.push(sigA);
    resetSigningCaches();
    m.aggregateSumMs.push(time(() => aggregateSignatures(mine.key, lists, targets, sh, { shareCheck: 'sum' })));
    sessions.push({ lists, targets, sh });
    // noble plain
    const msg = hexToBytes(message);
    const secrets = plain.shares.slice(0, t).map((s) => ({ identifier: s.identifier, signingShare: hexToBytes(s.signingShare) }));
    const nc = secrets.map((s) => frost.commit(s));
    const cl = nc.map((x) => x.commitments);
    const zs: Record<string, Uint8Array> = {};
    p.signShareMs.push(
      time(() => {
        const own = frost.commit(secrets[t - 1]);
        cl[t - 1] = own.commitments;
        zs[secrets[t - 1].identifier] = frost.signShare(secrets[t - 1], pub, own.nonces, cl, msg);
      }),
    );
    secrets.slice(0, t - 1).forEach((s, i) => (zs[s.identifier] = frost.signShare(s, pub, nc[i].nonces, cl, msg)));
    p.aggregateMs.push(time(() => frost.aggregate(pub, cl, msg, zs)));
    log(
      `  n=${n} t=${t} sign rep ${r + 1}/${reps}: share ${m.signShareMs.at(-1)!.cpu.toFixed(1)}/${p.signShareMs.at(-1)!.cpu.toFixed(1)} ms cpu, ` +
        `aggregate ${m.aggregateMs.at(-1)!.cpu.toFixed(0)} (sum-check ${m.aggregateSumMs.at(-1)!.cpu.toFixed(0)})/${p.aggregateMs.at(-1)!.cpu.toFixed(0)} ms cpu`,
    );
  }
  // A coordinator that did not sign these sessions but keeps the key's verifying-share tables:
  // built once (untimed), after the cold runs so that dropping them cannot land in their timing.
  prepareVerifyingShares(mine.key);
  for (const [r, s] of sessions.entries()) {
    resetSigningCaches({ keepKeyTables: true });
    m.aggregateWarmKeyMs.push(time(() => aggregateSignatures(mine.key, s.lists, s.targets, s.sh)));
    log(`  n=${n} t=${t} warm-key aggregate rep ${r + 1}/${reps}: ${m.aggregateWarmKeyMs.at(-1)!.cpu.toFixed(0)} ms cpu`);
  }
  resetSigningCaches();
}

function benchReshare(n: number, t: number, reps: number, m: Samples, p: Samples): void {
  // n,t -> n,t (same size): the first t holders deal; one newcomer replaces the most senior
  // member, and the timed receiver is the last new member (identifier n).
  const { key, shares } = dealtKey(positional(n), t);
  const dealers = key.committee.slice(0, t).map((c) => c.identifier);
  const newC = membersInOrder(key.committee.map((c, i) => (i === 0 ? 'bench-new' : c.peerId)));
  const receiver = newC[n - 1].identifier;
  const plainKey = dealtKey(derived(n), t);
  const plainXs = plainKey.key.committee.slice(0, t).map((c) => BigInt('0x' + c.identifier));
  const plainNewXs = derived(n).map((c, i) => BigInt('0x' + (i === 0 ? frost.Identifier.derive('metanode/peer/bench-new') : c.identifier)));
  for (let r = 0; r < reps; r++) {
    const dealt = shares.slice(1, t).map((share) => reshareDeal({ share, oldKey: key, dealers, newCommittee: newC, newThreshold: t, newEpoch: 2 }));
    m.reshareMemberMs.push(
      time(() => {
        const own = reshareDeal({ share: shares[0], oldKey: key, dealers, newCommittee: newC, newThreshold: t, newEpoch: 2 });
        const all = [own, ...dealt];
        reshareReceive({
          self: receiver,
          oldKey: key,
          dealers,
          dealings: all.map((d) => d.dealing),
          subShares: all.map((d) => d.subShares.find((s) => s.to === receiver)!),
          newCommittee: newC,
          newThreshold: t,
          newEpoch: 2,
        });
      }),
    );
    const plainDeal = (s: bigint, xi: bigint) => {
      let num = Fn.ONE;
      let den = Fn.ONE;
      for (const x of plainXs)
        if (x !== xi) {
          num = Fn.mul(num, x);
          den = Fn.mul(den, Fn.sub(x, xi));
        }
      const coeffs = [Fn.mul(Fn.div(num, den), s)];
      for (let k = 1; k < t; k++) coeffs.push(Fn.create(BigInt('0x' + bytesToHex(crypto.getRandomValues(new Uint8Array(48))))));
      return { commitment: coeffs.map((a) => Point.BASE.multiply(a)), sub: plainNewXs.map((x) => evalPoly(coeffs, x)) };
    };
    const plainOthers = plainKey.shares.slice(1, t).map((s, i) => plainDeal(BigInt('0x' + s.signingShare), plainXs[i + 1]));
    p.reshareMemberMs.push(
      time(() => {
        const own = plainDeal(BigInt('0x' + plainKey.shares[0].signingShare), plainXs[0]);
        const all = [own, ...plainOthers];
        let s = Fn.ZERO;
        for (const d of all) s = Fn.add(s, d.sub[n - 1]);
        const summed: (typeof own.commitment)[number][] = [];
        for (let k = 0; k < t; k++) summed.push(all.reduce((acc, d) => acc.add(d.commitment[k]), Point.ZERO));
        for (const x of plainNewXs) {
          const pw: bigint[] = [];
          let a = Fn.ONE;
          for (let k = 0; k < t; k++) {
            pw.push(a);
            a = Fn.mul(a, x);
          }
          pippenger(Point, summed, pw);
        }
        void s;
      }),
    );
    log(`  n=${n} t=${t} reshare rep ${r + 1}/${reps}: metanode ${m.reshareMemberMs.at(-1)!.cpu.toFixed(0)} ms cpu, plain ${p.reshareMemberMs.at(-1)!.cpu.toFixed(0)} ms cpu`);
  }
}

function row(impl: Row['impl'], n: number, t: number, s: Samples): Row {
  const out = { impl, identifiers: impl === 'metanode' ? 'positions' : 'derived', n, t } as Row;
  for (const k of METRICS) out[k] = median(s[k].map((x) => x.cpu));
  if (s.aggregateSumMs.length) out.aggregateSumMs = median(s.aggregateSumMs.map((x) => x.cpu));
  if (s.aggregateWarmKeyMs.length) out.aggregateWarmKeyMs = median(s.aggregateWarmKeyMs.map((x) => x.cpu));
  out.wall = {} as Row['wall'];
  for (const k of METRICS) out.wall[k] = median(s[k].map((x) => x.wall));
  return out;
}

function benchSize(n: number, t: number, reps: number): Row[] {
  const m = emptySamples();
  const p = emptySamples();
  benchDkg(n, t, reps, m, p);
  benchSigning(n, t, reps, m, p);
  benchReshare(n, t, reps, m, p);
  return [row('metanode', n, t, m), row('noble-plain', n, t, p)];
}

/** CPU microseconds to parse one point: compressed (33 bytes: a square root), uncompressed (65) with noble, and with metanode's wire parser. */
function parsing(): { compressedUs: number; uncompressedUs: number; wireUs: number } {
  const pts = Array.from({ length: 400 }, () => Point.BASE.multiply(Fn.create(BigInt('0x' + bytesToHex(crypto.getRandomValues(new Uint8Array(32))))) || 1n));
  const comp = pts.map((q) => bytesToHex(q.toBytes(true)));
  const unc = pts.map((q) => bytesToHex(q.toBytes(false)));
  const per = (hexes: string[], parse: (h: string) => unknown = (h) => Point.fromHex(h)) => median([0, 1, 2].map(() => time(() => hexes.forEach(parse)).cpu)) / hexes.length;
  per(comp);
  per(unc, tryWirePoint);
  const r = (x: number) => Math.round(x * 10000) / 10;
  return { compressedUs: r(per(comp)), uncompressedUs: r(per(unc)), wireUs: r(per(unc, tryWirePoint)) };
}

function goals(rows: Row[]): Record<string, unknown> | null {
  const ours = rows.find((r) => r.impl === 'metanode' && r.n === 100 && r.t === 67);
  const plain = rows.find((r) => r.impl === 'noble-plain' && r.n === 100 && r.t === 67);
  if (!ours || !plain) return null;
  const out: Record<string, unknown> = {
    n: 100,
    t: 67,
    basis: 'median CPU ms of this process; wall ms are in crypto[].wall',
    issueNoblePlainMs: ISSUE_NOBLE,
  };
  const r2 = (x: number) => Math.round(x * 1000) / 1000;
  for (const k of METRICS) {
    const line: Record<string, unknown> = { goal: GOALS[k], metanode: ours[k], noblePlain: plain[k], met: ours[k] <= GOALS[k] };
    const base = ISSUE_NOBLE[k];
    if (base !== undefined) {
      line.ratio = r2(ours[k] / plain[k]);
      line.goalRatio = r2(GOALS[k] / base);
      line.metRelative = ours[k] / plain[k] <= GOALS[k] / base;
    }
    if (k === 'aggregateMs' && ours.aggregateSumMs !== undefined) {
      const v = ours.aggregateSumMs;
      line.sumCheck = { metanode: v, met: v <= GOALS[k], ratio: r2(v / plain[k]), metRelative: v / plain[k] <= GOALS[k] / base! };
    }
    if (k === 'aggregateMs' && ours.aggregateWarmKeyMs !== undefined) {
      const v = ours.aggregateWarmKeyMs;
      line.warmKey = { metanode: v, met: v <= GOALS[k], ratio: r2(v / plain[k]), metRelative: v / plain[k] <= GOALS[k] / base! };
    }
    out[k] = line;
  }
  const p = parsing();
  const points = { dkgMemberMs: 100 * 67 + 100, signShareMs: 2 * 67, aggregateMs: 3 * 67, reshareMemberMs: 67 * 67 + 67 };
  out.parsing = {
    ...p,
    pointsParsed: points,
    compressedShareMs: Object.fromEntries(METRICS.map((k) => [k, Math.round((points[k] * p.compressedUs) / 10) / 100])),
  };
  return out;
}

export async function main(flags: string[] = []): Promise<{ crypto: Row[]; goals: Record<string, unknown> | null }> {
  const f = parseFlags(flags, { quick: 'bool', reps: 'int', n: 'ints' });
  const quick = f.quick === true;
  const override = f.reps as number | undefined;
  const only = f.n as number[] | undefined;
  const sizes: [number, number, number][] = [
    [5, 4, 7],
    [21, 15, 5],
    [50, 34, 3],
    [100, 67, 3],
  ];
  const rows: Row[] = [];
  const t0 = performance.now();
  if (only) {
    const unknown = only.filter((n) => !sizes.some(([m]) => m === n));
    if (unknown.length) throw new Error(`--n: no size ${unknown.join(', ')} (sizes: ${sizes.map(([n]) => n).join(', ')})`);
  }
  const chosen = only ? sizes.filter(([n]) => only.includes(n)) : quick ? sizes.slice(0, 2) : sizes;
  for (const [n, t, reps] of chosen) {
    log(`crypto bench n=${n} t=${t}`);
    rows.push(...benchSize(n, t, override ?? reps));
  }
  log(`crypto bench done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { crypto: rows, goals: goals(rows) };
}
