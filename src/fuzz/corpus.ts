// One well-formed payload per gossip type and direct kind: the fuzzer mutates these into
// malformed messages. Each must pass its own validator unchanged (the fuzz test checks this), so
// every refusal of a mutant is due to the mutation.
import { KeygenTypes } from '../rounds/keygen/messages.js';
import { RegroupTypes } from '../rounds/regroup/messages.js';
import { MSG } from '../rounds/signing/messages.js';
import { EPOCH_SYNC_KIND } from '../epochs/sync.js';
import { PULL_KIND } from '../p2p/replication.js';
import { PING_TYPE } from '../p2p/messages/ping.js';

export const FUZZ_SIGNER = '12D3KooWFuzzSignerK5oB7vQ3xYzW8mN2pL4tR6uV9aC1dE3fG';
export const FUZZ_OTHER = '12D3KooWFuzzOtherPeerH2jK4mN6pQ8rS1tU3vW5xY7zA9bC';
export const FUZZ_NETWORK = 'regtest';
/** Local clock of the judging node: real-looking round ids (15-second rounds) and epoch 3. */
export const FUZZ_ROUND = 115_000_000;
export const FUZZ_EPOCH = 3;

const h = (byte: string, n: number) => byte.repeat(n);
const hex32 = (b: string) => h(b, 32);
const point = (b: string) => '02' + h(b, 32);
/** The wire form of bulk-parsed points (DKG, reshare and nonce commitments): 04 || x || y. */
const wirePoint = (b: string) => '04' + h(b, 64);

const record = {
  version: 1,
  kind: 'keygen',
  network: 'regtest',
  epoch: FUZZ_EPOCH,
  attempt: { startedAt: 0, id: hex32('a0') },
  previousEpoch: 2,
  outputKey: hex32('a1'),
  internalKey: hex32('a2'),
  vaultAddress: 'bcrt1pq8t5ksadveapmsv3pl3atq3ze2ff44af9400f259v2tcccm459jcszxuhaj',
  committee: [
    { peerId: FUZZ_SIGNER, identifier: hex32('b1') },
    { peerId: FUZZ_OTHER, identifier: hex32('b2') },
  ],
  threshold: 2,
  transcriptHash: hex32('c1'),
  keyHash: hex32('c2'),
  testSignature: null,
};
const attestation = { peerId: FUZZ_SIGNER, signature: h('d1', 64) };
const epochKey = {
  epoch: FUZZ_EPOCH,
  network: 'regtest',
  outputKey: hex32('a1'),
  internalKey: hex32('a2'),
  threshold: 2,
  committee: record.committee,
  verifyingShares: { [hex32('b1')]: point('e1'), [hex32('b2')]: point('e2') },
  commitments: [point('f1'), point('f2')],
};

