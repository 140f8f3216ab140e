// A node:test reporter used by scripts/run-tests.mjs beside the spec reporter. It writes
//   - one line per test file: "file\t<seconds>\t<pass|fail>\t<path>", the seconds being the sum
//     of the file's top-level test durations as its own process measured them (a file's
//     before/after hooks count toward its first/last test), so slow files show even when two
//     files run at once;
//   - the run's closing counts as node prints them ("# tests N", "# pass N", ...).
const COUNTS = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [\d.]+$/;

export default async function* fileTimes(source) {
  const files = new Map();
  for await (const ev of source) {
    const d = ev.data;
    if (ev.type === 'test:diagnostic' && d.nesting === 0 && COUNTS.test(d.message)) {
      yield `# ${d.message}\n`;
      continue;
    }
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    if (d.nesting !== 0 || !d.file) continue;
    const f = files.get(d.file) ?? { ms: 0, failed: false };
    // A file that fails as a whole (its process timed out or crashed) is reported as one more
    // top-level test named after the file: its duration is the file's.
    if (d.name === d.file) f.whole = d.details?.duration_ms ?? 0;
    else f.ms += d.details?.duration_ms ?? 0;
    if (ev.type === 'test:fail') f.failed = true;
    files.set(d.file, f);
  }
  for (const [file, f] of files) yield `file\t${((f.whole ?? f.ms) / 1000).toFixed(1)}\t${f.failed ? 'fail' : 'pass'}\t${file}\n`;
}
