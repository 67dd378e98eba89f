import type { EventSink, RunEvent } from '../run/events.js';
import { jsonReporter } from './json-reporter.js';
import { plainReporter } from './plain-reporter.js';

/** A consumer of a run's events that owns what the user sees while it runs. */
export interface Reporter {
  readonly emit: EventSink;
  /** The user asked to stop (first Ctrl-C, or q in the live UI): say that running stages are stopping. */
  interrupted(): void;
  /** Waits until everything is shown and the terminal is handed back. */
  close(): Promise<void>;
}

export const UI_CHOICES = ['plain', 'ink', 'json'] as const;
export type UiChoice = (typeof UI_CHOICES)[number];

/**
 * `--ui` when given, else the live UI on an interactive terminal and the line reporter elsewhere.
 * Not on a CI runner even with a terminal: Ink there prints only the last frame, by design.
 */
export function chooseUi(flag: UiChoice | undefined, stdoutIsTty: boolean, env: NodeJS.ProcessEnv): UiChoice {
  if (flag) return flag;
  return stdoutIsTty && !isCi(env) && env['TERM'] !== 'dumb' ? 'ink' : 'plain';
}

/** As Ink's own check (the is-in-ci package): CI or CONTINUOUS_INTEGRATION set, and not to 0/false. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const set = (k: string) => k in env && env[k] !== '0' && env[k] !== 'false';
  return set('CI') || set('CONTINUOUS_INTEGRATION');
}

export interface LineReporterOptions {
  readonly write: (text: string) => void;
  readonly writeErr: (text: string) => void;
  readonly verbose: boolean;
}

export function linesReporter(o: LineReporterOptions): Reporter {
  return {
    emit: plainReporter({ write: o.write, verbose: o.verbose }),
    interrupted: () => o.writeErr('\nbasin: interrupted; stopping running stages (Ctrl-C again to quit at once)\n'),
    close: async () => {},
  };
}

export function jsonLinesReporter(write: (text: string) => void): Reporter {
  return { emit: jsonReporter(write), interrupted: () => {}, close: async () => {} };
}

/** The live UI once loaded (src/ui/ink/start.tsx). */
export type LoadUi = () => Promise<Reporter>;

export interface DeferredOptions {
  /** Loads Ink and React and mounts the app; called at most once. */
  readonly load: LoadUi;
  /** Used when the live UI was never loaded (a run with nothing to watch) or failed to load. */
  readonly fallback: Reporter;
  /** Load at the first event rather than when there is something to watch (`--ui ink`). */
  readonly eager: boolean;
  /** Load this long after run-start even if nothing has started running (ms, default 1000). */
  readonly delayMs?: number;
  /** Told when loading failed and the fallback took over. */
  readonly onLoadError?: (e: unknown) => void;
}

/**
 * The live UI, loaded only when there is something to watch. Loading Ink and React takes 0.5-1 s
 * on a 2-core machine; a fully cached run takes a fraction of that and must stay fast. So events
 * are buffered until a node starts running or waits for another run, or `delayMs` passes
 * (keying a large cached pipeline can take that long); then the UI is loaded and the buffer replayed.
 * A run that ends first is reported by `fallback` (the line reporter: its header and summary).
 */
export function deferredReporter(o: DeferredOptions): Reporter {
  const buffer: RunEvent[] = [];
  let target: Reporter | undefined;
  let loading: Promise<void> | undefined;
  let interrupted = false;
  let timer: NodeJS.Timeout | undefined;

  const start = () => {
    if (loading) return;
    if (timer) clearTimeout(timer);
    loading = o.load().then(
      (ui) => {
        target = ui;
      },
      (e: unknown) => {
        o.onLoadError?.(e);
        target = o.fallback;
      },
    ).then(() => {
      const t = target as Reporter;
      for (const e of buffer.splice(0)) t.emit(e);
      if (interrupted) t.interrupted();
    });
  };
  if (o.eager) start();

  return {
    emit(e) {
      if (target) return target.emit(e);
      buffer.push(e);
      if (loading) return;
      if (e.type === 'run-start') {
        timer = setTimeout(start, o.delayMs ?? 1000);
        timer.unref();
      } else if (e.type === 'node-start' || e.type === 'node-waiting') {
        start();
      } else if (e.type === 'run-end') {
        if (timer) clearTimeout(timer);
        target = o.fallback;
        for (const b of buffer.splice(0)) target.emit(b);
      }
    },
    interrupted() {
      if (target) target.interrupted();
      else if (loading) interrupted = true;
      else o.fallback.interrupted();
    },
    async close() {
      if (timer) clearTimeout(timer);
      if (loading) await loading;
      await target?.close();
    },
  };
}
