import { fileHashMemo } from '../../fingerprint/files.js';
import { planPipeline } from '../../run/plan.js';
import { leaseIsHeld } from '../../store/lease.js';
import { cacheDir, openWorkspace } from '../context.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const STATUS_HELP = `Usage: basin status [FILE] [options]

Per stage: how many nodes are up to date in the cache, how many would run, and how many failed
last time; plus any other run currently computing nodes in this cache.

Options:
  --json           as JSON on stdout
${COMMON_HELP}`;

export async function statusCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, json: { type: 'boolean' } }, STATUS_HELP);
  if (values.help) {
    process.stdout.write(`${STATUS_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one pipeline file, got ${positionals.length}`, STATUS_HELP);
  const { store, pipeline } = await openWorkspace(positionals[0], values.cache);
  try {
    const entries = await planPipeline(pipeline, pipeline.nodes, store, new Set(), await fileHashMemo(store), backendOption(values.backend, pipeline.settings.backend, STATUS_HELP));
    const stages = pipeline.stages.map((s) => {
      const mine = entries.filter((e) => e.stage === s.name);
      return {
        stage: s.name,
        kind: s.kind,
        nodes: mine.length,
        cached: mine.filter((e) => e.action === 'cached').length,
        toRun: mine.filter((e) => e.action !== 'cached').length,
        failed: mine.filter((e) => e.action === 'run' && e.reasons.some((r) => r.code === 'failed-before')).length,
      };
    });
    const now = Date.now();
    const active = [...store.listLeases()].filter(({ lease }) => leaseIsHeld(lease, now));
    const owners = [...new Set(active.map((a) => a.lease.owner))];
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ pipeline: pipeline.name, file: pipeline.file, cache: cacheDir(values.cache), stages, running: active.length, owners })}\n`);
      return 0;
    }
    const width = Math.max(5, ...stages.map((s) => s.stage.length));
    const lines = [`${pipeline.name} (${pipeline.file}), cache ${cacheDir(values.cache)}`, `  ${'stage'.padEnd(width)}  ${'kind'.padEnd(10)} nodes  cached  to run  failed`];
    for (const s of stages) {
      lines.push(`  ${s.stage.padEnd(width)}  ${s.kind.padEnd(10)} ${String(s.nodes).padStart(5)}  ${String(s.cached).padStart(6)}  ${String(s.toRun).padStart(6)}  ${String(s.failed).padStart(6)}`);
    }
    const total = entries.length;
    const cached = entries.filter((e) => e.action === 'cached').length;
    lines.push(cached === total ? `up to date: all ${total} nodes cached` : `${total - cached} of ${total} nodes would run (see \`basin plan\` for why)`);
    if (active.length) lines.push(`another run is computing ${active.length} node(s) in this cache now: ${owners.join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
