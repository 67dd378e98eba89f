import type { Pipeline } from '../../config/types.js';
import { fileHashMemo } from '../../fingerprint/files.js';
import type { NodeId } from '../../fingerprint/ids.js';
import { planPipeline, type PlanEntry } from '../../run/plan.js';
import { sleep } from '../../stages/failure.js';
import { leaseIsHeld, runProgressIsLive } from '../../store/lease.js';
import type { NodeRecord, Store } from '../../store/types.js';
import { loadInk } from '../../ui/load-ink.js';
import { chooseUi, type UiChoice } from '../../ui/reporter.js';
import { initialRunState, type RunState } from '../../ui/run-state.js';
import { allSettled, classifyNode, watchEnd, watchState, type NodeStatus, type Observation, type WatchedPipeline } from '../../ui/watch-state.js';
import { watchLines } from '../../ui/watch-lines.js';
import { cacheDir, openWorkspace } from '../context.js';
import { backendOption, COMMON, COMMON_HELP, parse, UsageError } from '../usage.js';

export const STATUS_HELP = `Usage: basin status [FILE] [options]

Per stage: how many nodes are up to date in the cache, how many would run, and how many failed
last time; plus any other run currently computing nodes in this cache.

Options:
  --json           as JSON on stdout
  -w, --watch      follow a run of this pipeline started elsewhere on this cache (another
                   terminal): per stage done, cached, running, failed, and the running nodes;
                   ends when no run holds a node and the nodes are settled, or on q / Ctrl-C
  --ui UI          with --watch: ink (live view; the default on a terminal) or plain (lines)
${COMMON_HELP}`;

/** How often --watch reads the store. The running process writes its progress at most once a second. */
const POLL_MS = 1000;

export async function statusCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON, json: { type: 'boolean' }, watch: { type: 'boolean', short: 'w' }, ui: { type: 'string' } }, STATUS_HELP);
  if (values.help) {
    process.stdout.write(`${STATUS_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one pipeline file, got ${positionals.length}`, STATUS_HELP);
  if (values.watch && values.json) throw new UsageError('--watch and --json do not go together: `basin run --json` streams events', STATUS_HELP);
  if (values.ui !== undefined && !values.watch) throw new UsageError('--ui goes with --watch', STATUS_HELP);
  if (values.ui !== undefined && !(['plain', 'ink'] as const).some((u) => u === values.ui)) {
    throw new UsageError(`--ui expects ink or plain with --watch, got "${values.ui}"`, STATUS_HELP);
  }
  const { store, pipeline } = await openWorkspace(positionals[0], values.cache);
  try {
    const entries = await planPipeline(pipeline, pipeline.nodes, store, new Set(), await fileHashMemo(store), backendOption(values.backend, pipeline.settings.backend, STATUS_HELP));
    if (values.watch) {
      const ui = chooseUi(values.ui as UiChoice | undefined, process.stdout.isTTY === true, process.env);
      return await watch(store, pipeline, entries, cacheDir(values.cache), ui === 'ink' ? 'ink' : 'plain', values.verbose ?? false);
    }
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

/**
 * `status --watch`: polls the store for what a run in another process records (node states and
 * records, leases, and its progress record: see RunProgress) and shows it as the run's own live
 * view would, or as lines. Ends when no run of this pipeline holds a node and either every node is
 * settled or a run was seen and has ended (one that stopped at a failure leaves nodes unsettled).
 */
async function watch(store: Store, pipeline: Pipeline, plan: readonly PlanEntry[], cache: string, ui: 'ink' | 'plain', verbose: boolean): Promise<number> {
  const plannedCached = new Set(plan.filter((e) => e.action === 'cached').map((e) => e.node));
  const watched: WatchedPipeline = {
    start: {
      type: 'run-start',
      pipeline: pipeline.name,
      file: pipeline.file,
      cache,
      jobs: 0,
      total: plan.length,
      stages: pipeline.stages.map((s) => ({ name: s.name, nodes: plan.filter((e) => e.stage === s.name).length })).filter((s) => s.nodes > 0),
    },
    nodes: plan.map((e) => ({ node: e.node, stage: e.stage })),
  };
  const wake = new AbortController();
  let stopped = false;
  const onInterrupt = () => {
    stopped = true;
    wake.abort();
  };
  const view = ui === 'ink' ? (await loadInk()).mountInkView({ verbose, onInterrupt }) : undefined;
  const show = (prev: RunState | undefined, next: RunState) => {
    if (view) view.feed.replace(next);
    else for (const line of watchLines(prev, next)) process.stdout.write(`${line}\n`);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  // Records by key and state time: a forced rerun rewrites the record under the same key.
  const records = new Map<string, NodeRecord | undefined>();
  const started = Date.now();
  let since = started;
  let sawRun = false;
  let shown: RunState | undefined;
  let prev: { state: RunState; obs?: Observation } = { state: initialRunState({ verbose }) };
  try {
    for (;;) {
      store.refresh();
      const now = Date.now();
      const live = [...store.listRunProgress()].filter((r) => runProgressIsLive(r, now));
      const runs = live.filter((r) => r.pipeline === pipeline.name);
      // Leases of runs of other pipelines on this cache do not keep this watch open.
      const others = new Set(live.filter((r) => r.pipeline !== pipeline.name).map((r) => r.owner));
      const leases = [...store.listLeases()].filter(({ lease }) => leaseIsHeld(lease, now) && !others.has(lease.owner)).length;
      for (const r of runs) since = Math.min(since, r.startedAt);
      const nodes = new Map<NodeId, NodeStatus>();
      for (const { node } of watched.nodes) {
        const state = store.getState(pipeline.name, node);
        let record: NodeRecord | undefined;
        if (state?.status === 'ok') {
          const seen = `${state.key}@${state.at}`;
          if (!records.has(seen)) records.set(seen, store.getRecord(state.key));
          record = records.get(seen);
        }
        nodes.set(node, classifyNode(plannedCached.has(node), state, record, since));
      }
      const obs: Observation = { now, nodes, runs };
      let state = watchState(watched, prev, obs);
      prev = { state, obs };
      const busy = runs.length > 0 || leases > 0;
      sawRun ||= busy;
      const done = !busy && (allSettled(obs) || sawRun);
      if (done) state = { ...state, end: watchEnd(state, now) };
      if (done || stopped) {
        show(shown, state);
        return stopped ? 130 : state.failures.length > 0 ? 1 : 0;
      }
      show(shown, state);
      shown = state;
      try {
        await sleep(POLL_MS, wake.signal);
      } catch {
        /* q or Ctrl-C: one more look, then stop */
      }
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    await view?.close();
  }
}
