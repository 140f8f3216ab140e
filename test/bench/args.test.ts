// The benchmark entry points parse their flags (defaults, quick mode, clear errors) without
// starting anything; the benchmarks themselves are not part of the test suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, FlagError } from '../../bench/flags.js';
import * as roundLatency from '../../bench/round-latency.js';
import * as idle from '../../bench/idle.js';
import * as replication from '../../bench/replication.js';
import * as bigTx from '../../bench/big-tx.js';

test('flags: bool, int and int lists; unknown flags and bad values are named', () => {
  const spec = { quick: 'bool', n: 'ints', samples: 'int' } as const;
  assert.deepEqual(parseFlags(['--quick', '--n=5,7', '--samples=2'], spec), { quick: true, n: [5, 7], samples: 2 });
  assert.throws(() => parseFlags(['--nope'], spec), (e: Error) => e instanceof FlagError && /unknown flag --nope \(known: --quick, --n, --samples\)/.test(e.message));
  assert.throws(() => parseFlags(['--samples=0'], spec), /--samples: "0" is not a whole number >= 1/);
  assert.throws(() => parseFlags(['--samples=1,2'], spec), /--samples takes one number/);
  assert.throws(() => parseFlags(['--samples'], spec), /--samples needs a value/);
  assert.throws(() => parseFlags(['--quick=1'], spec), /--quick takes no value/);
  assert.throws(() => parseFlags(['quick'], spec), /expected --name or --name=value/);
});

test('each benchmark: full defaults, --quick, and range checks', () => {
  assert.deepEqual(roundLatency.options([]), { sizes: [5, 7, 21], samples: 3, roundSec: undefined, committee: undefined });
  assert.deepEqual(roundLatency.options(['--quick', '--round-sec=15']), { sizes: [5], samples: 1, roundSec: 15, committee: undefined });
  assert.equal(roundLatency.settingsFor(5, undefined).roundSec, 20);
  assert.equal(roundLatency.settingsFor(21, undefined).pingIntervalMs, 3000);
  assert.throws(() => roundLatency.options(['--n=31']), /--n: 31 is outside 3\.\.30/);
  assert.throws(() => roundLatency.options(['--round-sec=7']), /--round-sec must divide 60/);

  assert.deepEqual(idle.options([]), { n: 21, windowSec: 30, pingMs: 3000 });
  assert.deepEqual(idle.options(['--quick']), { n: 5, windowSec: 10, pingMs: 3000 });
  assert.throws(() => idle.options(['--ping-ms=50']), /--ping-ms must be >= 100/);

  assert.deepEqual(replication.options([]), { n: 7, records: 300, limit: undefined });
  assert.deepEqual(replication.options(['--quick', '--limit=50']), { n: 4, records: 50, limit: 50 });
  assert.throws(() => replication.options(['--records=1001']), /at most 1000/);
  assert.throws(() => replication.options(['--limit=101']), /at most 100/);

  assert.deepEqual(bigTx.options([]), { n: 7, inputs: 100, roundSec: 30 });
  assert.deepEqual(bigTx.options(['--quick']), { n: 4, inputs: 20, roundSec: 30 });
  assert.throws(() => bigTx.options(['--inputs=501']), /at most 500/);
});
