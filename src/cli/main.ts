// `metanode` command line. Parsing and printing only: each command calls an exported handler
// (src/cli/commands/*) that returns plain data, printed as a table or, with --json, as JSON.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { errorMessage, isMetanodeError } from '../util/errors.js';
import { createApiClient, type ApiClient } from './client.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { render, toJsonText, type View } from './print.js';
import { initCommand, renderInit } from './commands/init.js';
import { startCommand } from './commands/start.js';
import { statusCommand, statusView } from './commands/status.js';
import { peersCommand, peersView } from './commands/peers.js';
import { roundCommand, roundsCommand, roundsView, renderTimeline } from './commands/rounds.js';
import { depositsCommand, depositsView, transfersCommand, transfersView } from './commands/transfers.js';
import { epochsCommand, epochsView } from './commands/epochs.js';
import { requestCommand, requestView, parseAmount } from './commands/request.js';
import { stakeCommand, renderStake } from './commands/stake.js';
import { keysCommand, renderKeys } from './commands/keys.js';
import { verifyEpochCommand, renderVerifyEpoch } from './commands/verify-epoch.js';
import { devnetCommand, renderDevnetSummary } from './commands/devnet.js';
import { devchainCommand } from './commands/devchain.js';

export const DEFAULT_API = 'http://127.0.0.1:9180';
export const DEFAULT_CONFIG = 'config/metanode.yaml';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
}

interface GlobalOpts {
  config?: string;
  api?: string;
  json?: boolean;
  timeout: number;
}

