import { fileHashMemo } from '../../fingerprint/files.js';
import { formatReason } from '../../run/explain.js';
import { planPipeline } from '../../run/plan.js';
import { resolveTargets, withAncestors } from '../../run/select.js';
import { plural } from '../../ui/format.js';
import { openWorkspace } from '../context.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const PLAN_HELP = `Usage: basin plan [FILE] [options]

A dry run: lists every node that \`basin run\` would execute and why (new, which params changed,
which input or file changed, implementation version, forced, failed before), without running
anything or changing any result. Cached nodes are counted; --all lists them too.

Options:
  --only STAGE     plan only this stage or node and what it needs (repeatable)
  --force STAGE    treat this stage or node as forced (repeatable)
  --all            list cached nodes too
  --json           the plan as JSON on stdout
${COMMON_HELP}`;

export async function planCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...COMMON, only: { type: 'string', multiple: true }, force: { type: 'string', multiple: true }, all: { type: 'boolean' }, json: { type: 'boolean' } },
    PLAN_HELP,
  );
  if (values.help) {
    process.stdout.write(`${PLAN_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one pipeline file, got ${positionals.length}`, PLAN_HELP);
  const { store, pipeline } = await openWorkspace(positionals[0], values.cache);
  const only = values.only?.length ? resolveTargets(pipeline, values.only) : undefined;
  const force = resolveTargets(pipeline, values.force ?? []);
  const nodes = only ? withAncestors(pipeline, only) : pipeline.nodes;
  try {
    const entries = await planPipeline(pipeline, nodes, store, force, await fileHashMemo(store), backendOption(values.backend, pipeline.settings.backend, PLAN_HELP));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ pipeline: pipeline.name, file: pipeline.file, nodes: entries })}\n`);
      return 0;
    }
    const count = (a: string) => entries.filter((e) => e.action === a).length;
    const lines = [`plan: ${pipeline.name} (${pipeline.file}): ${count('run')} to run, ${count('cached')} cached${count('blocked') ? `, ${count('blocked')} blocked` : ''}, ${plural(entries.length, 'node')}`];
    const width = Math.min(48, Math.max(0, ...entries.map((e) => e.node.length)));
    for (const e of entries) {
      if (e.action === 'cached') {
        if (values.all) lines.push(`  cached   ${e.node}`);
      } else if (e.action === 'run') {
        lines.push(`  run      ${e.node.padEnd(width)}  ${e.reasons.map(formatReason).join('; ')}`);
      } else {
        lines.push(`  blocked  ${e.node.padEnd(width)}  ${e.message}`);
      }
    }
    if (entries.some((e) => e.action === 'run' && e.reasons.some((r) => r.code === 'upstream-pending'))) {
      lines.push('(a node whose input will be recomputed first is still reused if that input comes out byte-identical)');
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return count('blocked') ? 1 : 0;
  } finally {
    await store.close();
  }
}
