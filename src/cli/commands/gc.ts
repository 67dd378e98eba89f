import { fileHashMemo } from '../../fingerprint/files.js';
import type { NodeId, NodeKey } from '../../fingerprint/ids.js';
import { planPipeline } from '../../run/plan.js';
import { collectGarbage } from '../../store/gc.js';
import { cacheDir, openStore, readPipeline } from '../context.js';
import { backendOption, COMMON, COMMON_HELP, parse } from '../usage.js';

export const GC_HELP = `Usage: basin gc [FILE...] [options]

Removes from the cache everything that none of the given pipelines (default: the default
pipeline) reaches with its current params and inputs: records of old keys, payloads no kept
record uses, and remembered states of nodes that no longer exist. Nodes another run is computing
right now are never touched. Freed space is reused by later writes (LMDB does not shrink its file).

Options:
  --dry-run        report what would be removed, remove nothing
${COMMON_HELP}`;

export async function gcCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, 'dry-run': { type: 'boolean', short: 'n' } }, GC_HELP);
  if (values.help) {
    process.stdout.write(`${GC_HELP}\n`);
    return 0;
  }
  const store = await openStore(values.cache);
  try {
    const pipelines = [];
    for (const file of positionals.length ? positionals : [undefined]) pipelines.push(await readPipeline(file, store));
    const memo = await fileHashMemo(store);
    const liveKeys = new Set<NodeKey>();
    const live: { pipeline: string; nodeIds: Set<NodeId> }[] = [];
    for (const p of pipelines) {
      for (const e of await planPipeline(p, p.nodes, store, new Set(), memo, backendOption(values.backend, p.settings.backend, GC_HELP))) if (e.action === 'cached') liveKeys.add(e.key);
      live.push({ pipeline: p.name, nodeIds: new Set(p.nodes.map((n) => n.id)) });
    }
    const dryRun = values['dry-run'] ?? false;
    const r = await collectGarbage(store, liveKeys, live, { dryRun });
    const verb = dryRun ? 'would remove' : 'removed';
    process.stdout.write(
      `gc (${cacheDir(values.cache)}): kept ${liveKeys.size} records; ${verb} ${r.records} records, ${r.payloads} payloads, ${r.states} node states: ${formatBytes(r.bytes)}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
