// `metanode` command line. Parsing and printing only: each command calls an exported handler
// (src/cli/commands/*) that returns plain data, printed as a table or, with --json, as JSON.
// Read commands ask the running node's HTTP API, or read a stopped node's data directory.
import { readApiToken } from '../api/auth.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig, parseConfig, ConfigError, type CliOverrides } from '../config/load.js';
import { NETWORKS, type Config, type Network } from '../config/schema.js';
import { inspectKeystore, type PassphrasePrompt } from '../keystore/index.js';
import { dbPathOf } from '../node/datadir.js';
import { errorMessage, isMetanodeError } from '../util/errors.js';
import { versionLine } from '../util/version.js';
import { createApiClient, type ApiClient } from './client.js';
import { EXIT_CONFIG, EXIT_ERROR, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { unblockCommand, renderUnblock } from './commands/unblock.js';
import { backupCommand, changePassphraseCommand, restoreCommand } from './commands/lifecycle.js';
import { configCheck, redactedConfig, renderConfigCheck, renderConfigShow } from './commands/config.js';
import { render, toJsonText, type View } from './print.js';
import { dataDirClient, fallbackClient } from './source.js';
import { terminalPrompt } from './prompt.js';
import { helpExamples } from './help.js';
import { initCommand, renderInit, writeConfigSkeleton } from './commands/init.js';
import { startCommand } from './commands/start.js';
import { statusCommand, statusView } from './commands/status.js';
import { peersCommand, peersView } from './commands/peers.js';
import { roundCommand, roundsCommand, roundsView, renderRound } from './commands/rounds.js';
import { depositsCommand, depositsView, transfersCommand, transfersView } from './commands/transfers.js';
import { epochsCommand, epochsView } from './commands/epochs.js';
import { renderRewards, rewardsCommand } from './commands/rewards.js';
import { requestCommand, requestView, parseAmount } from './commands/request.js';
import { stakeCommand, renderStake } from './commands/stake.js';
import { keysCommand, localKeys, renderKeys, NO_KEYS } from './commands/keys.js';
import { verifyEpochCommand, renderVerifyEpoch } from './commands/verify-epoch.js';
import { devnetCommand, renderDevnetSummary } from './commands/devnet.js';
import { devchainCommand } from './commands/devchain.js';

export const DEFAULT_API = 'http://127.0.0.1:9180';
export const DEFAULT_CONFIG = 'config/metanode.yaml';
/** The config file `init` writes into a data directory, and the one found there later. */
export const DATADIR_CONFIG = 'metanode.yaml';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Passphrase prompt; absent when there is no terminal (services, scripts, tests). */
  prompt?: PassphrasePrompt;
}

