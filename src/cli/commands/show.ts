import { formatReason } from '../../run/explain.js';
import { formatDuration } from '../../ui/format.js';
import { openWorkspace } from '../context.js';
import { currentRecord } from '../lookup.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const SHOW_HELP = `Usage: basin show NODE [FILE] [options]

Shows one node: its key, what went into it (params, input digests, files, runtime facts), its
outputs (type, shape, size, digest) and when and how long it ran; or, when it is not cached, why
it would run.

Options:
  --json           the record as JSON on stdout
${COMMON_HELP}`;

export async function showCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, json: { type: 'boolean' } }, SHOW_HELP);
  if (values.help) {
    process.stdout.write(`${SHOW_HELP}\n`);
    return 0;
  }
  const [target, file, ...extra] = positionals;
  if (!target) throw new UsageError('expected a node id, e.g. basin show "train[seed=0]"', SHOW_HELP);
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`, SHOW_HELP);
  const { store, pipeline } = await openWorkspace(file, values.cache);
  try {
    const { entry, record } = await currentRecord(pipeline, store, target, SHOW_HELP, backendOption(values.backend, pipeline.settings.backend, SHOW_HELP));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(record ? { node: entry.node, cached: true, record } : { node: entry.node, cached: false, plan: entry })}\n`);
      return 0;
    }
    const lines = [`${entry.node}  (stage ${entry.stage})`];
    if (!record) {
      lines.push(entry.action === 'run' ? `  not cached: ${entry.reasons.map(formatReason).join('; ')}` : entry.action === 'blocked' ? `  blocked: ${entry.message}` : '');
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    const fp = record.fingerprint;
    lines.push(
      `  key       ${record.key}`,
      `  kind      ${fp.kind} v${fp.kindVersion} (key format ${fp.keyFormat})`,
      `  ran       ${record.startedAt} for ${formatDuration(record.durationMs)} on ${record.executor}`,
      `  params    ${JSON.stringify(fp.params)}`,
    );
    for (const [name, d] of Object.entries(fp.inputs)) lines.push(`  input     ${name}: ${Array.isArray(d) ? `${d.length} digests` : d}`);
    for (const [path, d] of Object.entries(fp.files)) lines.push(`  file      ${path}: ${d}`);
    for (const [fact, v] of Object.entries(fp.runtime)) lines.push(`  runtime   ${fact}: ${JSON.stringify(v)}`);
    lines.push('  outputs');
    for (const [name, ref] of Object.entries(record.outputs)) {
      const shape = ref.type === 'array' ? ` ${ref.dtype}[${(ref.shape ?? []).join(',')}]` : ref.mediaType ? ` ${ref.mediaType}` : '';
      lines.push(`    ${name}: ${ref.type}${shape}, ${ref.bytes} bytes, ${ref.digest}`);
    }
    if (record.info !== undefined) lines.push(`  info      ${JSON.stringify(record.info)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
