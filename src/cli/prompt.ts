// A passphrase prompt on the terminal: the question goes to stderr (stdout may be a pipe to jq),
// the typed characters are not echoed. Only offered when stdin and stderr are terminals, so a
// service or a script never hangs waiting for input.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { PassphrasePrompt } from '../keystore/index.js';

export function terminalPrompt(): PassphrasePrompt | undefined {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return (question) =>
    new Promise((resolve, reject) => {
      let muted = false;
      const out = new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (!muted) process.stderr.write(chunk);
          cb();
        },
      });
      const rl = createInterface({ input: process.stdin, output: out, terminal: true });
      rl.question(question, (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
      rl.on('SIGINT', () => {
        rl.close();
        reject(new Error('passphrase prompt interrupted'));
      });
      muted = true;
    });
}
