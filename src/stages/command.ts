import { spawn } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Outputs } from './artifact.js';
import { StageAborted, StageFailure } from './failure.js';
import type { StageDefinition } from './types.js';

/**
 * A shell command, like DVC's `cmd`. Its stdout is its output artifact; `deps` are workspace files
 * whose content is part of the key; `outs` are files it writes, stored in the cache and written
 * back on a cache hit. Declared outs are removed before the command runs, so a stale file can never
 * pass for a fresh one.
 */
export interface CommandParams {
  readonly run: string;
  readonly deps: readonly string[];
  readonly outs: readonly string[];
  readonly env: Readonly<Record<string, string | number | boolean>>;
}

const STDERR_TAIL_LINES = 20;

export const command: StageDefinition<CommandParams> = {
  kind: 'command',
  version: 1,
  schema: 'command.schema.json',
  // Forking from Node costs milliseconds of synchronous work per process; on a worker thread it
  // does not stall the scheduler, and forks from several workers overlap.
  placement: 'inline',
  loadsInputs: false,
  runsShell: true,
  facts(params) {
    return { files: params.deps };
  },
  restore(params) {
    return params.outs.map((path, i) => ({ output: `out.${i}`, path }));
  },
  async run(ctx) {
    const { run, outs, env } = ctx.params;
    for (const out of outs) await rm(resolve(ctx.workdir, out), { force: true, recursive: true });
    const { code, signal, stdout, stderrTail } = await exec(run, ctx.workdir, env, ctx.signal, (line) => ctx.log(line));
    if (ctx.signal.aborted) throw new StageAborted();
    if (code !== 0) {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = stderrTail.length ? `\n${stderrTail.join('\n')}` : '';
      throw new StageFailure(`command ${how}: ${run}${tail}`, { code, signal, stderr: stderrTail });
    }
    const outputs: Record<string, Outputs[string]> = {
      stdout: { type: 'bytes', data: stdout, mediaType: 'text/plain' },
    };
    for (const [i, out] of outs.entries()) {
      const path = resolve(ctx.workdir, out);
      const info = await stat(path).catch(() => undefined);
      if (!info) throw new StageFailure(`command finished but did not write its declared out "${out}"`);
      if (!info.isFile()) throw new StageFailure(`declared out "${out}" is not a regular file (directories are not supported as outs)`);
      outputs[`out.${i}`] = { type: 'bytes', data: new Uint8Array(await readFile(path)), mediaType: 'application/octet-stream' };
    }
    return { outputs, info: { stderr: stderrTail, outs: Object.fromEntries(outs.map((o, i) => [`out.${i}`, o])) } };
  },
};

interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Uint8Array;
  stderrTail: string[];
}

function exec(
  cmd: string,
  cwd: string,
  env: Readonly<Record<string, string | number | boolean>>,
  abort: AbortSignal,
  onLine: (line: string) => void,
): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    // detached: the command gets its own process group, so an abort kills its children too.
    const child = spawn('/bin/sh', ['-c', cmd], { cwd, env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const tail: string[] = [];
    let partial = '';
    const pushLine = (line: string) => {
      onLine(line);
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
    };
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) pushLine(line);
    });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    };
    abort.addEventListener('abort', kill, { once: true });
    child.on('error', (e) => {
      abort.removeEventListener('abort', kill);
      reject(new StageFailure(`could not start /bin/sh in ${cwd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      abort.removeEventListener('abort', kill);
      if (partial) pushLine(partial);
      resolvePromise({ code, signal, stdout: new Uint8Array(Buffer.concat(chunks)), stderrTail: tail });
    });
  });
}
