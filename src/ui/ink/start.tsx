import { render } from 'ink';
import { RunFeed } from '../run-feed.js';
import type { Reporter } from '../reporter.js';
import { RunApp } from './run-app.js';

export interface InkViewOptions {
  readonly verbose: boolean;
  /** q or Ctrl-C. For a run, the same handler SIGINT has: the first aborts, the second exits at once. */
  readonly onInterrupt: () => void;
}

/** The mounted live view: feed it actions or whole states; close() draws the last frame and lets go. */
export interface InkView {
  readonly feed: RunFeed;
  close(): Promise<void>;
}

/** Highest frame rate Ink may draw at; RunFeed already publishes at most 10 snapshots a second. */
const MAX_FPS = 10;

/** Mounts the live view on this process's terminal. This module is loaded with import() only when used. */
export function mountInkView(o: InkViewOptions): InkView {
  const feed = new RunFeed({ verbose: o.verbose, frameMs: 100 });
  const app = render(<RunApp feed={feed} onInterrupt={o.onInterrupt} />, {
    exitOnCtrlC: false,
    maxFps: MAX_FPS,
    patchConsole: true,
    onRender: ({ renderTime }) => feed.rendered(renderTime),
  });
  return {
    feed,
    async close() {
      feed.flush();
      // Let React commit the last snapshot before Ink draws its final frame and lets go of the terminal.
      await new Promise((resolve) => setImmediate(resolve));
      feed.close();
      app.unmount();
      await app.waitUntilExit();
    },
  };
}

/** The live UI as a run's reporter. */
export function startInkUi(o: InkViewOptions): Reporter {
  const view = mountInkView(o);
  return {
    emit: (e) => view.feed.dispatch(e),
    interrupted: () => view.feed.dispatch({ type: 'interrupt' }),
    close: () => view.close(),
  };
}
