import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, metricName } from '../src/metrics.js';

test('metrics are namespaced metanode_ and re-declaration returns the same metric', async () => {
  const m = createMetrics({ defaultMetrics: false, labels: { node: 'n1' } });
  const c = m.counter('rounds_total', 'Rounds', ['status']);
  c.inc({ status: 'completed' });
  assert.equal(m.counter('rounds_total', 'Rounds', ['status']), c);
  m.gauge('metanode_peers', 'Peers').set(3);
  m.histogram('round_seconds', 'Round duration', [], [1, 5]).observe(2);
  const text = await m.text();
  assert.match(text, /^metanode_rounds_total\{status="completed",node="n1"\} 1$/m);
  assert.match(text, /^metanode_peers\{node="n1"\} 3$/m);
  assert.match(text, /^metanode_round_seconds_bucket\{le="5",node="n1"\} 1$/m);
  assert.doesNotMatch(text, /process_cpu/);
  assert.throws(() => m.gauge('rounds_total', 'x'), /already registered with another type/);
  assert.throws(() => metricName('bad-name'), /invalid metric name/);
});

test('two registries are independent; default metrics are prefixed', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.counter('x_total', 'x').inc();
  assert.match(await a.text(), /^metanode_x_total 1$/m);
  assert.doesNotMatch(await b.text(), /metanode_x_total/);
  assert.match(await b.text(), /^metanode_nodejs_heap_size_total_bytes /m);
});
