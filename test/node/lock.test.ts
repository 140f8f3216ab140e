// The data-directory lock: one holder at a time, the refusal names the holder's PID, and the lock
// dies with its process (kill -9 leaves no stale lock behind).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from '../../src/node/lock.js';
import { isMetanodeError } from '../../src/util/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'metanode-lock-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('second start on a locked data dir is refused, naming the PID; released, it can be taken again', () => {
  const dir = join(tmp, 'a');
  const first = lockDataDir(dir, 4242);
  assert.throws(
    () => lockDataDir(dir),
    (e) => isMetanodeError(e, 'DATADIR_LOCKED') && e.message.includes('(PID 4242)') && (e.detail as { pid: number }).pid === 4242,
  );
  first.release();
  lockDataDir(dir).release();
});

test('a holder killed with SIGKILL leaves no stale lock', { timeout: 30_000 }, async () => {
  const dir = join(tmp, 'b');
  const src = `import { lockDataDir } from ${JSON.stringify(new URL('../../src/node/lock.ts', import.meta.url).href)}; lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
      child.once('exit', (c) => reject(new Error(`child exited ${c}`)));
    });
    assert.throws(() => lockDataDir(dir), (e) => isMetanodeError(e, 'DATADIR_LOCKED') && e.message.includes(`(PID ${child.pid})`));
  } finally {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }
  lockDataDir(dir).release();
});
