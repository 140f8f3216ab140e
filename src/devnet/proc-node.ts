// One metanode as its own OS process (`node dist/src/cli/main.js start --config <file>` from the
// build, `node --import tsx src/cli/main.ts ...` from the sources: the way this process runs),
// for the devnet, the chaos harness and the multi-process benchmarks: spawn, wait for the HTTP
// API, stop (SIGTERM, then SIGKILL), or send a raw signal. Output goes straight to the node's log
// file (the child writes to the file descriptor itself, so a busy parent never stalls it).
import { ensureApiToken } from '../api/auth.js';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, cliArgs } from '../util/paths.js';
import { createApiClient, type ApiClient } from '../cli/client.js';

export { ROOT };

/** SIGTERM first; a node that has not exited after this long gets SIGKILL. */
export const STOP_GRACE_MS = 8_000;

export interface ProcNode extends Pick<ProcNodeSpec, 'index' | 'name' | 'dir' | 'peerId' | 'p2pPort' | 'httpPort' | 'configFile'> {
  dbFile: string;
  logFile: string;
  api: ApiClient;
  /** Pid of the node process while it exists, undefined before the first start and after it exited. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Spawns (again) the node process; resolves when /health answers (any status) or after a bounded wait. */
  start(): Promise<void>;
  /** SIGTERM (and SIGCONT, in case it is stopped), SIGKILL after 8 s; resolves when the process is gone. */
  stop(): Promise<void>;
  /** Raw signal: SIGKILL, SIGSTOP, SIGCONT ... (no-op when the process is not running). */
  kill(signal?: NodeJS.Signals): void;
}

const PORT_RETRIES = 4;
class PortInUse extends Error {}

export interface ProcNodeSpec {
  index: number;
  name: string;
  dir: string;
  peerId: string;
  p2pPort: number;
  httpPort: number;
  configFile: string;
  passphrase: string;
  env?: Record<string, string>;
  /**
   * A script run (through tsx) in place of the metanode CLI, with the same `start --config <file>`
   * arguments: a test wrapper around `metanode start` (test/support/node-main.ts).
   */
  entry?: string;
  /** How long start() waits for /health before resolving anyway. */
  startWaitMs?: number;
  out?: (line: string) => void;
}

