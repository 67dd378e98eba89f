import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from '../diagnostics/suggest.js';
import { BACKEND_CHOICES, type BackendChoice } from '../ml/backend.js';

/** A mistake on the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly help?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with errors turned into UsageError (no stack traces for typos). */
export function parse<O extends Options>(argv: readonly string[], options: O, help: string) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const unknown = /Unknown option '([^']+)'/.exec(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
      const names = Object.keys(options).map((n) => `--${n}`).concat('--help');
      const best = closest(unknown[1] as string, names);
      throw new UsageError(`unknown option ${unknown[1]}${best ? `; did you mean ${best}?` : ''}`, help);
    }
    throw new UsageError(err.message, help);
  }
}

export function intOption(value: string | undefined, name: string, help: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer, got "${value}"`, help);
  return n;
}

/** Common options of commands that read a pipeline and the cache. */
export const COMMON = {
  cache: { type: 'string' },
  backend: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies Options;

export const COMMON_HELP = `  --cache DIR      the cache (LMDB store); default $BASIN_CACHE, else ./cache
  --backend B      TF.js backend of numeric stages: auto, node, wasm, cpu (default: the
                   pipeline's settings.backend, else auto); part of their keys
  -v, --verbose    more detail (cache hits, stage logs, stacks of internal errors)
  -h, --help       this help`;

/** --backend, else the pipeline's settings.backend, else auto. */
export function backendOption(flag: string | undefined, fromPipeline: BackendChoice | undefined, help: string): BackendChoice {
  if (flag === undefined) return fromPipeline ?? 'auto';
  if (!(BACKEND_CHOICES as readonly string[]).includes(flag)) {
    throw new UsageError(`--backend expects one of ${BACKEND_CHOICES.join(', ')}, got "${flag}"`, help);
  }
  return flag as BackendChoice;
}
