import { Static, useInput, useStdin, useStdout } from 'ink';
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { RunFeed } from '../run-feed.js';
import type { LogEntry } from '../run-state.js';
import { LiveView } from './live-view.js';
import { LogLine } from './log-line.js';

export interface RunAppProps {
  readonly feed: RunFeed;
  /** q or Ctrl-C (Ink reads keys in raw mode, where Ctrl-C sends no SIGINT). */
  readonly onInterrupt: () => void;
  /** Fixed size (tests); default: the terminal's, following resizes. */
  readonly size?: { readonly columns: number; readonly rows: number };
}

/** The root: finished work in <Static> (printed once, scrolls away), the live view below it. */
export function RunApp({ feed, onInterrupt, size }: RunAppProps) {
  const { state, now } = useSyncExternalStore(feed.subscribe, feed.snapshot);
  const terminal = useTerminalSize(size);
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) onInterrupt();
    },
    { isActive: isRawModeSupported === true },
  );
  return (
    <>
      <Static items={state.log as LogEntry[]}>{(entry) => <LogLine key={entry.id} entry={entry} verbose={state.verbose} />}</Static>
      <LiveView state={state} now={now} width={terminal.columns} height={terminal.rows} />
    </>
  );
}

function useTerminalSize(fixed: RunAppProps['size']): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => fixed ?? { columns: stdout.columns || 80, rows: stdout.rows || 24 };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return undefined;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed]);
  return size;
}
