/** Small formatting helpers shared by reporters. */
export function formatDuration(ms: number): string {
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 9.995) return `${s.toFixed(2)}s`;
  if (s < 59.95) return `${s.toFixed(1)}s`;
  // Round first, then split: 239.6 s is 4m00s, never 3m60s.
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m${String(whole - m * 60).padStart(2, '0')}s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
