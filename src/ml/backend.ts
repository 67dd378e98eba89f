import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Which TF.js backend a numeric stage runs on, decided WITHOUT importing TF.js (planning and fully
 * cached runs must stay fast). The choice is part of every numeric stage's key: results from
 * different backends are different results.
 *
 * `auto` picks `node` when @tensorflow/tfjs-node is installed with its native binding, else `wasm`
 * (its .wasm files ship in the npm package), else `cpu`. An explicit choice that cannot load fails
 * the stage with a clear message; it never falls back silently, since the key names the backend.
 */
export type BackendName = 'node' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'node', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function hasNativeBinding(dir: string): boolean {
  const lib = join(dir, 'lib');
  if (!existsSync(lib)) return false;
  // tfjs-node's install step downloads libtensorflow and builds lib/napi-v*/tfjs_binding.node.
  return readdirSafe(lib).some((d) => d.startsWith('napi-v') && existsSync(join(lib, d, 'tfjs_binding.node')));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

let resolvedAuto: BackendName | undefined;

export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice !== 'auto') return choice;
  if (resolvedAuto) return resolvedAuto;
  const node = packageDir('@tensorflow/tfjs-node');
  if (node && hasNativeBinding(node)) return (resolvedAuto = 'node');
  if (packageDir('@tensorflow/tfjs-backend-wasm')) return (resolvedAuto = 'wasm');
  return (resolvedAuto = 'cpu');
}

let version: string | undefined;

/** The installed TF.js version, read from its package.json. */
export function tfjsVersion(): string {
  if (version) return version;
  const dir = packageDir('@tensorflow/tfjs-core');
  const pkg = dir ? (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }) : { version: 'missing' };
  return (version = pkg.version);
}

/** The runtime facts every numeric stage puts in its key. */
export function numericFacts(choice: BackendChoice): { backend: BackendName; tfjs: string } {
  return { backend: resolveBackend(choice), tfjs: tfjsVersion() };
}

/** Whether this machine can run `name` (a remote worker refuses jobs keyed for a backend it lacks). */
export function backendAvailable(name: BackendName): boolean {
  if (name === 'cpu') return true;
  const dir = packageDir(name === 'node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-backend-wasm');
  return dir !== undefined && (name === 'wasm' || hasNativeBinding(dir));
}
