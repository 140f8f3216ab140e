// The chaos harness's epoch attacks (issue 13) on five node processes: a member forges a keygen
// epoch current+1 (itself and a sybil as committee, fully signed, consistent key) and serves it
// through epoch sync while pinging the higher epoch; later a member replays the fully signed
// records of superseded epochs the same way. Afterwards the audit finds every honest node on the
// locked key within the trust rules, none storing the forged record, none moved back, nobody
// honest flagged or blocked, and the refusals logged against the attacker. Kept apart from
// chaos.test.ts so that file's runtime stays as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChaos } from './harness.js';
import { processesMentioning } from '../support/processes.js';

test('chaos: forged epoch and replayed superseded record served through epoch sync; no honest node adopts either, nobody honest flagged or blocked', { timeout: 420_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'metanode-chaos-epochs-'));
  const lines: string[] = [];
  let ok = false;
  try {
    const r = await runChaos({
      seed: 'epoch-attacks-1',
      nodes: 5,
      faults: 2,
      kinds: ['byzantine'],
      modes: ['forged-epoch', 'replayed-record'],
      basePort: 29000,
      recoveryRounds: 10,
      dir,
      out: (l) => lines.push(l),
    });
    const log = lines.join('\n');
    assert.equal(r.error, undefined, log);
    assert.deepEqual([...r.faults.map((f) => f.mode)].sort(), ['forged-epoch', 'replayed-record']);
    const names = r.checks.map((c) => c.name);
    for (const name of ['group-key-agreement', 'epoch-trust', 'epoch-attacks-refused', 'culprits-named', 'transfers-resume', 'all-transfers-paid']) assert.ok(names.includes(name), `no ${name} check`);
    for (const c of r.checks) assert.ok(c.ok, `${c.name}: ${c.detail}\n${log}`);
    assert.equal(r.ok, true);
    for (const f of r.faults) {
      assert.equal(f.error, undefined);
      assert.ok(f.offered && f.offered.length > 0, `fault ${f.index} (${f.mode}) served nothing`);
      if (f.mode === 'forged-epoch') assert.ok(f.offered!.every((o) => o.outputKey !== r.groupKey), 'the forged record carries the federation key');
    }
    assert.equal(r.culprits.length, 2);
    for (const c of r.culprits) assert.ok(c.actions >= 1 && c.namedBy.length >= 1 && !c.namedBy.includes(c.culpritName), c.detail);
    assert.deepEqual(processesMentioning(dir), [], 'no node process left');
    console.log(log);
    console.log(`epoch attacks: ${r.checks.find((c) => c.name === 'epoch-attacks-refused')!.detail}; ${(r.durationMs / 1000).toFixed(0)} s`);
    ok = true;
  } finally {
    if (ok) rmSync(dir, { recursive: true, force: true });
    else console.log(`${lines.join('\n')}\nkept ${dir}`);
  }
});
