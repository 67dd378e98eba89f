import { Text } from 'ink';
import type { RunState } from '../run-state.js';
import { plural } from '../format.js';

export interface HeaderProps {
  readonly state: RunState;
}

/** Two lines: what runs where (pipeline, TF.js backend, jobs, cache), then the node counts. */
export function Header({ state }: HeaderProps) {
  const s = state.start;
  if (!s) return <Text dimColor>basin: starting…</Text>;
  const cached = state.stages.reduce((n, r) => n + r.cached, 0);
  const following = state.watch?.following;
  const where = [
    state.watch ? `watching ${s.pipeline} (${s.file})` : `basin · ${s.pipeline} (${s.file})`,
    ...(s.runtime ? [`TF.js ${s.runtime.tfjs} on ${s.runtime.backend}`] : []),
    ...(state.watch ? (following ? [`run ${following.owner}`, `jobs ${following.jobs}`] : []) : [`jobs ${s.jobs}`]),
    `cache ${s.cache}`,
  ];
  const waiting = state.watch && !following && !state.end ? ' · no run is computing this pipeline now; waiting for one' : '';
  return (
    <>
      <Text wrap="truncate-end" bold>
        {where.join(' · ')}
      </Text>
      <Text wrap="truncate-end">
        {plural(s.total, 'node')}: {cached} cached, {s.total - cached} to run{waiting}
      </Text>
    </>
  );
}
