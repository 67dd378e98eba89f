/**
 * How the live area fits the terminal. Ink redraws the live area in place only while it is
 * shorter than the terminal; a taller one is redrawn by clearing the whole screen on every frame
 * (flicker), and with hundreds of running nodes it would be. So the area is planned to at most
 * `height - 1` lines: header (2, dropped first on a tiny terminal), stage rows, running rows, one
 * footer line and `extra` lines (the end summary). Stages get at least half of what is left when
 * running nodes need the room; a section that does not fit ends with a "+N more" line.
 */
export interface LiveLayout {
  readonly header: boolean;
  /** Stage rows shown, and whether a "+N more stages" line follows. */
  readonly stages: number;
  readonly moreStages: boolean;
  /** Running rows shown, and whether a "+N more running" line follows. */
  readonly running: number;
  readonly moreRunning: boolean;
}

export function planLayout(height: number, stageCount: number, runningCount: number, extra = 0): LiveLayout {
  let room = Math.max(0, height - 1 - 1 - extra); // the line Ink keeps free, the footer
  const header = room >= 2 + Math.min(stageCount, 2);
  if (header) room -= 2;
  const stageShare = stageCount + runningCount <= room ? stageCount : Math.min(stageCount, Math.max(Math.ceil(room / 2), room - runningCount));
  const stageFit = fit(stageCount, stageShare);
  room -= stageFit.shown + (stageFit.more ? 1 : 0);
  const runningFit = fit(runningCount, room);
  return { header, stages: stageFit.shown, moreStages: stageFit.more, running: runningFit.shown, moreRunning: runningFit.more };
}

/** `count` rows in `lines` lines: all of them, or lines - 1 of them and a "+N more" line. */
function fit(count: number, lines: number): { shown: number; more: boolean } {
  if (count <= lines) return { shown: count, more: false };
  if (lines <= 0) return { shown: 0, more: false };
  return { shown: lines - 1, more: true };
}
