// The node's metric families, computed from its data on each scrape, the ceremony histograms,
// and libp2p's own metrics through the prom-client adapter on two connected hosts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { createMetrics } from '../../src/metrics.js';
import { PEER_STATES, ROUND_OUTCOMES, TRANSFER_STATES, registerNodeMetrics } from '../../src/node/metrics.js';
import { openDb } from '../../src/store/db.js';
import { nodeMigrations } from '../../src/node/migrations.js';
import { createHost } from '../../src/p2p/host.js';
import { PEERS } from '../api/fake-node.js';
import { parsePrometheusText } from '../api/prometheus-text.js';
import { writeNodeData } from './datadir-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('peers by state, rounds by outcome, deposits, transfers, blocklist size; ceremony durations as histograms', async () => {
  await writeNodeData(tmp);
  const db = openDb(join(tmp, 'node.sqlite'), nodeMigrations);
  try {
    const m = createMetrics({ defaultMetrics: false });
    let failing = false;
    const errors: string[] = [];
    const nm = registerNodeMetrics(
      m,
      {
        db,
        peers: () => {
          if (failing) throw new Error('peer table unavailable');
          return PEERS;
        },
        depositStates: () => [
          { state: 'confirmed', sats: 152_000n },
          { state: 'confirmed', sats: 8_000n },
          { state: 'vault-spent', sats: 5n },
        ],
        transferStates: () => ['pending', 'paid', 'paid'],
        blocklistSize: () => 1,
        build: { version: '9.8.7', commit: 'abcdef1' },
        chainTip: () => ({ height: 812, time: 1 }),
        chainAnsweredAt: () => 1_058_000,
        epoch: () => 4,
        committee: () => ({ size: 7, threshold: 5, member: true }),
        stakedPeers: () => ({ admitted: 6, connected: 3 }),
        shareHeld: () => true,
        stake: () => ({ valid: false, checkedAt: 1_055_000 }),
        clockSkewMs: () => -250,
        now: () => 1_060_000,
      },
      (what) => errors.push(what),
    );
    nm.ceremonyDuration.observe({ kind: 'keygen', outcome: 'adopted' }, 3.2);
    nm.ceremonyDuration.observe({ kind: 'signing', outcome: 'completed' }, 0.4);
    const f = parsePrometheusText(await m.text());
    const values = (name: string, label: string) => Object.fromEntries(f.get(name)!.samples.map((s) => [s.labels[label], s.value]));
    const zeros = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, 0]));
    assert.deepEqual(values('metanode_peers', 'state'), { ...zeros(PEER_STATES), idle: 1, blocked: 1 });
    assert.deepEqual(values('metanode_rounds', 'outcome'), { ...zeros(ROUND_OUTCOMES), aborted: 1, completed: 1 });
    const one = (name: string) => f.get(name)!.samples.map((s) => s.value);
    assert.deepEqual(one('metanode_chain_tip_height'), [812]);
    assert.deepEqual(one('metanode_chain_tip_age_seconds'), [1_059]);
    assert.deepEqual(one('metanode_chain_last_poll_age_seconds'), [2]);
    assert.deepEqual(one('metanode_epoch'), [4]);
    assert.deepEqual(one('metanode_committee_size'), [7]);
    assert.deepEqual(one('metanode_threshold'), [5]);
    assert.deepEqual(one('metanode_share_held'), [1]);
    assert.deepEqual(one('metanode_committee_member'), [1]);
    assert.deepEqual(one('metanode_staked_peers'), [6]);
    assert.deepEqual(one('metanode_staked_peers_connected'), [3]);
    assert.deepEqual(one('metanode_stake_valid'), [0]);
    assert.deepEqual(one('metanode_stake_check_age_seconds'), [5]);
    assert.deepEqual(one('metanode_clock_skew_seconds'), [-0.25]);
    assert.deepEqual(one('metanode_clock_skew_known'), [1]);
    assert.deepEqual(f.get('metanode_build_info')!.samples.map((s) => [s.labels, s.value]), [[{ version: '9.8.7', commit: 'abcdef1' }, 1]]);
    assert.deepEqual(values('metanode_deposits', 'state'), { confirmed: 2, 'vault-spent': 1 });
    assert.deepEqual(values('metanode_deposit_sats', 'state'), { confirmed: 160_000, 'vault-spent': 5 });
    assert.deepEqual(values('metanode_transfers', 'state'), { ...zeros(TRANSFER_STATES), pending: 1, paid: 2 });
    assert.deepEqual(f.get('metanode_blocklist_size')!.samples.map((s) => s.value), [1]);
    const h = f.get('metanode_ceremony_duration_seconds')!;
    assert.equal(h.type, 'histogram');
    const sample = (name: string, labels: Record<string, string>) => h.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(sample('metanode_ceremony_duration_seconds_count', { kind: 'keygen', outcome: 'adopted' }), 1);
    assert.equal(sample('metanode_ceremony_duration_seconds_sum', { kind: 'keygen', outcome: 'adopted' }), 3.2);
    assert.equal(sample('metanode_ceremony_duration_seconds_bucket', { kind: 'keygen', le: '2' }), 0);
    assert.equal(sample('metanode_ceremony_duration_seconds_bucket', { kind: 'keygen', le: '5' }), 1);
    assert.equal(sample('metanode_ceremony_duration_seconds_bucket', { kind: 'signing', le: '0.5' }), 1);
    // A failing source leaves its family empty and is reported; the scrape still succeeds.
    failing = true;
    const again = parsePrometheusText(await m.text());
    assert.deepEqual(again.get('metanode_peers')!.samples, []);
    assert.deepEqual(errors, ['peers']);
    assert.equal(again.get('metanode_rounds')!.samples.length, ROUND_OUTCOMES.length);
  } finally {
    db.close();
  }
});

