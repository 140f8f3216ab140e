// Tokenizing for the small scripts (`npm run fuzz`, `npm run chaos`): node's util.parseArgs does
// the splitting (`--name value` and `--name=value`); each script validates the values itself.
// parseArgs' own messages are turned into one-line errors that name the flag.
import { parseArgs } from 'node:util';

export type ArgKind = 'string' | 'strings' | 'boolean';
export type ArgValues = Record<string, string | string[] | boolean | undefined>;

export function tokenizeArgs(argv: string[], spec: Record<string, ArgKind>): ArgValues {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, kind]) => [name, kind === 'boolean' ? { type: 'boolean' as const } : { type: 'string' as const, multiple: kind === 'strings' }]),
  );
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as ArgValues;
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
    const known = Object.keys(spec).map((k) => `--${k}`).join(', ');
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new Error(spec[flag.replace(/^--/, '')] === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`);
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new Error(`unexpected argument ${JSON.stringify(/'([^']+)'/.exec(err.message)?.[1] ?? '')} (use ${known})`);
    throw new Error(`unknown argument ${JSON.stringify(flag)} (use ${known})`);
  }
}
