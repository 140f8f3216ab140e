// Flag parsing shared by the benchmarks: `--name=value` or bare `--name`, each checked against
// what the benchmark declares, with errors that name the flag.

export type FlagSpec = Record<string, 'bool' | 'int' | 'ints'>;
export type Flags = Record<string, boolean | number | number[] | undefined>;

export class FlagError extends Error {}

/** Parses flags like --quick, --samples=3, --n=5,7,21. Unknown flags and bad values throw FlagError. */
export function parseFlags(args: string[], spec: FlagSpec): Flags {
  const out: Flags = {};
  for (const a of args) {
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (!m) throw new FlagError(`bad argument ${JSON.stringify(a)}: expected --name or --name=value`);
    const [, name, value] = m as unknown as [string, string, string | undefined];
    const kind = spec[name];
    if (!kind) throw new FlagError(`unknown flag --${name} (known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')})`);
    if (kind === 'bool') {
      if (value !== undefined) throw new FlagError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    if (value === undefined || value === '') throw new FlagError(`--${name} needs a value, e.g. --${name}=${kind === 'ints' ? '5,7' : '3'}`);
    const nums = value.split(',').map((v) => {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new FlagError(`--${name}: ${JSON.stringify(v)} is not a whole number >= 1`);
      return Number(v);
    });
    if (kind === 'int' && nums.length !== 1) throw new FlagError(`--${name} takes one number`);
    out[name] = kind === 'int' ? nums[0] : nums;
  }
  return out;
}
