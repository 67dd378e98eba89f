import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeArtifact } from '../../fingerprint/artifact-codec.js';
import type { NodeId } from '../../fingerprint/ids.js';
import { fileHashMemo } from '../../fingerprint/files.js';
import { planPipeline } from '../../run/plan.js';
import { withAncestors } from '../../run/select.js';
import { openWorkspace } from '../context.js';
import type { JsonValue } from '../../util/json.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const REPORT_HELP = `Usage: basin report [FILE] --out DIR [options]

Writes the pipeline's report (the outputs of its report stages) from the cache: report.html (inline
SVG figures, no network), summary.md, models.csv, and each figure as figures/NN-title.svg. Never trains or measures anything: every node
the report reads must be in the cache (run 'basin run' first); the report node itself is rendered
when it is not cached yet (a second or so).

Options:
  --out DIR        where to write (default: report/); one subfolder per report node when there are several
${COMMON_HELP}`;

/** Output name -> file name in DIR. */
const FILES: Readonly<Record<string, string>> = { report: 'report.html', summary: 'summary.md', models: 'models.csv' };

export async function reportCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, out: { type: 'string', short: 'o' } }, REPORT_HELP);
  if (values.help) {
    process.stdout.write(`${REPORT_HELP}\n`);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`, REPORT_HELP);
  const out = resolve(values.out ?? 'report');
  const ws = await openWorkspace(file, values.cache);
  const reports = ws.pipeline.nodes.filter((n) => n.kind === 'report');
  const backend = backendOption(values.backend, ws.pipeline.settings.backend, REPORT_HELP);
  let pending: NodeId[];
  try {
    if (!reports.length) {
      process.stderr.write(`basin: ${ws.pipeline.file} has no report stage; add one, e.g.\n  report: { kind: report, inputs: { correlate: correlate, hessian: hessian } }\n`);
      return 1;
    }
    const ids = new Set(reports.map((n) => n.id));
    const entries = await planPipeline(ws.pipeline, withAncestors(ws.pipeline, ids), ws.store, new Set(), await fileHashMemo(ws.store), backend);
    const missing = entries.filter((e) => !ids.has(e.node) && e.action !== 'cached');
    if (missing.length) {
      const some = missing.slice(0, 3).map((e) => e.node).join(', ') + (missing.length > 3 ? ', ...' : '');
      process.stderr.write(`basin: ${missing.length} node(s) the report reads are not in the cache (${some}); run \`basin run${file ? ` ${file}` : ''}\` first: basin report never trains or measures\n`);
      return 1;
    }
    pending = entries.filter((e) => ids.has(e.node) && e.action !== 'cached').map((e) => e.node);
  } finally {
    await ws.store.close();
  }
  if (pending.length) {
    // Only report nodes are left to run: render them through the normal run path (cached, leased, logged).
    const { runCommand } = await import('./run.js');
    const code = await runCommand([...(file ? [file] : []), ...pending.flatMap((id) => ['--only', id]), ...(values.cache ? ['--cache', values.cache] : []), ...(values.backend ? ['--backend', values.backend] : [])]);
    if (code !== 0) return code;
  }
  const again = await openWorkspace(file, values.cache);
  try {
    const ids = new Set(reports.map((n) => n.id));
    const entries = await planPipeline(again.pipeline, withAncestors(again.pipeline, ids), again.store, new Set(), await fileHashMemo(again.store), backend);
    for (const node of reports) {
      const entry = entries.find((e) => e.node === node.id);
      const record = entry?.action === 'cached' ? again.store.getRecord(entry.key) : undefined;
      if (!record) {
        process.stderr.write(`basin: ${node.id} is not in the cache after rendering it; run \`basin run --only "${node.id}"\` and look at its error\n`);
        return 1;
      }
      const dir = reports.length > 1 ? join(out, node.id.replace(/[^A-Za-z0-9_.=-]+/g, '_')) : out;
      mkdirSync(dir, { recursive: true });
      if (!Object.keys(FILES).some((name) => name in record.outputs)) {
        process.stderr.write(`basin: internal error: the cached record of ${node.id} has none of the outputs ${Object.keys(FILES).join(', ')}; \`basin run --force "${node.id}"\` renders it again\n`);
        return 70;
      }
      const titles = figureTitles(record.info);
      for (const [name, ref] of Object.entries(record.outputs)) {
        const target = FILES[name] ?? figureFile(name, titles);
        const bytes = again.store.getPayload(ref.digest);
        if (!target || !bytes) continue;
        const artifact = decodeArtifact(ref, bytes);
        if (artifact.type !== 'bytes') continue;
        mkdirSync(dirname(join(dir, target)), { recursive: true });
        writeFileSync(join(dir, target), artifact.data);
        process.stdout.write(`wrote ${join(dir, target)}\n`);
      }
    }
    return 0;
  } finally {
    await again.store.close();
  }
}

function figureTitles(info: JsonValue | undefined): string[] {
  const isObject = (v: JsonValue | undefined): v is { readonly [key: string]: JsonValue } => v !== null && typeof v === 'object' && !Array.isArray(v);
  const figures = isObject(info) ? info['figures'] : undefined;
  return Array.isArray(figures) ? figures.map((f: JsonValue) => (isObject(f) ? String(f['title'] ?? '') : '')) : [];
}

/** `figure.03` -> `figures/03-hessian-frobenius.svg` (the title's first words, as a file name). */
function figureFile(output: string, titles: readonly string[]): string | undefined {
  const m = /^figure\.(\d+)$/.exec(output);
  if (!m) return undefined;
  const n = m[1] as string;
  const slug = (titles[Number(n) - 1] ?? '')
    .split(':')[0]!
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `figures/${n}${slug ? `-${slug}` : ''}.svg`;
}
