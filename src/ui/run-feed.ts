import { initialRunState, reduceRun, type RunAction, type RunState } from './run-state.js';

const WARM_UP = 5;
/** At least two frames a second, whatever drawing costs. */
const MAX_FRAME_MS = 500;

/** What the view renders: the state and the clock reading it is drawn at. */
export interface RunSnapshot {
  readonly state: RunState;
  readonly now: number;
}

export interface RunFeedOptions {
  readonly verbose?: boolean;
  /** Least time between two snapshots, in ms (default 100: at most 10 frames a second). */
  readonly frameMs?: number;
  /**
   * Share of one core that drawing may take (default 0.15). Drawing a frame costs Ink time in
   * proportion to the characters on screen (a tall terminal full of running nodes: 10-40 ms on a
   * busy 2-core machine); reported through `rendered`, that cost stretches the interval between
   * frames so that frames cost at most this share, down to two frames a second.
   */
  readonly cpuShare?: number;
  /** While nodes run, a new snapshot this often even without events, for clocks and the ETA. */
  readonly tickMs?: number;
  readonly clock?: () => number;
}

/**
 * Between the engine and React: every action is reduced at once (cheap, pure), but listeners hear
 * of it at most once per `frameMs`, so a stage that reports progress thousands of times a second
 * costs thousands of reductions and a dozen renders. The end of the run is published at once.
 * Shaped for React's useSyncExternalStore: `snapshot` returns the same object until the next publish.
 */
export class RunFeed {
  readonly #minFrameMs: number;
  readonly #cpuShare: number;
  #frameMs: number;
  #renderMs = 0;
  #renderCost = 0;
  readonly #tickMs: number;
  readonly #clock: () => number;
  readonly #listeners = new Set<() => void>();
  #state: RunState;
  #snapshot: RunSnapshot;
  #lastPublish = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #publishes = 0;

  constructor(options: RunFeedOptions = {}) {
    this.#minFrameMs = this.#frameMs = options.frameMs ?? 100;
    this.#cpuShare = options.cpuShare ?? 0.15;
    this.#tickMs = options.tickMs ?? 500;
    this.#clock = options.clock ?? Date.now;
    this.#state = initialRunState({ verbose: options.verbose ?? false });
    this.#snapshot = { state: this.#state, now: this.#clock() };
  }

  dispatch(action: RunAction, at = this.#clock()): void {
    this.#state = reduceRun(this.#state, action, at);
    if (action.type === 'run-end' || action.type === 'interrupt') this.flush();
    else this.#schedule();
    this.#updateTicker();
  }

  /** Replaces the state (`status --watch` builds it from the store, not from events) and publishes it. */
  replace(state: RunState): void {
    this.#state = state;
    this.flush();
    this.#updateTicker();
  }

  /** Publishes now whatever has been reduced. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#publish();
  }

  readonly snapshot = (): RunSnapshot => this.#snapshot;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Ink drew a frame in `ms` (its onRender metrics). */
  rendered(ms: number): void {
    this.#renderMs += ms;
  }

  /** The current least interval between snapshots, in ms. */
  get frameMs(): number {
    return this.#frameMs;
  }

  /** How many snapshots were published (frames at most), for measurements. */
  get publishes(): number {
    return this.#publishes;
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#ticker) clearInterval(this.#ticker);
    this.#timer = this.#ticker = undefined;
  }

  #schedule(): void {
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastPublish + this.#frameMs - this.#clock());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#publish();
    }, wait);
  }

  #publish(): void {
    // What the frames since the last publish cost (a snapshot can take Ink two renders: one for
    // the live view, one after <Static> took the new log lines), smoothed; the first few frames
    // (cold code, a machine busy starting workers) are not counted.
    if (this.#publishes >= WARM_UP) {
      this.#renderCost = 0.5 * this.#renderCost + 0.5 * this.#renderMs;
      this.#frameMs = Math.min(MAX_FRAME_MS, Math.max(this.#minFrameMs, this.#renderCost / this.#cpuShare));
    }
    this.#renderMs = 0;
    const now = this.#clock();
    this.#lastPublish = now;
    this.#publishes++;
    this.#snapshot = { state: this.#state, now };
    for (const listener of this.#listeners) listener();
  }

  /** The clock only needs to move while something runs; no timer keeps an idle process alive. */
  #updateTicker(): void {
    const live = this.#state.running.length > 0 && this.#state.end === undefined;
    if (live && !this.#ticker) {
      this.#ticker = setInterval(() => this.#schedule(), this.#tickMs);
      this.#ticker.unref();
    } else if (!live && this.#ticker) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }
}
