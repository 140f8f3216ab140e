import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFederation, waitFor, epochOf, requestTransfer, transferState, type Federation } from './harness.js';

let fed: Federation | undefined;
after(async () => { await fed?.stop(); });

test('smoke: 5 nodes keygen and pay a transfer', { timeout: 120_000 }, async () => {
  fed = await startFederation({ n: 5 });
  const e = await waitFor(async () => {
    const eps = await Promise.all(fed!.nodes.map(epochOf));
    return Date.now() > fed!.keygenUntil.getTime() + 2000 && eps.every((x) => x && x.epoch === eps[0]!.epoch) ? eps[0] : undefined;
  }, 60_000, 'key locked in');
  console.log('epoch', e);
  const t = await requestTransfer(fed, fed.nodes[0]!, 60_000);
  const st = await waitFor(async () => { const s = await transferState(fed!.nodes[1]!, t.id); return s?.state === 'paid' ? s : undefined; }, 60_000, 'paid');
  assert.equal(st.state, 'paid');
});