export interface GlobalOpts {
  config?: string;
  dataDir?: string;
  passphraseFile?: string;
  api?: string;
  offline?: boolean;
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
const network = (v: string): Network => {
  if (!(NETWORKS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${NETWORKS.join('|')}`);
  return v as Network;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * Config file to use: --config, else $METANODE_CONFIG, else <data dir>/metanode.yaml when
 * --data-dir names a directory holding one, else config/metanode.yaml if present.
 */
export function configPath(opt: string | undefined, io: Pick<CliIo, 'env' | 'cwd'>, dataDir?: string): string | undefined {
  if (opt) return opt;
  if (io.env.METANODE_CONFIG) return io.env.METANODE_CONFIG;
  if (dataDir && existsSync(resolve(io.cwd, dataDir, DATADIR_CONFIG))) return join(dataDir, DATADIR_CONFIG);
  return existsSync(resolve(io.cwd, DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined;
}

export interface DevnetFlags {
  nodes?: number;
  duration?: number;
  dataDir?: string;
  resume?: boolean;
  untilPaid?: number;
  basePort?: number;
  blockIntervalMs?: number;
  chain?: 'esplora' | 'bitcoind';
}

/**
 * The devnet's options from its flags. `--data-dir` is also a program-wide option, and commander
 * gives it to the program when it comes after `devnet` too, so both places are read.
 */
export function devnetOptions(o: DevnetFlags, g: Pick<GlobalOpts, 'dataDir' | 'config'>) {
  return {
    nodes: o.nodes,
    durationSec: o.duration,
    dataDir: o.dataDir ?? g.dataDir,
    fresh: o.resume ? false : undefined,
    untilPaid: o.untilPaid,
    basePort: o.basePort,
    blockIntervalMs: o.blockIntervalMs,
    chain: o.chain,
    config: g.config,
  };
}

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('metanode');
  program
    .description('Threshold-signing custody node: staked operators co-sign Taproot transactions with FROST')
    .version(versionLine())
    .option('-c, --config <path>', `config file (YAML or JSON); default $METANODE_CONFIG, else <data dir>/${DATADIR_CONFIG}, else ${DEFAULT_CONFIG}`)
    .option('-d, --data-dir <path>', "the node's data directory (overrides dataDir in the config)")
    .option('--passphrase-file <path>', 'keystore passphrase file, mode 0600 (overrides keystore.passphraseFile)')
    .option('--api <url>', `node HTTP API for read commands; default $METANODE_API, else from the config's http section, else ${DEFAULT_API}`)
    .option('--offline', "read the data directory directly, without asking the node's API")
    .option('--json', 'print JSON instead of a table')
    .addOption(new Option('--timeout <ms>', 'HTTP timeout for API calls').default(10_000).argParser(positiveInt('--timeout', 600_000)))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      // One line: commander's own message plus where to look.
      outputError: (s, write) => write(`${s.trimEnd()} (see --help)\n`),
    });
  helpExamples(program);

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOpts;
  const overrides = (g: GlobalOpts): CliOverrides => ({
    ...(g.dataDir !== undefined ? { dataDir: g.dataDir } : {}),
    ...(g.passphraseFile !== undefined ? { passphraseFile: g.passphraseFile } : {}),
  });
  const config = (g: GlobalOpts): Config => loadConfig(configPath(g.config, io, g.dataDir), io.env, { cwd: io.cwd, overrides: overrides(g) });
  // Read commands need only dataDir, keystore and http: without any config file the defaults
  // (plus environment and flags) do, and the chain section is never used.
  const readConfig = (g: GlobalOpts): Config => {
    const p = configPath(g.config, io, g.dataDir);
    if (p) return config(g);
    return parseConfig({ chain: { esploraUrl: 'http://127.0.0.1:3002' } }, io.env, { cwd: io.cwd, source: null, overrides: overrides(g) });
  };
  const apiUrl = (g: GlobalOpts, c: Config | null): string => {
    const url = g.api ?? io.env.METANODE_API;
    if (url) return url;
    if (!c) return DEFAULT_API;
    return `http://${c.http.host.includes(':') ? `[${c.http.host}]` : c.http.host}:${c.http.port}`;
  };
  /** The data source of read commands: --offline, --api / $METANODE_API, or the API with the data directory as fallback. */
  const source = (g: GlobalOpts): ApiClient & { close?(): void } => {
    if (g.offline) return dataDirClient(readConfig(g));
    if (g.api ?? io.env.METANODE_API) return createApiClient(apiUrl(g, null), { timeoutMs: g.timeout });
    const c = readConfig(g);
    return fallbackClient(createApiClient(apiUrl(g, c), { timeoutMs: g.timeout }), c, (why) => io.stderr(`note: ${why}\n`), ownPeerId(c));
  };
  /** API only (writes, and commands that talk to a running node); the bearer token from the node's data directory when there is one. */
  const client = (g: GlobalOpts): ApiClient => {
    const url = g.api ?? io.env.METANODE_API;
    const c = configPath(g.config, io, g.dataDir) ? config(g) : null;
    const token = c ? readApiToken(c.dataDir) : undefined;
    return createApiClient(url ?? apiUrl(g, c), { timeoutMs: g.timeout, ...(token ? { token } : {}) });
  };
  const read = async <T>(g: GlobalOpts, f: (c: ApiClient) => Promise<T>): Promise<T> => {
    const s = source(g);
    try {
      return await f(s);
    } finally {
      s.close?.();
    }
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
  const cmd = (name: string, description: string) => helpExamples(program.command(name).description(description).copyInheritedSettings(program));

  cmd('init', 'create the data directory, a config file if there is none, and the encrypted keystore with the identity key')
    .addOption(new Option('--network <network>', 'network for a new config file').argParser(network).default('regtest'))
    .action(async (o: { network: Network }, c: Command) => {
      const g = globals(c);
      const explicit = configPath(g.config, io, g.dataDir);
      const dataDir = resolve(io.cwd, g.dataDir ?? 'data');
      const configFile = resolve(io.cwd, explicit ?? join(dataDir, DATADIR_CONFIG));
      const configCreated = writeConfigSkeleton({
        configFile,
        network: o.network,
        dataDir,
        ...(g.passphraseFile ? { passphraseFile: resolve(io.cwd, g.passphraseFile) } : {}),
      });
      const cfg = loadConfig(configFile, io.env, { cwd: io.cwd, overrides: overrides(g) });
      print(g, await initCommand(cfg, io.env, { prompt: io.prompt, configFile, configCreated }), renderInit);
    });

  cmd('start', 'run the node in the foreground until SIGINT/SIGTERM (systemd runs this)').action(async (_o, c: Command) => {
    setExit(await startCommand(config(globals(c)), { env: io.env, prompt: io.prompt }));
  });

  cmd('status', "the node's status (a stopped node's from its data directory; exit 1 when it is not running)").action(async (_o, c: Command) => {
    const g = globals(c);
    const s = await read(g, statusCommand);
    print(g, s, view(statusView));
    if (!s.running) setExit(EXIT_ERROR);
  });

  const peers = cmd('peers', 'every known peer: state, seniority, last ping, stake and its verdict').action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await read(g, peersCommand), list(peersView));
  });
  helpExamples(
    peers
      .command('unblock')
      .description("take a peer off this node's local blocklist (a running node through its API, a stopped one in its data directory)")
      .argument('<peer>', 'peer id (from `metanode peers`)')
      .copyInheritedSettings(program)
      .action(async (peer: string, _o, c: Command) => {
        const g = globals(c);
        print(g, await unblockCommand(readConfig(g), peer, () => client(g)), renderUnblock);
      }),
  );

  const configCmd = cmd('config', 'check or show the effective config (file, environment and flags; secrets redacted)');
  helpExamples(
    configCmd
      .command('check')
      .description('validate the config and the keystore it points to; exit 78 when unusable')
      .copyInheritedSettings(program)
      .action(async (_o, c: Command) => {
        const g = globals(c);
        const file = configPath(g.config, io, g.dataDir);
        const r = configCheck(config(g), file ? resolve(io.cwd, file) : null);
        print(g, r, renderConfigCheck);
        if (!r.ok) setExit(EXIT_CONFIG);
      }),
  );
  helpExamples(
    configCmd
      .command('show')
      .description('print the effective config, defaults filled in, secrets redacted')
      .copyInheritedSettings(program)
      .action(async (_o, c: Command) => {
        const g = globals(c);
        print(g, redactedConfig(config(g)), renderConfigShow);
      }),
  );

  cmd('rounds', 'recent custody rounds, newest first')
    .option('-n, --limit <n>', 'how many (default 50)', positiveInt('--limit', 1000))
    .option('--before <roundId>', 'only rounds before this id (paging)', positiveInt('--before'))
    .action(async (o: { limit?: number; before?: number }, c: Command) => {
      const g = globals(c);
      print(g, await read(g, (s) => roundsCommand(s, o)), list(roundsView));
    });

  cmd('round', 'the whole timeline of one round on this node: phases, peers, threshold set, culprits, txid')
    .argument('<id>', 'round id (from `metanode rounds`)')
    .action(async (id: string, _o, c: Command) => {
      const g = globals(c);
      print(g, await read(g, (s) => roundCommand(s, id)), renderRound);
    });

  const stateList = <R>(name: string, desc: string, handler: (c: ApiClient, o: { limit?: number; state?: string }) => Promise<R[]>, v: View<R>) =>
    cmd(name, desc)
      .option('-n, --limit <n>', 'how many (default 50)', positiveInt('--limit', 1000))
      .option('--state <state>', 'only this state (e.g. pending, paid, confirmed)')
      .action(async (o: { limit?: number; state?: string }, c: Command) => {
        const g = globals(c);
        print(g, await read(g, (s) => handler(s, o)), list(v));
      });
  stateList('deposits', 'deposits seen at transfer-request deposit addresses and the vault', depositsCommand, depositsView);
  stateList('transfers', 'transfer requests and how far each got', transfersCommand, transfersView);

  cmd('rewards', 'the reward ledger: accrued, paid and balance per peer (from the running node)').action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await read(g, rewardsCommand), renderRewards);
  });

  cmd('epochs', 'the signed public records of every vault key').action(async (_o, c: Command) => {
    const g = globals(c);
    print(g, await read(g, epochsCommand), list(epochsView));
  });

  cmd('request', 'submit a transfer request to the running node; prints the deposit address')
    .requiredOption('--amount <amount>', 'sats (150000) or bitcoin (0.0015btc)')
    .requiredOption('--payout <address>', 'where the federation pays the amount (minus the transfer fee)')
    .requiredOption('--refund <address>', 'where a late or unmatched deposit is returned')
    .option('--expiry <when>', 'deadline for the deposit: 24h, 3d, unix seconds or ISO date', '24h')
    .action(async (o: { amount: string; payout: string; refund: string; expiry: string }, c: Command) => {
      const g = globals(c);
      print(g, await requestCommand(client(g), o), view(requestView));
    });

  cmd('stake', "this node's stake, its validity, and how to create one")
    .option('--reward <address>', 'reward address to commit to; prints the steps to create the stake')
    .option('--stake-address <address>', 'your address that will hold the stake output')
    .option('--amount <amount>', 'stake amount (default stake.minSats)')
    .option('--check', 'verify the configured stake against the chain source directly')
    .action(async (o: { reward?: string; stakeAddress?: string; amount?: string; check?: boolean }, c: Command) => {
      const g = globals(c);
      const cfg = config(g);
      const api = o.check || g.offline ? undefined : tryClient(() => client(g));
      const r = await stakeCommand(
        cfg,
        { reward: o.reward, stakeAddress: o.stakeAddress, check: o.check, ...(o.amount ? { amountSats: parseAmount(o.amount) } : {}) },
        { client: api },
      );
      print(g, r, renderStake);
      // --check answers a question: exit 1 unless the stake is valid.
      if (o.check && r.status?.valid !== true) setExit(EXIT_ERROR);
    });

  cmd('backup', "one 0600 archive of the node: an online SQLite backup and the keystore files (still sealed by the passphrase)")
    .argument('<file>', 'archive to write (never overwritten)')
    .action(async (file: string, _o, c: Command) => {
      const g = globals(c);
      print(g, await backupCommand(readConfig(g), resolve(io.cwd, file)), (r) => `backup of ${r.peerId} written to ${r.file} (database ${r.dbBytes} bytes, keys: ${r.keyFiles.join(', ')})`);
    });

  cmd('restore', 'restore a backup archive into a data directory that holds no node yet (the node stopped)')
    .argument('<file>', 'archive written by `metanode backup`')
    .action(async (file: string, _o, c: Command) => {
      const g = globals(c);
      print(g, restoreCommand(readConfig(g), resolve(io.cwd, file)), (r) => `restored ${r.peerId} into ${r.dataDir} (keys in ${r.keystoreDir}: ${r.keyFiles.join(', ')})`);
    });

  const keysCmd = cmd('keys', 'public key material of the vault key in force: group key, internal key, vault address, threshold, committee').action(
    async (_o, c: Command) => {
      const g = globals(c);
      const cfg = readConfig(g);
      let keys;
      try {
        keys = await read(g, keysCommand);
      } catch (e) {
        // Right after `init` there is no node data yet: no key is an answer, not an error.
        const auto = !g.api && !io.env.METANODE_API;
        if (!auto || !isMetanodeError(e) || !['NODE_UNREACHABLE', 'NODE_ERROR'].includes(e.code) || existsSync(dbPathOf(cfg))) throw e;
        keys = { ...NO_KEYS, committee: [] };
      }
      print(g, keys, (k) => renderKeys(k, localKeys(cfg)));
    },
  );
  helpExamples(
    keysCmd
      .command('change-passphrase')
      .description('re-seal every key file under a new passphrase (the node stopped)')
      .option('--new-passphrase-file <path>', 'file holding the new passphrase (mode 0600); default: asked twice on the terminal')
      .copyInheritedSettings(program)
      .action(async (o: { newPassphraseFile?: string }, c: Command) => {
        const g = globals(c);
        const r = await changePassphraseCommand(config(g), io.env, { newPassphraseFile: o.newPassphraseFile && resolve(io.cwd, o.newPassphraseFile), prompt: io.prompt });
        print(g, r, (x) => `re-sealed ${x.resealed.length} key file(s) in ${x.keystoreDir}\n${x.note}`);
      }),
  );

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
    .addOption(
      new Option('--chain <source>', "how the nodes read the devchain: esplora (its Esplora REST API) or bitcoind (its Bitcoin Core JSON-RPC, each node through a watch-only wallet of its own)")
        .choices(['esplora', 'bitcoind'])
        .default('esplora'),
    )
    .action(async (o: DevnetFlags, c: Command) => {
      const g = globals(c);
      // With --json stdout carries exactly the summary object; the live view goes to stderr.
      const live = g.json ? io.stderr : io.stdout;
      const summary = await devnetCommand({ ...devnetOptions(o, g), out: (line) => live(line + '\n') });
      io.stdout((g.json ? toJsonText(summary) : await renderDevnetSummary(summary)) + '\n');
    });

  cmd('devchain', 'run the regtest simulator alone (Esplora API and Bitcoin Core JSON-RPC on loopback)')
    .option('--port <port>', 'port to listen on', port, 3002)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <path>', 'persist the chain here (default in memory)')
    .option('--block-interval-ms <ms>', 'mine a block this often', positiveInt('--block-interval-ms'))
    .action(async (o: { port: number; host: string; dataDir?: string; blockIntervalMs?: number }, c: Command) => {
      // The global --data-dir takes the flag wherever it stands; here it names the chain's directory.
      await devchainCommand({ ...o, dataDir: o.dataDir ?? globals(c).dataDir });
    });

  return program;
}