/** Gossip payloads by message type. */
export const GOSSIP_CORPUS: Record<string, unknown> = {
  [PING_TYPE]: {
    status: 'ok',
    state: 'idle',
    stake: hex32('11') + ':0',
    tss_proof: h('12', 65),
    clock: FUZZ_ROUND * 15_000,
    tip: 812,
    addrs: ['/ip4/127.0.0.1/tcp/47101'],
  },
  [MSG.candidate]: { docHash: hex32('21'), anchorHeight: 810, feeRate: 2, transferIds: ['5505cdd7b1c24c0e8f3a7d2b9e6f1a40'], refunds: [hex32('22') + ':1'], sig: h('2c', 65) },
  [MSG.proposal]: { h0: hex32('23'), h1: hex32('24'), tssProof: h('25', 65), sig: h('2c', 65) },
  [MSG.signingSet]: { members: [FUZZ_SIGNER, FUZZ_OTHER], sig: h('2c', 65) },
  [MSG.checksum]: { checksum: hex32('26'), excluded: [], sig: h('2c', 65) },
  [MSG.commit]: { attempt: 0, signers: [FUZZ_SIGNER, FUZZ_OTHER], commitments: [{ identifier: hex32('b1'), hiding: wirePoint('27'), binding: wirePoint('28') }], sig: h('2c', 65) },
  [MSG.ack]: { attempt: 0, signers: [FUZZ_SIGNER, FUZZ_OTHER], digests: [hex32('2d'), hex32('2e')], sig: h('2c', 65) },
  [MSG.share]: { attempt: 0, shares: [hex32('29')], sig: h('2c', 65) },
  [MSG.relay]: { peer: FUZZ_OTHER, type: MSG.share, payload: { attempt: 0, shares: [hex32('29')], sig: h('2c', 65) }, sig: h('2c', 65) },
  [MSG.final]: { txid: hex32('2a'), tx: '02000000' + h('2b', 60) },
  [KeygenTypes.round1]: { identifier: hex32('b1'), commitment: [wirePoint('31'), wirePoint('32')], proofOfKnowledge: h('33', 97) },
  [KeygenTypes.echo]: { transcriptHash: hex32('34'), packages: { [FUZZ_SIGNER]: hex32('35'), [FUZZ_OTHER]: hex32('36') } },
  [KeygenTypes.attest]: { record, attestation },
  [KeygenTypes.abort]: { code: 'INVALID_SECRET_SHARE', message: 'share from b2 fails its commitment', culprits: [FUZZ_OTHER] },
  [RegroupTypes.agree]: { planHash: hex32('41') },
  [RegroupTypes.dealing]: { from: hex32('b1'), commitment: [wirePoint('42'), wirePoint('43')] },
  [RegroupTypes.commit]: { commitments: [{ identifier: hex32('b1'), hiding: wirePoint('44'), binding: wirePoint('45') }] },
  [RegroupTypes.sigshare]: { shares: [hex32('46')] },
  [RegroupTypes.attest]: { record: { ...record, kind: 'regroup', testSignature: h('47', 64) }, attestation, key: epochKey },
  [RegroupTypes.abort]: { code: 'GROUP_KEY_MISMATCH', message: 'new shares do not interpolate to the group key', culprits: [] },
};

/** Direct request payloads (what the messenger's request schema sees) by kind. */
export const DIRECT_REQUEST_CORPUS: Record<string, unknown> = {
  [KeygenTypes.round2]: { epoch: FUZZ_EPOCH, round: FUZZ_ROUND, payload: { from: hex32('b1'), to: hex32('b2'), signingShare: hex32('51') } },
  [RegroupTypes.subshare]: { epoch: FUZZ_EPOCH, round: FUZZ_ROUND, payload: { from: hex32('b1'), to: hex32('b2'), subShare: hex32('52') } },
  [EPOCH_SYNC_KIND]: { afterEpoch: 2 },
  [PULL_KIND]: { after: { timestamp: 1_725_000_000_000, timestampIndex: 3 }, limit: 10 },
};

/** Direct response payloads by kind. */
export const DIRECT_RESPONSE_CORPUS: Record<string, unknown> = {
  [KeygenTypes.round2]: { ok: true },
  [RegroupTypes.subshare]: { ok: true },
  [EPOCH_SYNC_KIND]: { epochs: [{ record, signatures: [attestation], key: epochKey }] },
  [PULL_KIND]: {
    records: [
      {
        record: {
          id: h('55', 32),
          network: 'regtest',
          epoch: FUZZ_EPOCH,
          amountSats: '95022',
          payoutAddress: 'bcrt1pejf0fsl9gmsej8p5gq3hxnmdaq7r6d8m0n3y2k4w6e8r0t2y4u6qs0xp9k',
          refundAddress: 'bcrt1px83x0neyjeenjzj976sn0aelpnwwfwgt2468fvp69nuurwcgh9eqh5qtyf',
          expiry: 1_725_003_600,
          depositAddress: 'bcrt1pq8t5ksadveapmsv3pl3atq3ze2ff44af9400f259v2tcccm459jcszxuhaj',
          timestamp: 1_725_000_000_000,
          timestampIndex: 0,
          origin: FUZZ_SIGNER,
          signature: h('61', 64),
        },
        cursor: { timestamp: 1_725_000_000_000, timestampIndex: 0 },
      },
    ],
  },
};
