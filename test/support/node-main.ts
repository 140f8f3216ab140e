// The chaos harness's node process: `metanode start` with the test behaviour of
// test/support/byzantine/node.ts around the unchanged production node. Settings in
// METANODE_TEST_NODE (JSON: byzantine, floodCount, epochAttacks); the control endpoint's URL in
// <dataDir>/test-control.json. Usage (as src/devnet/proc-node.ts spawns an entry):
//   METANODE_TEST_NODE='{"floodCount":50}' node --import tsx test/support/node-main.ts start --config <file>
import { loadConfig } from '../../src/config/index.js';
import { startCommand } from '../../src/cli/commands/start.js';
import { readTestNodeSettings, startTestNode, type TestNodeSettings } from './byzantine/node.js';

const args = process.argv.slice(2);
const at = args.indexOf('--config');
if (args[0] !== 'start' || at < 0 || !args[at + 1]) {
  console.error('usage: node-main.ts start --config <file>');
  process.exit(64);
}
let settings: TestNodeSettings;
try {
  settings = readTestNodeSettings(process.env);
} catch (e) {
  console.error((e as Error).message);
  process.exit(64);
}
process.exit(await startCommand(loadConfig(args[at + 1]), { startNode: (config, opts) => startTestNode(config, settings, opts) }));