const positiveInt = (name: string, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new InvalidArgumentError(`${name} must be a whole number between 1 and ${max}`);
  return Number(v);
};
const port = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be a port number 0..65535');
  return Number(v);
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Config file to use: --config, else $METANODE_CONFIG, else config/metanode.yaml if present. */
export function configPath(opt: string | undefined, io: Pick<CliIo, 'env' | 'cwd'>): string | undefined {
  if (opt) return opt;
  if (io.env.METANODE_CONFIG) return io.env.METANODE_CONFIG;
  return existsSync(resolve(io.cwd, DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined;
}

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('metanode');
  program
    .description('Threshold-signing custody node: staked operators co-sign Taproot transactions with FROST')
    .version('0.1.0')
    .option('-c, --config <path>', `config file (YAML or JSON); default $METANODE_CONFIG or ${DEFAULT_CONFIG}`)
    .option('--api <url>', `node HTTP API for read commands; default $METANODE_API, else from the config's http section, else ${DEFAULT_API}`)
    .option('--json', 'print JSON instead of a table')
    .addOption(new Option('--timeout <ms>', 'HTTP timeout for API calls').default(10_000).argParser(positiveInt('--timeout', 600_000)))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOpts;
  const config = (g: GlobalOpts): Config => loadConfig(configPath(g.config, io), io.env, { cwd: io.cwd });
  const client = (g: GlobalOpts): ApiClient => {
    let url = g.api ?? io.env.METANODE_API;
    if (!url) {
      const p = configPath(g.config, io);
      if (p) {
        const c = config(g);
        url = `http://${c.http.host.includes(':') ? `[${c.http.host}]` : c.http.host}:${c.http.port}`;
      } else url = DEFAULT_API;
    }
    return createApiClient(url, { timeoutMs: g.timeout });
  };
  const print = <T>(g: GlobalOpts, data: T, table: (d: T) => string) => io.stdout((g.json ? toJsonText(data) : table(data)) + '\n');
  const list =
    <R>(v: View<R>) =>
    (d: R[]) =>
      render(d, { view: v });
  const view =
    <T>(v: View<T>) =>
    (d: T) =>
      render(d, { view: v });

  // Subcommands inherit exitOverride/output settings from the program.
  const cmd = (name: string, description: string) => program.command(name).description(description).copyInheritedSettings(program);

  cmd('init', 'create the identity key in the encrypted keystore and print the peer id').action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await initCommand(config(g), io.env), renderInit);
  });

  cmd('start', 'run the node (until SIGINT/SIGTERM)').action(async (_o, c: Command) => {
    setExit(await startCommand(config(globals(c))));
  });

  cmd('status', "the node's status").action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await statusCommand(client(g)), view(statusView));
  });

  cmd('peers', 'the peer table').action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await peersCommand(client(g)), list(peersView));
  });

  cmd('rounds', 'recent custody rounds')
    .option('-n, --limit <n>', 'how many', positiveInt('--limit', 1000))
    .option('--before <roundId>', 'only rounds before this id', positiveInt('--before'))
    .action(async (o: { limit?: number; before?: number }, c: Command) => {
      const g = globals(c);
      print(g, await roundsCommand(client(g), o), list(roundsView));
    });

  cmd('round', 'every step of one custody round')
    .argument('<id>', 'round id')
    .action(async (id: string, _o, c: Command) => {
      const g = globals(c);
      print(g, await roundCommand(client(g), id), renderTimeline);
    });

  for (const [name, desc, handler, v] of [
    ['deposits', 'deposits at transfer-request addresses', depositsCommand, depositsView],
    ['transfers', 'transfer requests and their state', transfersCommand, transfersView],
  ] as const) {
    cmd(name, desc)
      .option('-n, --limit <n>', 'how many', positiveInt('--limit', 1000))
      .option('--state <state>', 'only this state (e.g. pending, paid)')
      .action(async (o: { limit?: number; state?: string }, c: Command) => {
        const g = globals(c);
        const data = await handler(client(g), o);
        print(g, data, (d) => render(d, { view: v }));
      });
  }

  cmd('epochs', 'public records of the vault keys').action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await epochsCommand(client(g)), list(epochsView));
  });

  cmd('request', 'submit a transfer request; prints the deposit address')
    .requiredOption('--amount <amount>', 'sats (150000) or bitcoin (0.0015btc)')
    .requiredOption('--payout <address>', 'where the federation pays the amount (minus the transfer fee)')
    .requiredOption('--refund <address>', 'where a late or unmatched deposit is returned')
    .option('--expiry <when>', 'deadline for the deposit: 24h, 3d, unix seconds or ISO date', '24h')
    .action(async (o: { amount: string; payout: string; refund: string; expiry: string }, c: Command) => {
      const g = globals(c);
      print(g, await requestCommand(client(g), o), view(requestView));
    });

  cmd('stake', 'this node\'s stake, its validity, and how to create one')
    .option('--reward <address>', 'reward address to commit to; prints the steps to create the stake')
    .option('--stake-address <address>', 'your address that will hold the stake output')
    .option('--amount <amount>', 'stake amount (default stake.minSats)')
    .option('--check', 'verify the configured stake against the chain source directly')
    .action(async (o: { reward?: string; stakeAddress?: string; amount?: string; check?: boolean }, c: Command) => {
      const g = globals(c);
      const cfg = config(g);
      const api = o.check ? undefined : tryClient(() => client(g));
      const r = await stakeCommand(
        cfg,
        { reward: o.reward, stakeAddress: o.stakeAddress, check: o.check, ...(o.amount ? { amountSats: parseAmount(o.amount) } : {}) },
        { client: api },
      );
      print(g, r, renderStake);
    });

  cmd('keys', 'public key material: peer id, stored share epochs, epoch keys').action(async (_o, c: Command) => {
    const g = globals(c);
    const cfg = config(g);
    print(g, await keysCommand(cfg, tryClient(() => client(g))), (k) => renderKeys(k, (d) => render(d, {})));
  });

  cmd('verify-epoch', 'check that several nodes serve the same epoch record, signed by every committee member, with a self-consistent key')
    .requiredOption('--from <url>', 'node API URL (repeat for each node)', collect)
    .option('--epoch <n>', 'epoch to check (default: the latest)', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
      return Number(v);
    })
    .action(async (o: { from: string[]; epoch?: number }, c: Command) => {
      const g = globals(c);
      const r = await verifyEpochCommand({ from: o.from, epoch: o.epoch, timeoutMs: g.timeout });
      print(g, r, (d) => renderVerifyEpoch(d, (x, v) => render(x, { view: v })));
      if (!r.agreed) setExit(1);
    });

  cmd('devnet', 'run a local federation: devchain plus N node processes on loopback, keygen, transfers and payouts; prints a summary at the end')
    .option('--nodes <n>', 'number of nodes (3..15, default 5)', positiveInt('--nodes', 15))
    .option('--duration <sec>', 'stop after this many seconds and print the summary (default: until Ctrl-C)', positiveInt('--duration'))
    .option('--data-dir <path>', 'where the devnet keeps its state (default .devnet)')
    .option('--resume', 'keep the state in --data-dir from an earlier run (same keys, stakes and chain) instead of starting fresh')
    .option('--until-paid <n>', 'stop once this many transfers are paid', positiveInt('--until-paid'))
    .option('--base-port <port>', 'first port to use (default 47100)', port)
    .option('--block-interval-ms <ms>', 'devchain block interval (default 2000)', positiveInt('--block-interval-ms'))
    .action(async (o: { nodes?: number; duration?: number; dataDir?: string; resume?: boolean; untilPaid?: number; basePort?: number; blockIntervalMs?: number }, c: Command) => {
      const g = globals(c);
      // With --json stdout carries exactly the summary object; the live view goes to stderr.
      const live = g.json ? io.stderr : io.stdout;
      const summary = await devnetCommand({
        nodes: o.nodes,
        durationSec: o.duration,
        dataDir: o.dataDir,
        fresh: o.resume ? false : undefined,
        untilPaid: o.untilPaid,
        basePort: o.basePort,
        blockIntervalMs: o.blockIntervalMs,
        config: g.config,
        out: (line) => live(line + '\n'),
      });
      io.stdout((g.json ? toJsonText(summary) : await renderDevnetSummary(summary)) + '\n');
    });

  cmd('devchain', 'run the regtest simulator alone (Esplora API on loopback)')
    .option('--port <port>', 'port to listen on', port, 3002)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <path>', 'persist the chain here (default in memory)')
    .option('--block-interval-ms <ms>', 'mine a block this often', positiveInt('--block-interval-ms'))
    .action(async (o: { port: number; host: string; dataDir?: string; blockIntervalMs?: number }) => {
      await devchainCommand(o);
    });

  return program;
}

/** Optional API access for commands that also work offline (keys, stake). */
function tryClient(make: () => ApiClient): ApiClient | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

/** Run the CLI; resolves with the process exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      if (e.code === 'commander.executeSubCommandAsync') return e.exitCode;
      return EXIT_USAGE;
    }
    if (e instanceof ConfigError) io.stderr(e.issues.join('\n') + '\n');
    else io.stderr(`error: ${isMetanodeError(e) ? e.message : errorMessage(e)}\n`);
    return exitCodeFor(e);
  }
}

export function processIo(): CliIo {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Exit once stdout/stderr are flushed (pipes are asynchronous; process.exit would truncate). */
export async function runAndExit(argv: string[]): Promise<never> {
  const code = await main(argv);
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
  process.exit(code);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  void runAndExit(process.argv.slice(2));
}
