import { renderDag } from '../../graph/render.js';
import { readPipeline } from '../context.js';
import { COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const DAG_HELP = `Usage: basin dag [FILE] [options]

Prints the pipeline's graph, of stages (default) or of every node.

Options:
  --format F       text (default), mermaid or dot
  --nodes          one vertex per node instead of per stage
${COMMON_HELP}`;

const FORMATS = ['text', 'mermaid', 'dot'] as const;

export async function dagCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, format: { type: 'string' }, nodes: { type: 'boolean' } }, DAG_HELP);
  if (values.help) {
    process.stdout.write(`${DAG_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one pipeline file, got ${positionals.length}`, DAG_HELP);
  const format = values.format ?? 'text';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format expects one of ${FORMATS.join(', ')}, got "${format}"`, DAG_HELP);
  const pipeline = await readPipeline(positionals[0]);
  process.stdout.write(`${renderDag(pipeline, format as (typeof FORMATS)[number], values.nodes ? 'nodes' : 'stages').trimEnd()}\n`);
  return 0;
}
