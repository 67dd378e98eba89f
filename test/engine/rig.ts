import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import type { RunEvent } from '../../src/run/events.js';

/** The compiled CLI (tests run from dist/test/...). */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A throwaway workspace with its own pipeline file and cache, driven through the real CLI in a
 * child process, as a user would (after wireit's test rig).
 */
export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'basin-test-'));
  readonly cache = join(this.dir, 'cache');

  write(name: string, text: string): this {
    writeFileSync(join(this.dir, name), text);
    return this;
  }

  start(args: readonly string[]): ChildProcess {
    return spawn(process.execPath, [CLI, ...args, '--cache', this.cache], {
      cwd: this.dir,
      env: { ...process.env, BASIN_CACHE: '', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  basin(...args: string[]): Promise<CliResult> {
    return collect(this.start(args));
  }

  /** `basin run FILE --json`, parsed. */
  async run(file = 'basin.yaml', ...args: string[]): Promise<RunOutcome> {
    const r = await this.basin('run', file, '--json', ...args);
    return new RunOutcome(r);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export class RunOutcome {
  readonly events: RunEvent[];
  constructor(readonly result: CliResult) {
    this.events = result.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as RunEvent);
  }
  get code(): number | null {
    return this.result.code;
  }
  /** Node ids that executed (a node-done event), sorted. */
  get ran(): string[] {
    return this.nodes('node-done');
  }
  get cached(): string[] {
    return this.nodes('node-cached');
  }
  get failed(): string[] {
    return this.nodes('node-failed');
  }
  get skipped(): string[] {
    return this.nodes('node-skipped');
  }
  get started(): Extract<RunEvent, { type: 'node-start' }>[] {
    return this.events.filter((e): e is Extract<RunEvent, { type: 'node-start' }> => e.type === 'node-start');
  }
  nodes(type: RunEvent['type']): string[] {
    return this.events.flatMap((e) => (e.type === type && 'node' in e ? [e.node as string] : [])).sort();
  }
  get end(): Extract<RunEvent, { type: 'run-end' }> {
    const e = this.events.find((x) => x.type === 'run-end');
    if (!e || e.type !== 'run-end') throw new Error(`no run-end event; stderr:\n${this.result.stderr}\nstdout:\n${this.result.stdout}`);
    return e;
  }
}

const created: Workspace[] = [];
after(() => created.forEach((w) => w.dispose()));

/** A workspace with this `basin.yaml`, removed when the test file ends. */
export function workspaceWith(pipeline: string): Workspace {
  const ws = new Workspace().write('basin.yaml', pipeline);
  created.push(ws);
  return ws;
}
