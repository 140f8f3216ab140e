// Examples shown under each command's --help, and the program's own.
import type { Command } from 'commander';

export const EXAMPLES: Record<string, string[]> = {
  metanode: [
    'metanode init --data-dir /var/lib/metanode --network mainnet',
    'metanode --config /etc/metanode/metanode.yaml status',
    'metanode --data-dir ./node1 rounds --json | jq ".[0]"',
    'metanode round 28333334',
  ],
  init: [
    'METANODE_PASSPHRASE=... metanode init --data-dir ./node1             # regtest, writes ./node1/metanode.yaml',
    'metanode init --data-dir /var/lib/metanode --network mainnet --passphrase-file /etc/metanode/passphrase',
    'metanode --config /etc/metanode/metanode.yaml init                     # keeps an existing config and identity',
  ],
  start: ['metanode --config /etc/metanode/metanode.yaml start', 'METANODE_HTTP_PORT=9181 metanode --data-dir ./node1 start'],
  status: ['metanode status', 'metanode --data-dir /var/lib/metanode status --json   # also on a stopped node'],
  peers: ['metanode peers', 'metanode --data-dir /var/lib/metanode peers unblock 12D3KooW...   # running or stopped', 'metanode peers --json | jq -r \'.[] | select(.stake.valid | not) | .peerId\''],
  rounds: ['metanode rounds -n 20', 'metanode rounds --before 28333300 --json', "metanode rounds --json | jq '.[] | select(.outcome==\"aborted\")'"],
  round: ['metanode round 28333334', 'metanode round 28333334 --json | jq \'.events[] | select(.decision=="culprit")\''],
  deposits: ['metanode deposits', 'metanode deposits --state confirmed --json'],
  transfers: ['metanode transfers', 'metanode transfers --state paid -n 10'],
  epochs: ['metanode epochs', 'metanode epochs --json'],
  rewards: ['metanode rewards', "metanode rewards --json | jq '.peers[] | select(.due)'"],
  request: ['metanode request --amount 0.0015btc --payout bcrt1q... --refund bcrt1q... --expiry 24h'],
  stake: ['metanode stake', 'metanode stake --reward bc1q... --stake-address bc1q... --amount 0.02btc', 'metanode stake --check'],
  keys: ['metanode keys', 'metanode keys --json | jq -r .vaultAddress', 'metanode --config /etc/metanode/metanode.yaml keys change-passphrase   # node stopped'],
  backup: ['metanode --config /etc/metanode/metanode.yaml backup /root/metanode-$(date +%F).backup'],
  restore: ['metanode --data-dir /var/lib/metanode restore /root/metanode-2026-01-02.backup'],
  'verify-epoch': ['metanode verify-epoch --from http://127.0.0.1:9180 --from http://127.0.0.1:9181 --from http://127.0.0.1:9182'],
  devnet: ['metanode devnet --nodes 5 --until-paid 6', 'metanode devnet --duration 300 --json > summary.json', 'metanode devnet --resume'],
  devchain: ['metanode devchain --port 3002 --block-interval-ms 2000'],
  config: ['metanode --config /etc/metanode/metanode.yaml config check', 'metanode config show --json | jq .http'],
};

export function examplesText(name: string): string {
  const ex = EXAMPLES[name];
  return ex?.length ? `\nExamples:\n${ex.map((e) => `  $ ${e}`).join('\n')}\n` : '';
}

/** Appends the examples for `cmd`'s name to its --help. */
export function helpExamples(cmd: Command): Command {
  const text = examplesText(cmd.name());
  return text ? cmd.addHelpText('after', text) : cmd;
}
