// Crypto benchmark: per-member cost of DKG, signing, aggregation and reshare, for the metanode
// wrappers (with every blame check) and for noble called the plain way, side by side.
//
//   dkgMemberMs     one member's whole DKG: round1 + round2 (validate all n packages) + round3
//   signShareMs     one signer, one message: nonce commit + signature share
//   aggregateMs     coordinator, one message, t shares: metanode verifies every share first and
//                   BIP340-checks the result; noble-plain aggregate() (verifies shares only on failure)
//   reshareMemberMs one old holder's dealing to n members + one new holder's receive from t dealers;
//                   noble-plain = the same Feldman math with none of our checks (no sub-share
//                   verification, no constant-term check, no interpolation check): noble has no reshare.
//
// Medians over several repetitions; setup (other members' packages) is not timed.
// Flags: --quick (only the two small sizes), --reps=N (override repetitions).
import { pippenger } from '@noble/curves/abstract/curve.js';
import { __TEST, schnorr_FROST, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { dkgFinish, dkgRound2, dkgStart, type DkgRound1Package, type DkgRound2Package } from '../src/crypto/dkg.js';
import { identifierForPeer } from '../src/crypto/identifiers.js';
import { reshareDeal, reshareReceive } from '../src/crypto/reshare.js';
import { aggregateSignatures, signingCommit, signShares, type NonceCommitment } from '../src/crypto/signing.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../src/crypto/types.js';

const frost = schnorr_FROST;
const Point = secp256k1.Point;
const Fn = Point.Fn;

type Row = { impl: 'metanode' | 'noble-plain'; n: number; t: number; dkgMemberMs: number; signShareMs: number; aggregateMs: number; reshareMemberMs: number | null };

const log = (s: string) => process.stderr.write(s + '\n');

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  const v = a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
  return Math.round(v * 100) / 100;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function committee(n: number): CommitteeMember[] {
  return Array.from({ length: n }, (_, i) => ({ peerId: `bench-${i}`, identifier: identifierForPeer(`bench-${i}`) }));
}

function evalPoly(coeffs: bigint[], x: bigint): bigint {
  let acc = Fn.ZERO;
  for (let k = coeffs.length - 1; k >= 0; k--) acc = Fn.add(Fn.mul(acc, x), coeffs[k]);
  return acc;
}

/** Other members' round-1 packages and their shares for member 0 (setup, untimed). */
function dkgSetup(c: CommitteeMember[], t: number) {
  const others = c.slice(1).map((m) => frost.DKG.round1(m.identifier, { min: t, max: c.length }));
  const x0 = BigInt('0x' + c[0].identifier);
  const r1: DkgRound1Package[] = others.map((o) => ({
    identifier: o.public.identifier,
    commitment: o.public.commitment.map((b) => bytesToHex(b)),
    proofOfKnowledge: bytesToHex(o.public.proofOfKnowledge),
  }));
  const r2: DkgRound2Package[] = others.map((o) => ({
    from: o.public.identifier,
    to: c[0].identifier,
    signingShare: bytesToHex(Fn.toBytes(evalPoly(o.secret.coefficients!, x0))),
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

function benchSize(n: number, t: number, reps: number): Row[] {
  const c = committee(n);
  const me = c[0];
  const dkgM: number[] = [];
  const dkgN: number[] = [];
  for (let r = 0; r < reps; r++) {
    const { others, r1, r2 } = dkgSetup(c, t);
    dkgM.push(
      time(() => {
        const { session, round1 } = dkgStart({ self: me.identifier, committee: c, threshold: t, epoch: 1, network: 'regtest' });
        dkgRound2(session, [round1, ...r1]);
        dkgFinish(session, [round1, ...r1], r2);
      }),
    );
    const noblePub = others.map((o) => o.public);
    const nobleR2 = r2.map((p) => ({ identifier: p.from, signingShare: hexToBytes(p.signingShare) }));
    dkgN.push(
      time(() => {
        const { secret } = frost.DKG.round1(me.identifier, { min: t, max: n });
        frost.DKG.round2(secret, noblePub);
        frost.DKG.round3(secret, noblePub, nobleR2);
      }),
    );
    log(`  n=${n} t=${t} dkg rep ${r + 1}/${reps}: metanode ${dkgM.at(-1)!.toFixed(0)} ms, noble ${dkgN.at(-1)!.toFixed(0)} ms`);
  }

  const { key, shares } = dealtKey(c, t);
  const signers = shares.slice(0, t);
  const signM: number[] = [];
  const signN: number[] = [];
  const aggM: number[] = [];
  const aggN: number[] = [];
  const pub = {
    signers: { min: t, max: n },
    commitments: key.commitments.map((h) => hexToBytes(h)),
    verifyingShares: Object.fromEntries(Object.entries(key.verifyingShares).map(([k, v]) => [k, hexToBytes(v)])),
  };
  for (let r = 0; r < reps; r++) {
    const message = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
    const targets = [{ message }];
    // metanode
    const commits = signers.map((s) => signingCommit(s, key, 1));
    const lists: Record<string, NonceCommitment[]> = {};
    signers.forEach((s, i) => (lists[s.identifier] = commits[i].commitments));
    const sh: Record<string, string[]> = {};
    signers.forEach((s, i) => {
      if (i === 0) {
        signM.push(
          time(() => {
            const own = signingCommit(s, key, 1);
            lists[s.identifier] = own.commitments;
            sh[s.identifier] = signShares(s, key, own.nonces, lists, targets);
          }),
        );
      } else sh[s.identifier] = signShares(s, key, commits[i].nonces, lists, targets);
    });
    aggM.push(time(() => aggregateSignatures(key, lists, targets, sh)));
    // noble plain
    const msg = hexToBytes(message);
    const secrets = signers.map((s) => ({ identifier: s.identifier, signingShare: hexToBytes(s.signingShare) }));
    const nc = secrets.map((s) => frost.commit(s));
    const cl = nc.map((x) => x.commitments);
    const zs: Record<string, Uint8Array> = {};
    secrets.forEach((s, i) => {
      if (i === 0) {
        signN.push(
          time(() => {
            const own = frost.commit(s);
            cl[0] = own.commitments;
            zs[s.identifier] = frost.signShare(s, pub, own.nonces, cl, msg);
          }),
        );
      } else zs[s.identifier] = frost.signShare(s, pub, nc[i].nonces, cl, msg);
    });
    aggN.push(time(() => frost.aggregate(pub, cl, msg, zs)));
    log(`  n=${n} t=${t} sign rep ${r + 1}/${reps}: share ${signM.at(-1)!.toFixed(1)}/${signN.at(-1)!.toFixed(1)} ms, aggregate ${aggM.at(-1)!.toFixed(0)}/${aggN.at(-1)!.toFixed(0)} ms`);
  }

  // reshare n,t -> n,t (same size; the first t holders deal)
  const dealers = c.slice(0, t).map((m) => m.identifier);
  const newC = committee(n).map((m, i) => (i === 0 ? { peerId: 'bench-new', identifier: identifierForPeer('bench-new') } : m));
  const resM: number[] = [];
  const resN: number[] = [];
  for (let r = 0; r < reps; r++) {
    const dealt = shares.slice(1, t).map((share) => reshareDeal({ share, oldKey: key, dealers, newCommittee: newC, newThreshold: t, newEpoch: 2 }));
    resM.push(
      time(() => {
        const own = reshareDeal({ share: shares[0], oldKey: key, dealers, newCommittee: newC, newThreshold: t, newEpoch: 2 });
        const all = [own, ...dealt];
        reshareReceive({
          self: newC[1].identifier,
          oldKey: key,
          dealers,
          dealings: all.map((d) => d.dealing),
          subShares: all.map((d) => d.subShares[1]),
          newCommittee: newC,
          newThreshold: t,
          newEpoch: 2,
        });
      }),
    );
    const xs = dealers.map((d) => BigInt('0x' + d));
    const newXs = newC.map((m) => BigInt('0x' + m.identifier));
    const plainDeal = (s: bigint, xi: bigint) => {
      let num = Fn.ONE;
      let den = Fn.ONE;
      for (const x of xs) if (x !== xi) {
        num = Fn.mul(num, x);
        den = Fn.mul(den, Fn.sub(x, xi));
      }
      const coeffs = [Fn.mul(Fn.div(num, den), s)];
      for (let k = 1; k < t; k++) coeffs.push(Fn.create(BigInt('0x' + bytesToHex(crypto.getRandomValues(new Uint8Array(48))))));
      return { commitment: coeffs.map((a) => Point.BASE.multiply(a)), sub: newXs.map((x) => evalPoly(coeffs, x)) };
    };
    const plainOthers = shares.slice(1, t).map((s, i) => plainDeal(BigInt('0x' + s.signingShare), xs[i + 1]));
    resN.push(
      time(() => {
        const own = plainDeal(BigInt('0x' + shares[0].signingShare), xs[0]);
        const all = [own, ...plainOthers];
        let s = Fn.ZERO;
        for (const d of all) s = Fn.add(s, d.sub[1]);
        const summed: (typeof own.commitment)[number][] = [];
        for (let k = 0; k < t; k++) summed.push(all.reduce((acc, d) => acc.add(d.commitment[k]), Point.ZERO));
        for (const x of newXs) {
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
    log(`  n=${n} t=${t} reshare rep ${r + 1}/${reps}: metanode ${resM.at(-1)!.toFixed(0)} ms, plain ${resN.at(-1)!.toFixed(0)} ms`);
  }
  return [
    { impl: 'metanode', n, t, dkgMemberMs: median(dkgM), signShareMs: median(signM), aggregateMs: median(aggM), reshareMemberMs: median(resM) },
    { impl: 'noble-plain', n, t, dkgMemberMs: median(dkgN), signShareMs: median(signN), aggregateMs: median(aggN), reshareMemberMs: median(resN) },
  ];
}

export async function main(flags: string[] = []): Promise<{ crypto: Row[] }> {
  const quick = flags.includes('--quick');
  const repsFlag = flags.find((f) => f.startsWith('--reps='));
  const override = repsFlag ? Number(repsFlag.slice(7)) : undefined;
  const sizes: [number, number, number][] = [
    [5, 4, 7],
    [21, 15, 5],
    [50, 34, 3],
    [100, 67, 3],
  ];
  const rows: Row[] = [];
  const t0 = performance.now();
  for (const [n, t, reps] of quick ? sizes.slice(0, 2) : sizes) {
    log(`crypto bench n=${n} t=${t}`);
    rows.push(...benchSize(n, t, override ?? reps));
  }
  log(`crypto bench done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { crypto: rows };
}
