import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The compiled CLI (this file runs from dist/test/remote/). */
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Private redis-server processes on loopback for the distributed tests: each test gets its own
 * (and may stop it to see what a run does without Redis). `.ci/run` installs Debian's
 * redis-server; elsewhere the tests skip with a message unless BASIN_REQUIRE_REDIS=1.
 */
export const REDIS_BIN = spawnSync('redis-server', ['--version']).status === 0 ? 'redis-server' : undefined;
export const redisSkip =
  REDIS_BIN || process.env['BASIN_REQUIRE_REDIS'] === '1' ? false : 'redis-server is not installed (`apt-get install redis-server`; .ci/run does)';

const children: ChildProcess[] = [];

/** Kills every server and worker this rig started (tests call it in `after`). */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A free TCP port on loopback (the kernel picks it; a race with other processes is unlikely). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  if (!REDIS_BIN) throw new Error('redis-server is not installed: apt-get install redis-server');
  const port = await freePort();
  const child = spawn(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when its output contains `text`. */
  waitFor(text: string): Promise<void>;
  stop(): Promise<number | null>;
}

/** `basin worker` in a child process, as a user starts one. */
export function startWorker(cwd: string, ...args: string[]): WorkerProcess {
  return startBasin(cwd, ['worker', ...args]);
}

/** Any `basin` command in a child process, its output collected. */
export function startBasin(cwd: string, argv: readonly string[]): WorkerProcess {
  const child = spawn(process.execPath, [CLI, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  children.push(child);
  let text = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.filter((x) => text.includes(x.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    child,
    output: () => text,
    waitFor: (t) => (text.includes(t) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text: t, resolve }))),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
