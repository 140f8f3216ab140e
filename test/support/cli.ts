// Runs the CLI in this process with captured output: main(args) with an io whose stdout and
// stderr are collected, for tests of commands.
import { main, type CliIo } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** A `run(args, env?)` bound to a working directory and a default environment. */
export function cliRunner(cwd: string, defaultEnv: Record<string, string> = {}) {
  return async (args: string[], env: Record<string, string> = defaultEnv): Promise<CliRun> => {
    let out = '';
    let err = '';
    const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env, cwd };
    const code = await main(args, io);
    return { code, out, err };
  };
}
