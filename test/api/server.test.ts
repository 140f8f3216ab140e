import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createApiServer, type ApiServer } from '../../src/api/server.js';
import { evaluateHealth, requiredConnections } from '../../src/api/health.js';
import { createMetrics } from '../../src/metrics.js';
import { MetanodeError } from '../../src/util/errors.js';
import { fakeNode, PAYOUT, REFUND, STATUS, ROUNDS, TIMELINE, REQUEST, type FakeNode } from './fake-node.js';

const TOKEN = 'ab'.repeat(32);
let node: FakeNode;
let server: ApiServer;
let base: string;

before(async () => {
  node = fakeNode();
  server = createApiServer({ api: node, metrics: createMetrics(), port: 0, maxSkewMs: 1000, bodyLimitBytes: 2048, handlerTimeoutMs: 500, auth: { token: TOKEN } });
  base = (await server.listen()).url;
});
after(() => server.close());

async function get(path: string) {
  const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type') ?? '', text, json: (r.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined) as any };
}

async function post(path: string, body: string, type = 'application/json', token: string | null = TOKEN) {
  const r = await fetch(base + path, { method: 'POST', body, headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(5000) });
  return { status: r.status, json: (await r.json()) as any };
}

test('listens on loopback with a real port', () => {
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(base.endsWith(':0'), true);
});

test('GET read routes return the node data as JSON (bigint as decimal string)', async () => {
  const s = await get('/v1/status');
  assert.equal(s.status, 200);
  assert.match(s.type, /^application\/json/);
  assert.deepEqual(s.json, STATUS);

  const p = await get('/v1/peers');
  assert.deepEqual(p.json[0].stake, { outpoint: `${'cd'.repeat(32)}:0`, sats: '2000000', valid: true, reason: null });

  const r = await get('/v1/rounds');
  assert.equal(r.json.length, 2);
  assert.equal(r.json[0].roundId, ROUNDS[0]!.roundId);
  assert.deepEqual(node.calls.at(-1), { method: 'rounds', arg: { limit: 50 } });
  const r2 = await get(`/v1/rounds?limit=1&before=${ROUNDS[0]!.roundId}`);
  assert.deepEqual(r2.json.map((x: { roundId: number }) => x.roundId), [ROUNDS[1]!.roundId]);

  const one = await get(`/v1/rounds/${TIMELINE.round!.roundId}`);
  assert.equal(one.status, 200);
  assert.equal(one.json.entries[0].decision, 'accept');

  const t = await get('/v1/transfers?state=pending&limit=5');
  assert.equal(t.json[0].request.amountSats, '150000');
  assert.deepEqual(node.calls.at(-1), { method: 'transfers', arg: { limit: 5, state: 'pending' } });
  assert.deepEqual((await get('/v1/transfers?state=paid')).json, []);

  const d = await get('/v1/deposits');
  assert.equal(d.json[0].valueSats, '152000');
  const e = await get('/v1/epochs');
  assert.equal(e.json.epochs[0].record.epoch, 2);
  assert.equal(e.json.epochs[0].key.epoch, 2);
  assert.equal(e.json.epochs[0].active, true);
});

test('unknown round 404, bad round id and bad query 400', async () => {
  const nf = await get('/v1/rounds/5');
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.json, { error: { code: 'NOT_FOUND', message: 'no round 5' } });
  const bad = await get('/v1/rounds/abc');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.message, 'round id must be a whole number');
  const lim = await get('/v1/rounds?limit=0');
  assert.equal(lim.status, 400);
  assert.equal(lim.json.error.message, 'query limit: must be >= 1');
  assert.equal((await get('/v1/rounds?limit=5000')).json.error.message, 'query limit: must be <= 1000');
  assert.equal((await get('/v1/rounds?foo=1')).json.error.message, 'query foo: unknown field');
  assert.equal((await get('/v1/transfers?state=Bad!')).status, 400);
});

