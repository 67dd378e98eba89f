#!/usr/bin/env node
import { DiagnosticError } from '../diagnostics/diagnostic.js';
import { formatDiagnostic } from '../diagnostics/print.js';
import { UnknownTarget } from '../run/select.js';
import { UsageError } from './usage.js';
import { closest } from '../diagnostics/suggest.js';
import { readFileSync } from 'node:fs';

const HELP = `Usage: basin <command> [FILE] [options]

Compiles a YAML pipeline into a content-hashed DAG, runs what changed, and caches every artifact.
FILE defaults to ./basin.yaml, else pipelines/quick.yaml.

Commands:
  run       run the pipeline (only what is not cached)
  plan      what run would do, and why each node would rerun
  status    per stage: cached, to run, failed; other runs on this cache
  dag       print the graph (text, mermaid, dot)
  show      one node's record: key, params, inputs, outputs
  export    write a node's artifacts as files (.json, .npy)
  report    write the report (HTML, Markdown, CSV) from the cache
  gc        remove what no given pipeline uses from the cache
  worker    run nodes of distributed runs (run --executor bullmq) from Redis

\`basin <command> --help\` tells more. Exit codes: 0 ok, 1 a stage failed, 2 invalid input, 130 interrupted.`;

type Command = (argv: readonly string[]) => Promise<number>;
/** Each command's module is loaded only when it is the one asked for: start-up stays small. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  plan: async () => (await import('./commands/plan.js')).planCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  dag: async () => (await import('./commands/dag.js')).dagCommand,
  show: async () => (await import('./commands/show.js')).showCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  gc: async () => (await import('./commands/gc.js')).gcCommand,
  worker: async () => (await import('./commands/worker.js')).workerCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `basin` alone, or `basin --cache DIR ...`, runs the default pipeline.
  if (name === undefined || (name.startsWith('-') && !['--help', '-h', '--version'].includes(name))) {
    return (await (COMMANDS['run'] as () => Promise<Command>)())(argv);
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (name === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}"${suggestCommand(name)}`, HELP);
  return (await load())(rest);
}

function suggestCommand(name: string): string {
  const best = closest(name, Object.keys(COMMANDS));
  return best ? `; did you mean "${best}"?` : '';
}

function printSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof DiagnosticError) {
      const text = e.diagnostics.map((d) => formatDiagnostic(d, d.location ? printSource(d.location.file) : undefined)).join('\n\n');
      process.stderr.write(`${text}\n`);
      process.exitCode = 2;
    } else if (e instanceof UsageError) {
      process.stderr.write(`basin: ${e.message}\n${e.help ? `\n${e.help}\n` : ''}`);
      process.exitCode = 2;
    } else if (e instanceof Error && e.name === 'RedisUnavailable') {
      // By name: importing the class would load ioredis into every command.
      process.stderr.write(`basin: ${e.message}\n`);
      process.exitCode = 1;
    } else if (e instanceof UnknownTarget) {
      process.stderr.write(`basin: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      process.stderr.write(`basin: internal error: ${err.message}\n${process.env['BASIN_DEBUG'] ? `${err.stack}\n` : 'set BASIN_DEBUG=1 for the stack trace\n'}`);
      process.exitCode = 70;
    }
  },
);
