import type { EventSink } from '../run/events.js';

/** `--json`: one event per line, for programs (and the distributed coordinator's clients). */
export function jsonReporter(write: (text: string) => void): EventSink {
  return (e) => write(`${JSON.stringify(e)}\n`);
}
