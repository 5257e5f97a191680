// The command line of scripts/sanitize-gpu.ts (apart, so tests can import it without running the script).
import { parseArgs } from 'node:util';

export interface SanitizeArgs {
  mode: 'prepare' | 'run';
  dir: string;
  only?: string;
  quick: boolean;
  mutants: number;
}

/**
 * Parses the command line; throws with a usage message when it is not one of the two phases.
 * @example parseSanitizeArgs(['--run', 'build/sanitize', '--quick']) // { mode: 'run', dir: 'build/sanitize', quick: true, mutants: 40 }
 */
export function parseSanitizeArgs(argv: string[]): SanitizeArgs {
  const { values } = parseArgs({
    args: argv,
    options: { prepare: { type: 'string' }, run: { type: 'string' }, only: { type: 'string' }, quick: { type: 'boolean', default: false }, mutants: { type: 'string' } },
  });
  if (!!values.prepare === !!values.run) throw new Error('Usage: sanitize-gpu --prepare DIR | --run DIR [--only a,b] [--quick] [--mutants N]');
  const mutants = values.mutants === undefined ? (values.quick ? 40 : 200) : Number(values.mutants);
  if (!Number.isInteger(mutants) || mutants < 0) throw new Error(`Expected a non-negative integer for --mutants but received ${values.mutants}`);
  return { mode: values.prepare ? 'prepare' : 'run', dir: (values.prepare ?? values.run)!, ...(values.only ? { only: values.only } : {}), quick: !!values.quick, mutants };
}