// Children of this process still alive. If the parent exits without stopping them (an uncaught
// error, process.exit, or a SIGTERM/SIGINT/SIGHUP nobody else handles, as when a test runner
// gives up on a file), they get SIGTERM rather than outliving it. A SIGKILLed parent leaves them.
const live = new Set<ChildProcess>();
let hooksInstalled = false;
function terminateAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGTERM');
      c.kill('SIGCONT');
    } catch {
      // already gone
    }
  }
}
function onParentSignal(sig: NodeJS.Signals): void {
  // Someone else handles this signal (the devnet stops gracefully on Ctrl-C): leave it to them.
  if (process.listenerCount(sig) > 1) return;
  terminateAll();
  for (const s of PARENT_SIGNALS) process.off(s, onParentSignal);
  process.kill(process.pid, sig); // the default action, now that no handler is left
}
const PARENT_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
function track(child: ChildProcess): void {
  if (!hooksInstalled) {
    hooksInstalled = true;
    process.on('exit', terminateAll);
    for (const s of PARENT_SIGNALS) process.on(s, onParentSignal);
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

const alive = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;

export function createProcNode(spec: ProcNodeSpec): ProcNode {
  const logFile = join(spec.dir, 'node.log');
  const healthUrl = `http://127.0.0.1:${spec.httpPort}/health`;
  let child: ChildProcess | undefined;
  let stopping = false;

  async function healthAnswers(): Promise<boolean> {
    try {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer().catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  async function startOnce(): Promise<void> {
    if (alive(child)) return;
    stopping = false;
    const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
    const fd = openSync(logFile, 'a', 0o600);
    let c: ChildProcess;
    try {
      c = spawn(process.execPath, [...(spec.entry ? ['--import', 'tsx', spec.entry] : cliArgs()), 'start', '--config', spec.configFile], {
        cwd: ROOT,
        env: { ...process.env, ...spec.env, METANODE_PASSPHRASE: spec.passphrase },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    child = c;
    track(c);
    const exited = new Promise<string>((res) => c.once('exit', (code, signal) => res(String(signal ?? code))));
    void exited.then((how) => {
      if (!stopping && child === c) spec.out?.(`${spec.name}: exited (${how}); log at ${logFile}${lastErrors(logFile)}`);
    });
    const waitMs = spec.startWaitMs ?? 30_000;
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      if (!alive(c)) {
        const how = await exited;
        const said = readFileSync(logFile).subarray(logStart).toString('utf8');
        const busy = /EADDRINUSE[^\n]*?(127\.0\.0\.1:\d+)/.exec(said);
        if (busy) throw new PortInUse(`${busy[1]} is in use`);
        // The last thing the node said is usually why (a config refusal prints one line).
        const last = said.trim().split('\n').filter((l) => l.trim()).at(-1)?.slice(0, 400);
        throw new Error(`${spec.name} exited during start (${how})${last ? `: ${last}` : ''}; see ${logFile}`);
      }
      if (await healthAnswers()) {
        // A process from an earlier run may still hold this port: make sure the API is ours.
        const other = await node.api.get<{ peerId?: string }>('/v1/status').then((st) => (st.peerId && st.peerId !== spec.peerId ? st.peerId : null), () => null);
        if (other) throw new Error(`${spec.name}: http://127.0.0.1:${spec.httpPort} is served by another node (${other}); a node process from an earlier run?`);
        return;
      }
      await sleep(250);
    }
    spec.out?.(`${spec.name}: no answer on ${healthUrl} after ${waitMs} ms; going on`);
  }

  const node: ProcNode = {
    index: spec.index,
    name: spec.name,
    dir: spec.dir,
    peerId: spec.peerId,
    p2pPort: spec.p2pPort,
    httpPort: spec.httpPort,
    configFile: spec.configFile,
    dbFile: join(spec.dir, 'node.sqlite'),
    logFile,
    // The devnet makes each node's API token (the node would at start) so its client can write.
    api: createApiClient(`http://127.0.0.1:${spec.httpPort}`, { timeoutMs: 5_000, token: ensureApiToken(spec.dir).token }),
    get pid() {
      return alive(child) ? child.pid : undefined;
    },
    get running() {
      return alive(child);
    },
    async start() {
      // Our ports lie in Linux's default ephemeral range (32768-60999): an outgoing connection of
      // any process may hold one for a while, and the node then exits with EADDRINUSE. Try again
      // a few times before giving up.
      for (let attempt = 1; ; attempt++) {
        try {
          return await startOnce();
        } catch (e) {
          if (!(e instanceof PortInUse) || attempt >= PORT_RETRIES) throw e;
          spec.out?.(`${spec.name}: ${e.message}; starting again (${attempt}/${PORT_RETRIES - 1})`);
          await sleep(2_000);
        }
      }
    },
    async stop() {
      const c = child;
      if (!alive(c)) return;
      stopping = true;
      await new Promise<void>((res) => {
        const t = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
        c.once('exit', () => {
          clearTimeout(t);
          res();
        });
        c.kill('SIGTERM');
        c.kill('SIGCONT'); // a SIGSTOPped node would otherwise hold the SIGTERM until the SIGKILL
      });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!alive(child)) return;
      if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') stopping = true;
      child.kill(signal);
    },
  };
  return node;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The last errors of a node's pino log (level >= 50), for the line that reports its exit. */
function lastErrors(logFile: string, n = 3): string {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
  const errs: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) {
      if (line.trim()) errs.push(line.trim().slice(0, 300)); // stderr of a crash before the logger
      continue;
    }
    try {
      const e = JSON.parse(line) as { level?: number; msg?: string; err?: unknown; code?: unknown };
      if ((e.level ?? 0) >= 50) errs.push(`${e.msg ?? ''}${e.err ? `: ${typeof e.err === 'string' ? e.err : JSON.stringify(e.err)}` : ''}`.slice(0, 300));
    } catch {
      /* a torn last line */
    }
  }
  return errs.length ? ` (last errors: ${errs.slice(-n).join(' | ')})` : '';
}
