import { decodeArtifact } from '../../fingerprint/artifact-codec.js';
import { formatReason } from '../../run/explain.js';
import { stageOf } from '../../stages/registry.js';
import type { NodeRecord, Store } from '../../store/types.js';
import type { JsonValue } from '../../util/json.js';
import { formatDuration } from '../../ui/format.js';
import { openWorkspace } from '../context.js';
import { currentRecord } from '../lookup.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const SHOW_HELP = `Usage: basin show NODE [FILE] [options]

Shows one node: its key, what went into it (params, input digests, files, runtime facts), its
outputs (type, shape, size, digest), when and how long it ran, its summary and its results (the
stage's main JSON output, e.g. a train node's metrics, a hessian node's spectrum); or, when it is
not cached, why it would run. 'basin export' writes every output as files.

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
    if (record.summary) lines.push(`  summary   ${record.summary}`);
    const results = headline(store, record);
    if (results) lines.push(`  results   (output ${results.name})`, ...flatten(results.value).map(([k, v]) => `    ${k}: ${v}`));
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** The stage's headline JSON output, decoded; undefined when the kind has none or it is unreadable. */
function headline(store: Store, record: NodeRecord): { name: string; value: JsonValue } | undefined {
  let name: string | undefined;
  try {
    name = stageOf(record.fingerprint.kind).headline;
  } catch {
    return undefined; // a record of a kind this version no longer has
  }
  const ref = name === undefined ? undefined : record.outputs[name];
  const bytes = ref && store.getPayload(ref.digest);
  if (!name || !ref || !bytes) return undefined;
  const artifact = decodeArtifact(ref, bytes);
  return artifact.type === 'json' ? { name, value: artifact.value } : undefined;
}

/**
 * `a.b.c: value` lines for people: numbers to 6 significant digits, short lists of scalars inline,
 * long lists as their length (the whole value is one `basin export` or `--json` away).
 */
export function flatten(value: JsonValue, prefix = ''): [string, string][] {
  if (value === null || typeof value !== 'object') return prefix ? [[prefix, scalar(value)]] : [];
  if (Array.isArray(value)) {
    const scalars = value.every((v) => v === null || typeof v !== 'object');
    if (scalars && value.length <= 8) return [[prefix, `[${value.map(scalar).join(', ')}]`]];
    if (scalars || value.length > 8) return [[prefix, `[${value.length} items]`]];
    return value.flatMap((v, i) => flatten(v, `${prefix}[${i}]`));
  }
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

function scalar(v: JsonValue): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return JSON.stringify(v);
}
