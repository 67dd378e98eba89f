import { Text } from 'ink';
import { logEntryText } from '../log-text.js';
import type { LogEntry } from '../run-state.js';

const TAG_COLOR: Record<string, string> = { done: 'green', cached: 'blue', FAILED: 'red', warn: 'yellow', skip: 'gray', wait: 'gray', log: 'gray' };

/** A finished node (or a warning) as it stays in the scrollback: the plain reporter's wording, in colour. */
export function LogLine({ entry, verbose }: { readonly entry: LogEntry; readonly verbose: boolean }) {
  const { tag, rest } = logEntryText(entry, verbose);
  return (
    <Text>
      <Text color={TAG_COLOR[tag]} bold={tag === 'FAILED'}>
        {tag.padEnd(7)}
      </Text>{' '}
      {rest}
    </Text>
  );
}
