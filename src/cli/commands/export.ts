import { resolve } from 'node:path';
import { checkHit } from '../../run/cache-hit.js';
import { formatReason } from '../../run/explain.js';
import { exportOutputs } from '../../store/export.js';
import { openWorkspace } from '../context.js';
import { currentRecord } from '../lookup.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const EXPORT_HELP = `Usage: basin export NODE --out DIR [FILE] [options]

Writes a cached node's artifacts as files: JSON for metadata, .npy for arrays (NumPy's format),
raw bytes otherwise, plus record.json describing where they came from.

Options:
  --out DIR        where to write (created if missing)
${COMMON_HELP}`;

export async function exportCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, out: { type: 'string', short: 'o' } }, EXPORT_HELP);
  if (values.help) {
    process.stdout.write(`${EXPORT_HELP}\n`);
    return 0;
  }
  const [target, file, ...extra] = positionals;
  if (!target) throw new UsageError('expected a node id, e.g. basin export "train[seed=0]" --out exported/', EXPORT_HELP);
  if (!values.out) throw new UsageError('--out DIR is required', EXPORT_HELP);
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`, EXPORT_HELP);
  const { store, pipeline } = await openWorkspace(file, values.cache);
  try {
    const { entry, record } = await currentRecord(pipeline, store, target, EXPORT_HELP, backendOption(values.backend, pipeline.settings.backend, EXPORT_HELP));
    if (!record) {
      const why = entry.action === 'run' ? entry.reasons.map(formatReason).join('; ') : entry.action === 'blocked' ? entry.message : '';
      process.stderr.write(`basin: ${entry.node} is not in the cache (${why}); run \`basin run --only "${entry.node}"\` first\n`);
      return 1;
    }
    // Verify before writing anything: a corrupt entry is dropped and reported, never exported.
    const check = await checkHit(store, record.key);
    if (!check.hit) {
      process.stderr.write(`basin: ${entry.node}: ${check.problem ?? 'not in the cache'}; the entry was dropped: run \`basin run --only "${entry.node}"\` to recompute it\n`);
      return 1;
    }
    const written = await exportOutputs(record, store, resolve(values.out));
    process.stdout.write(`${written.map((p: string) => `wrote ${p}`).join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