test("libp2p's metrics land in the registry: connections by direction, dials, streams, listener", { timeout: 60_000 }, async () => {
  const m = createMetrics({ defaultMetrics: false });
  const key = async () => (await generateKeyPair('Ed25519')) as unknown as PrivateKey;
  const a = await createHost({ privateKey: await key(), listen: ['/ip4/127.0.0.1/tcp/0'], metricsRegistry: m.registry });
  const b = await createHost({ privateKey: await key(), listen: ['/ip4/127.0.0.1/tcp/0'] });
  await a.start();
  await b.start();
  try {
    await a.dial(b.getMultiaddrs()[0]!);
    const f = parsePrometheusText(await m.text());
    const conns = Object.fromEntries(f.get('libp2p_connection_manager_connections')!.samples.map((s) => [s.labels.key, s.value]));
    assert.equal(conns.outbound, 1);
    assert.equal(conns.inbound, 0);
    assert.ok(f.get('libp2p_connections_opened_total')!.samples[0]!.value >= 1);
    assert.ok(f.get('libp2p_connection_manager_dials_total')!.samples.some((s) => s.value >= 1));
    assert.ok(f.get('libp2p_tcp_inbound_connections_total')!.samples.some((s) => s.labels.address?.startsWith('127.0.0.1:')));
    // Streams: identify runs on every new connection, shortly after the dial returns.
    let streams: string[] = [];
    for (let i = 0; i < 100 && !streams.some((p) => p.includes('/ipfs/id/')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      streams = parsePrometheusText(await m.text()).get('libp2p_protocol_streams_opened_total')!.samples.map((s) => s.labels.protocol!);
    }
    assert.ok(streams.some((p) => p.includes('/ipfs/id/')), `streams: ${streams.join(', ')}`);
  } finally {
    await a.stop();
    await b.stop();
  }
  // A new host on the same registry replaces the old collectors instead of failing to register.
  const c = await createHost({ privateKey: await key(), listen: ['/ip4/127.0.0.1/tcp/0'], metricsRegistry: m.registry });
  await c.start();
  try {
    const f = parsePrometheusText(await m.text());
    assert.deepEqual(Object.fromEntries(f.get('libp2p_connection_manager_connections')!.samples.map((s) => [s.labels.key, s.value])).outbound, 0);
  } finally {
    await c.stop();
  }
});