test('404 for unknown routes, 405 for wrong methods', async () => {
  const r = await get('/v2/nothing');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'NOT_FOUND');
  const m = await post('/v1/status', '{}');
  assert.equal(m.status, 405);
  const g = await get('/v1/requests');
  assert.equal(g.status, 405);
  assert.match(g.json.error.message, /use POST/);
});

test('POST /v1/requests validates the body and returns the accepted record', async () => {
  const body = { amountSats: '150000', payoutAddress: PAYOUT, refundAddress: REFUND, expiry: 1_800_000_000 };
  const ok = await post('/v1/requests', JSON.stringify(body));
  assert.equal(ok.status, 201);
  assert.equal(ok.json.id, REQUEST.id);
  assert.equal(ok.json.amountSats, '150000');
  assert.deepEqual(node.submitted.at(-1), { ...body, amountSats: 150_000n });

  const cases: Array<[unknown, RegExp]> = [
    [{ ...body, amountSats: '-5' }, /body\.amountSats: must be a positive whole number of sats/],
    [{ ...body, amountSats: 1.5 }, /body\.amountSats: must be a positive whole number/],
    [{ ...body, expiry: 1_800_000_000_000 }, /body\.expiry: must be unix seconds, not milliseconds/],
    [{ ...body, payoutAddress: 'x' }, /body\.payoutAddress: too short/],
    [{ ...body, extra: 1 }, /body\.extra: unknown field/],
    [{ amountSats: '1' }, /body\.payoutAddress: required/],
    [[1, 2], /expected object/],
  ];
  for (const [b, re] of cases) {
    const r = await post('/v1/requests', JSON.stringify(b));
    assert.equal(r.status, 400, JSON.stringify(b));
    assert.equal(r.json.error.code, 'INVALID_INPUT');
    assert.match(r.json.error.message, re);
  }
  const notJson = await post('/v1/requests', '{"amountSats": ');
  assert.equal(notJson.status, 400);
  assert.match(notJson.json.error.message, /not valid JSON/);
  assert.equal((await post('/v1/requests', JSON.stringify(body), 'text/plain')).status, 415);
  // The node's own refusal (semantic validation) is a 400 with its message.
  const refused = await post('/v1/requests', JSON.stringify({ ...body, payoutAddress: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' }));
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /not a regtest address/);
  // code and message travel apart: the message does not repeat the code
  assert.equal(refused.json.error.code, 'INVALID_INPUT');
  assert.doesNotMatch(refused.json.error.message, /^INVALID_INPUT/);
});

test('body size limit: 413', async () => {
  const big = JSON.stringify({ amountSats: '1', payoutAddress: 'x'.repeat(4000) });
  const r = await post('/v1/requests', big);
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
  // Chunked upload without content-length is cut off too.
  const status = await new Promise<number>((resolve, reject) => {
    const u = new URL(base + '/v1/requests');
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('{"a":"' + 'y'.repeat(3000));
    req.end('"}');
  });
  assert.equal(status, 413);
});

test('/health: 200 when fine, 503 naming each failing reason', async () => {
  node.healthInputs = { chain: { reachable: true }, clock: { skewMs: 10 }, peers: { connectedStaked: 2, federationSize: 4 } };
  const ok = await get('/health');
  assert.equal(ok.status, 200);
  assert.equal(ok.json.status, 'ok');
  assert.deepEqual(ok.json.reasons, []);

  node.healthInputs = { chain: { reachable: false, error: 'ECONNREFUSED' }, clock: { skewMs: -2500 }, peers: { connectedStaked: 1, federationSize: 7 } };
  const bad = await get('/health');
  assert.equal(bad.status, 503);
  assert.equal(bad.json.status, 'unhealthy');
  assert.deepEqual(bad.json.reasons, [
    'chain unreachable: ECONNREFUSED',
    'clock skew -2500 ms exceeds 1000 ms',
    '1 connections to staked peers, below f+1 = 3',
  ]);
  node.healthInputs = { chain: { reachable: true }, clock: { skewMs: null }, peers: { connectedStaked: 0, federationSize: 7, inBootstrapGrace: true } };
  assert.equal((await get('/health')).status, 200);
  node.healthInputs = { starting: true, chain: { reachable: true }, clock: { skewMs: 0 }, peers: { connectedStaked: 3, federationSize: 7 } };
  assert.deepEqual((await get('/health')).json.reasons, ['node is starting']);
});

test('required connections is f+1, capped by the other operators', () => {
  assert.deepEqual([1, 2, 3, 4, 7, 10, 13].map(requiredConnections), [0, 1, 1, 2, 3, 4, 5]);
  // A node that sees nobody still needs somebody (issue 17: it used to require nobody).
  assert.equal(evaluateHealth({ chain: { reachable: true }, clock: { skewMs: 0 }, peers: { connectedStaked: 0, federationSize: 1 } }, { maxSkewMs: 1 }).ok, false);
});

test('/metrics serves Prometheus text including request counters', async () => {
  const m = await get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.type, /^text\/plain; version=0\.0\.4/);
  assert.match(m.text, /^# HELP metanode_http_requests_total HTTP API requests, by route and status$/m);
  assert.match(m.text, /^# TYPE metanode_http_requests_total counter$/m);
  assert.match(m.text, /^metanode_http_requests_total\{route="status",status="200"\} \d+$/m);
  assert.match(m.text, /^metanode_process_cpu_user_seconds_total \d/m);
});

test('errors from the node: MetanodeError codes map to statuses, others are not leaked, slow calls time out', async () => {
  const orig = { status: node.status, peers: node.peers, epochs: node.epochs };
  try {
    node.status = () => {
      throw new Error('secret internal detail');
    };
    const s = await get('/v1/status');
    assert.equal(s.status, 500);
    assert.deepEqual(s.json, { error: { code: 'INTERNAL', message: 'internal error (see the node log)' } });
    node.peers = () => {
      throw new MetanodeError('CHAIN_UNAVAILABLE', 'esplora down');
    };
    const p = await get('/v1/peers');
    assert.equal(p.status, 503);
    assert.equal(p.json.error.code, 'CHAIN_UNAVAILABLE');
    node.epochs = () => new Promise(() => {});
    const e = await get('/v1/epochs');
    assert.equal(e.status, 503);
    assert.equal(e.json.error.code, 'TIMEOUT');
  } finally {
    Object.assign(node, orig);
  }
});

test('/metrics is 404 without a registry; listen errors are clear', async () => {
  const s = createApiServer({ api: fakeNode(), port: 0 });
  const { url, port } = await s.listen();
  try {
    const r = await fetch(url + '/metrics');
    assert.equal(r.status, 404);
    await r.text();
    const clash = createApiServer({ api: fakeNode(), port });
    await assert.rejects(clash.listen(), /INVALID_CONFIG: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  } finally {
    await s.close();
  }
});

test('POST /v1/transfers submits like /v1/requests; bad posts get 400 with the reason and the server keeps serving', async () => {
  const body = { amountSats: '150000', payoutAddress: PAYOUT, refundAddress: REFUND, expiry: 1_800_000_000 };
  const ok = await post('/v1/transfers', JSON.stringify(body));
  assert.equal(ok.status, 201);
  assert.equal(ok.json.depositAddress, REQUEST.depositAddress);
  const bad: Array<[string, string, RegExp]> = [
    ['{"amountSats": "0", "payoutAddress": "x"}', 'application/json', /body\.amountSats: must be a positive whole number of sats, got "0"; body\.payoutAddress: too short for a Bitcoin address; body\.refundAddress: required/],
    ['not json', 'application/json', /body is not valid JSON/],
    ['', 'application/json', /empty body; expected a JSON object/],
    [JSON.stringify({ ...body, expiry: 'tomorrow' }), 'application/json', /body\.expiry: required \(unix seconds\)/],
  ];
  for (const [b, type, re] of bad) {
    const r = await post('/v1/transfers', b, type);
    assert.equal(r.status, 400, b);
    assert.equal(r.json.error.code, 'INVALID_INPUT');
    assert.match(r.json.error.message, re);
  }
  const tooBig = await post('/v1/transfers', JSON.stringify({ ...body, payoutAddress: 'x'.repeat(5000) }));
  assert.equal(tooBig.status, 413);
  // Still up and answering after every refusal; GET on the same path lists.
  assert.equal((await get('/v1/transfers')).status, 200);
  assert.equal((await get('/v1/status')).json.peerId, STATUS.peerId);
  assert.match((await get('/metrics')).text, /^metanode_http_requests_total\{route="submit",status="400"\} 4$/m);
});

test('an API write without the token is refused with 401 and changes nothing', async () => {
  const before = node.submitted.length;
  const body = JSON.stringify({ amountSats: '150000', payoutAddress: 'x', refundAddress: 'y', expiry: 2_000_000_000 });
  const none = await post('/v1/transfers', body, 'application/json', null);
  assert.equal(none.status, 401);
  assert.equal(none.json.error.code, 'UNAUTHORIZED');
  assert.match(none.json.error.message, /api\.token/);
  const wrong = await post('/v1/transfers', body, 'application/json', 'cd'.repeat(32));
  assert.equal(wrong.status, 401);
  assert.equal(node.submitted.length, before);
  // Reads stay open on loopback.
  assert.equal((await get('/v1/status')).status, 200);
});

test('a Host header that is not a loopback name is refused (DNS rebinding), reads included', async () => {
  const { request } = await import('node:http');
  const u = new URL(base);
  const status = await new Promise<number>((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, path: '/v1/status', headers: { host: 'evil.example:80' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', reject);
    r.end();
  });
  assert.equal(status, 400);
});

test('POSTs are rate-limited with 429 naming the limit', async () => {
  const s = createApiServer({ api: fakeNode(), port: 0, auth: { token: TOKEN, postRatePerSec: 0.01, postBurst: 2 } });
  const url = (await s.listen()).url;
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(url + '/v1/transfers', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) });
      statuses.push(r.status);
      if (r.status === 429) assert.match(((await r.json()) as any).error.message, /http\.postRatePerSec/);
      else await r.text();
    }
    assert.deepEqual(statuses, [400, 400, 429]);
  } finally {
    await s.close();
  }
});

test('POST /v1/peers/<peer>/unblock: needs the token, checks the peer id, returns the removed entry', async () => {
  const { PEERS } = await import('./fake-node.js');
  const blockedPeer = PEERS.find((p) => p.blockedUntil !== null)!.peerId;
  const before = node.calls.filter((c) => c.method === 'unblockPeer').length;
  const unauth = await post(`/v1/peers/${blockedPeer}/unblock`, '{}', 'application/json', null);
  assert.equal(unauth.status, 401);
  assert.equal(node.calls.filter((c) => c.method === 'unblockPeer').length, before, 'nothing reached the node without the token');
  const bad = await post('/v1/peers/not-a-peer/unblock', '{}');
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /not a peer id: "not-a-peer"/);
  const done = await post(`/v1/peers/${blockedPeer}/unblock`, '{}');
  assert.equal(done.status, 200);
  assert.equal(done.json.peerId, blockedPeer);
  assert.equal(done.json.removed.reason, 'invalid-ping');
  const notBlocked = await post(`/v1/peers/${PEERS.find((p) => p.blockedUntil === null)!.peerId}/unblock`, '{}');
  assert.equal(notBlocked.status, 200);
  assert.equal(notBlocked.json.removed, null);
  assert.equal((await get(`/v1/peers/${blockedPeer}/unblock`)).status, 405);
});
