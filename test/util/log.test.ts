import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, redactSecrets, CENSOR } from '../../src/util/log.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(c.toString());
      cb();
    },
  });
  return { lines, stream };
}

test('secret-named fields are redacted at any depth, in arrays, without touching the caller objects', () => {
  const share = { epoch: 2, identifier: 'aa', signingShare: 'ff'.repeat(32) };
  const input = { a: { b: { c: { passphrase: 'p' } } }, list: [{ privateKey: 'k' }, 3], share, Password: 'x', ok: 'visible', buf: new Uint8Array([1]) };
  const out = redactSecrets(input) as any;
  assert.equal(out.a.b.c.passphrase, CENSOR);
  assert.equal(out.list[0].privateKey, CENSOR);
  assert.equal(out.share, CENSOR);
  assert.equal(out.Password, CENSOR);
  assert.equal(out.ok, 'visible');
  assert.equal(out.buf, input.buf);
  assert.equal(share.signingShare, 'ff'.repeat(32));
  const loop: any = { x: 1 };
  loop.self = loop;
  assert.deepEqual(redactSecrets(loop), { x: 1, self: '[circular]' });
});

test('the logger writes JSON lines with the level from its options and redacts before writing', () => {
  const { lines, stream } = capture();
  const log = createLogger({ level: 'info', destination: stream });
  log.debug({ secret: 'never' }, 'dropped');
  log.info({ round: 7, nested: { deeper: { signingShare: 'ab'.repeat(32), nonces: ['n'] } } }, 'hello');
  log.child({ module: 'x' }).warn({ chain: { bitcoind: { password: 'rpc' } } }, 'child');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.msg, 'hello');
  assert.equal(first.level, 30);
  assert.deepEqual(first.nested, { deeper: { signingShare: CENSOR, nonces: CENSOR } });
  assert.equal(JSON.parse(lines[1]!).chain.bitcoind.password, CENSOR);
  assert.ok(!lines.join('').includes('rpc"'));
});

test('by default it logs to stdout (journald picks it up), nothing to stderr', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', "const { createLogger } = await import('./src/util/log.ts'); createLogger({ level: 'info' }).info({ passphrase: 'pw-123456' }, 'to stdout');"],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const line = JSON.parse(r.stdout.trim());
  assert.equal(line.msg, 'to stdout');
  assert.equal(line.passphrase, CENSOR);
});

// Static guard: no log call in the sources passes a secret-holding variable or interpolates one.
test('no log call in src/ names a passphrase, share, nonce or private key', () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk('src');
  const offending: string[] = [];
  let calls = 0;
  const call = /\blog(?:ger)?(?:\.child\([^)]*\))?\.(?:trace|debug|info|warn|error|fatal)\(([^;]*)/g;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(call)) {
      calls++;
      if (/\b(passphrase|signingShare|privateKey|nonces?|secretKey|password)\b/.test(m[1]!)) offending.push(`${f}: ${m[0].slice(0, 120)}`);
    }
  }
  assert.ok(calls > 30, `the scan found only ${calls} log calls`);
  assert.deepEqual(offending, []);
});
