import { basinVolume } from './basin-volume.js';
import { command } from './command.js';
import { correlate } from './correlate.js';
import { dataset } from './dataset.js';
import { hessian } from './hessian.js';
import { probe } from './probe.js';
import { report } from './report.js';
import { restarts } from './restarts.js';
import { sharpness } from './sharpness.js';
import { slice } from './slice.js';
import { train } from './train.js';
import { twoLayer } from './two-layer.js';
import type { AnyStage } from './types.js';

/**
 * Every stage kind basin knows. Definitions are cheap to import: a stage that needs a heavy library
 * (TF.js) imports it inside run(), so planning and fully cached runs never load it.
 */
const STAGES: readonly AnyStage[] = [command, probe, dataset, train, hessian, basinVolume, restarts, slice, sharpness, correlate, report, twoLayer];

const BY_KIND = new Map(STAGES.map((s) => [s.kind, s]));

export const stageKinds: readonly string[] = STAGES.map((s) => s.kind);

export function stageOf(kind: string): AnyStage {
  const s = BY_KIND.get(kind);
  if (!s) throw new Error(`internal error: unknown stage kind ${kind}`);
  return s;
}
