#!/usr/bin/env node
// Finds every test file under test/ and runs them with node's test runner through tsx.
// Node 20's --test does not expand globs itself, hence this small walker.
//
// Two passes: files that start whole federations (test/e2e, the process federation, devnet and
// chaos runs) go one at a time, since two of them on 2 cores starve each other's timers; all
// other files run two at a time (about 40 s less on 2 cores). Each pass prints node's own spec
// report; then the seconds each file took (scripts/file-times-reporter.mjs), slowest first; the
// closing lines add both passes up, so the last thing printed is the suite's count.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const HEAVY = [/^test\/e2e\//, /^test\/chaos\/(chaos|epoch-attacks)\.test\.ts$/, /^test\/devnet\/(devnet|devnet-bitcoind|federation)\.test\.ts$/];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = walk('test');
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const heavy = files.filter((f) => HEAVY.some((re) => re.test(f.split('\\').join('/'))));
const light = files.filter((f) => !heavy.includes(f));

const tmp = mkdtempSync(join(tmpdir(), 'metanode-tests-'));
const KEYS = ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
const total = Object.fromEntries(KEYS.map((k) => [k, 0]));
const passes = [];
/** { seconds, status, file } per test file, from the file-times reporter of each pass. */
const fileTimes = [];
const timesReporter = fileURLToPath(new URL('./file-times-reporter.mjs', import.meta.url));
let failed = false;

function runPass(name, list, concurrency, timeoutMs) {
  if (list.length === 0) return;
  const report = join(tmp, `${name}.report`);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      `--test-reporter=${timesReporter}`, `--test-reporter-destination=${report}`,
      ...list,
    ],
    { stdio: 'inherit' },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  let text = '';
  try {
    text = readFileSync(report, 'utf8');
  } catch {
    // the runner died before writing its report: counted as a failure below
  }
  for (const line of text.split('\n').filter((l) => l.startsWith('file\t'))) {
    const [, sec, status, file] = line.split('\t');
    fileTimes.push({ seconds: Number(sec), status, file: relative(process.cwd(), file) });
  }
  for (const f of list) {
    if (!fileTimes.some((t) => t.file === relative(process.cwd(), f))) fileTimes.push({ seconds: NaN, status: 'no report', file: f });
  }
  const counts = {};
  for (const k of KEYS) {
    const m = [...text.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))].pop();
    counts[k] = m ? Number(m[1]) : 0;
    total[k] += counts[k];
  }
  if (r.status !== 0 || counts.fail > 0 || !/^# tests \d+$/m.test(text)) failed = true;
  passes.push(`${name}: ${list.length} files, ${counts.tests} tests, ${counts.pass} pass, ${counts.fail} fail, ${seconds} s`);
}

// node 20 applies --test-timeout to each file as a whole as well as to each test: a federation
// file waits for rounds on a busy machine and bounds its own tests, so it gets 15 min. A unit
// file gets 10 min: the request-upkeep file (10,000 signed requests, several times) takes 85 s
// beside a CPU hog and went past 4 min at load 8.
runPass('unit and single-node files (2 at a time)', light, 2, 600_000);
runPass('multi-node files (one at a time)', heavy, 1, 900_000);
rmSync(tmp, { recursive: true, force: true });

console.log('\n── seconds per test file (slowest first) ──');
fileTimes.sort((a, b) => (Number.isNaN(b.seconds) ? Infinity : b.seconds) - (Number.isNaN(a.seconds) ? Infinity : a.seconds));
for (const t of fileTimes) console.log(`${Number.isNaN(t.seconds) ? '     ?' : t.seconds.toFixed(1).padStart(6)} s  ${t.status === 'pass' ? '' : `[${t.status}] `}${t.file}`);
console.log('\n── whole suite ──');
for (const p of passes) console.log(`ℹ ${p}`);
for (const k of KEYS) console.log(`ℹ ${k} ${total[k]}`);
process.exit(failed ? 1 : 0);
