import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLI, workspaceWith, type Workspace } from '../engine/rig.js';

/**
 * The live view end to end, as a person sees it: the real CLI in a tmux pane (a real terminal,
 * 100 x 30), read back with `tmux capture-pane -p`, keys sent with `send-keys`. Every wait polls the
 * pane until the text appears (generous timeouts, for a busy 2-core machine); nothing relies on a
 * fixed sleep. Skipped when tmux is not installed (`apt-get install tmux`).
 */
const TMUX = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
const SKIP = TMUX ? false : 'tmux is not installed (apt-get install tmux): the terminal end-to-end test needs it';
const DURATION = String.raw`(?:\d+ms|\d+\.\d+s|\d+m\d\ds|\d+h\d\dm)`;

const pipeline = `
version: 1
name: tmuxtest
settings: { jobs: 2 }
stages:
  data: { kind: probe, with: { value: 1 } }
  train:
    kind: probe
    matrix: { seed: [0, 1, 2, 3, 4, 5] }
    inputs: { data: data }
    with: { value: 1, seed: "\${matrix.seed}", sleepMs: 3000, steps: 30 }
  summary: { kind: probe, inputs: { models: train } }
`;

/** A tmux server of our own (its own socket), without CI in its environment: Ink draws frames only off CI. */
class Terminal {
  readonly socket: string;
  readonly env: NodeJS.ProcessEnv;
  constructor(readonly ws: Workspace) {
    this.socket = join(ws.dir, 'tmux.sock');
    this.env = { ...process.env, FORCE_COLOR: '0', TERM: 'xterm-256color' };
    delete this.env['CI'];
    delete this.env['CONTINUOUS_INTEGRATION'];
  }
  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { env: this.env, encoding: 'utf8' });
  }
  /** Runs `basin ARGS` in a new window named `name`; the shell then prints BASIN-EXIT=<code> and waits. */
  open(name: string, args: string): void {
    const command = `cd '${this.ws.dir}' && env -u CI '${process.execPath}' '${CLI}' ${args} --cache '${this.ws.cache}'; echo BASIN-EXIT=$?; sleep 600`;
    if (name === 'main') {
      this.tmux('new-session', '-d', '-s', 'basin', '-n', name, '-x', '100', '-y', '30', command);
      this.serverPid = Number(this.tmux('display-message', '-p', '#{pid}').trim());
    } else this.tmux('new-window', '-d', '-t', 'basin', '-n', name, command);
  }
  pane(name: string): string {
    return this.tmux('capture-pane', '-p', '-t', `basin:${name}`);
  }
  send(name: string, keys: string): void {
    this.tmux('send-keys', '-t', `basin:${name}`, keys);
  }
  /** Polls the pane until `pattern` matches it; returns the pane. */
  async waitFor(name: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = this.pane(name);
      if (pattern.test(text)) return text;
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.fail(`timed out after ${timeoutMs} ms waiting for ${pattern} in pane ${name}:\n${text}`);
  }
  serverPid: number | undefined;
  close(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server'], { env: this.env });
    // The workspace (and the socket in it) may be gone already: end the server by its pid.
    try {
      if (this.serverPid) process.kill(this.serverPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

const terminals: Terminal[] = [];
after(() => terminals.forEach((t) => t.close()));
const terminal = (ws: Workspace) => {
  const t = new Terminal(ws);
  terminals.push(t);
  return t;
};

test('a run on a terminal: header, stage rows, running nodes with progress, the final summary; status --watch follows it', { skip: SKIP, timeout: 180_000 }, async () => {
  const t = terminal(workspaceWith(pipeline));
  t.open('main', 'run');
  // Header and stage rows.
  const header = await t.waitFor('main', /^basin · tmuxtest \(basin\.yaml\) · jobs 2 · cache /m);
  assert.match(header, /^8 nodes: \d cached, \d to run$/m);
  // A running node with its bar, percentage, elapsed time, message, metric and sparkline.
  const live = await t.waitFor('main', /^ ▸ train\[seed=\d\] +█+░* +\d+% +\S+ +step \d+\/30 +loss \d\.\d+ [▁-█]+$/m);
  assert.match(live, /^ train +\S+ \d\/6 +\d done +0 cached +[12] running +0 failed$/m);
  assert.match(live, /^ data +█+ 1\/1 +1 done /m);
  assert.match(live, /^elapsed \S+ · ETA \S+ · q or Ctrl-C to stop$/m);
  for (const line of live.split('\n')) assert.ok(line.length <= 100, line);

  // Another terminal follows the same run through the store.
  t.open('watch', 'status --watch');
  const watching = await t.waitFor('watch', /^ ▸ train\[seed=\d\] /m);
  assert.match(watching, /^watching tmuxtest \(basin\.yaml\) · run \S+ · jobs 2 · cache /m);
  assert.match(watching, /^ train +\S+ \d\/6 +\d done +0 cached +[12] running +0 failed$/m);

  const end = await t.waitFor('main', /^BASIN-EXIT=\d+$/m, 120_000);
  assert.match(end, /^BASIN-EXIT=0$/m);
  assert.match(end, new RegExp(`^done: 8 ran, 0 cached, 0 failed in ${DURATION}$`, 'm'));
  assert.match(end, new RegExp(`^done {4}train\\[seed=5\\] {2}${DURATION}$`, 'm'), 'finished nodes stay in the scrollback');
  assert.match(end, /^ train +█+ 6\/6 +6 done +0 cached +0 running +0 failed$/m);
  assert.doesNotMatch(end, /^ ▸ /m, 'no running rows after the end');

  const watched = await t.waitFor('watch', /^BASIN-EXIT=\d+$/m, 60_000);
  assert.match(watched, /^BASIN-EXIT=0$/m);
  assert.match(watched, new RegExp(`^done: \\d ran, \\d cached, 0 failed in ${DURATION}$`, 'm'));
});

test('q stops a run: running stages are aborted, finished work is kept, exit code 130', { skip: SKIP, timeout: 180_000 }, async () => {
  const ws = workspaceWith(pipeline);
  const t = terminal(ws);
  t.open('main', 'run');
  await t.waitFor('main', /^ ▸ train\[seed=\d\] +█+/m);
  t.send('main', 'q');
  const end = await t.waitFor('main', /^BASIN-EXIT=\d+$/m, 60_000);
  assert.match(end, /^BASIN-EXIT=130$/m);
  assert.match(end, new RegExp(`^aborted: \\d ran, 0 cached, 0 failed, \\d skipped in ${DURATION}$`, 'm'));
  // What finished before q is in the cache: data at least.
  const again = spawnSync(process.execPath, [CLI, 'plan', '--cache', ws.cache], { cwd: ws.dir, encoding: 'utf8' });
  assert.match(again.stdout, /^plan: tmuxtest \(basin\.yaml\): [1-7] to run, [1-7] cached, 8 nodes$/m);
});
