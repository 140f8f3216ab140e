import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, redactSecrets, CENSOR, journalLine, prettyLine, resolveLogFormat, stdoutIsJournal, syslogPriority } from '../../src/util/log.js';

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

test('journald priority from the line format: <2> fatal, <3> error, <4> warn, <6> info, <7> debug and trace', () => {
  const { lines, stream } = capture();
  const log = createLogger({ level: 'trace', format: 'journal', destination: stream });
  log.fatal('f');
  log.error({ peer: 'p' }, 'e');
  log.warn('w');
  log.info('i');
  log.debug('d');
  log.trace('t');
  assert.deepEqual(lines.map((l) => l.slice(0, 3)), ['<2>', '<3>', '<4>', '<6>', '<7>', '<7>']);
  // Behind the prefix the line is the usual JSON (journald strips the prefix), secrets redacted.
  const body = JSON.parse(lines[1]!.slice(3));
  assert.equal(body.msg, 'e');
  assert.equal(body.peer, 'p');
  lines.length = 0;
  log.warn({ passphrase: 'hunter2' }, 'x');
  assert.ok(lines[0]!.startsWith('<4>{') && !lines[0]!.includes('hunter2'));
  assert.equal(journalLine('not json'), '<6>not json');
  assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogPriority), [7, 7, 6, 4, 3, 2]);
});

test('pretty format for terminals: time, level, module, message, fields; secrets still redacted', () => {
  const { lines, stream } = capture();
  const log = createLogger({ level: 'info', format: 'pretty', destination: stream }).child({ module: 'p2p' });
  log.warn({ have: 1, need: 3, peer: 'a b', secretKey: 'zz' }, 'fewer connections');
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  \[p2p\] fewer connections have=1 need=3 peer="a b" secretKey=\[redacted\]\n$/);
  assert.equal(prettyLine('plain'), 'plain');
});

test('auto format: journal only when stdout is the stream systemd named, pretty on a terminal, else json', () => {
  const stat = () => ({ dev: 12, ino: 345 });
  assert.equal(stdoutIsJournal({ JOURNAL_STREAM: '12:345' }, stat), true);
  // A shell that inherited JOURNAL_STREAM from a service has another stdout.
  assert.equal(stdoutIsJournal({ JOURNAL_STREAM: '12:999' }, stat), false);
  assert.equal(stdoutIsJournal({}, stat), false);
  assert.equal(resolveLogFormat('auto', {}, true), 'pretty');
  assert.equal(resolveLogFormat('auto', {}, false), 'json');
  assert.equal(resolveLogFormat('journal', {}, true), 'journal');
});