/** The data directory's own peer id (from the keystore's public metadata); null when unreadable. */
function ownPeerId(c: Config): string | null {
  try {
    return inspectKeystore(c.keystore.dir).peerId;
  } catch {
    return null;
  }
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
      if (wantsJson(argv)) io.stdout(toJsonText({ error: { code: 'USAGE', message: oneLine(e.message.replace(/^error: /, '')), exitCode: EXIT_USAGE } }) + '\n');
      return EXIT_USAGE;
    }
    const code = exitCodeFor(e);
    if (wantsJson(argv)) {
      // Under --json stdout carries JSON whatever happens: the error, its code and the exit code.
      const err =
        e instanceof ConfigError
          ? { code: 'INVALID_CONFIG', message: e.issues.join('; '), issues: e.issues }
          : isMetanodeError(e)
            ? { code: e.code, message: oneLine(e.reason), ...(e.culprits.length ? { culprits: e.culprits } : {}) }
            : { code: 'ERROR', message: oneLine(errorMessage(e)) };
      io.stdout(toJsonText({ error: { ...err, exitCode: code } }) + '\n');
    }
    if (e instanceof ConfigError) io.stderr(e.issues.join('\n') + '\n');
    else io.stderr(`error: ${oneLine(isMetanodeError(e) ? e.message : errorMessage(e))}\n`);
    return code;
  }
}

/** --json among the options (before a `--` that ends them). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Errors print on one line (a multi-line cause would hide the exit reason in logs). */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

export function processIo(): CliIo {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
    prompt: terminalPrompt(),
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
