import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { StageFailure } from '../stages/failure.js';
import type { BackendName } from './backend.js';
import { installGradientFixes } from './gradients.js';

export type TF = typeof import('@tensorflow/tfjs');

/**
 * TF.js keeps one global engine per thread (kernel and gradient registries, the active backend), so
 * this module loads it once and pins the backend: two stages in one thread asking for different
 * backends would silently compute on whichever was set last. Parallelism is across worker threads,
 * each with its own loadTf.
 */
let current: { readonly backend: BackendName; readonly tf: Promise<TF> } | undefined;

/**
 * Loads TF.js once per thread on the given backend, installs the gradient fixes, returns tf. A
 * second call with another backend throws. Fails with StageFailure when the backend cannot load.
 * TF.js's console chatter (the "install the node backend" banner, kernel warnings) is silenced.
 */
export async function loadTf(backend: BackendName): Promise<TF> {
  if (current) {
    if (current.backend !== backend) {
      throw new Error(`internal error: TF.js is already loaded on the ${current.backend} backend in this thread; cannot switch to ${backend}`);
    }
    return current.tf;
  }
  const tf = load(backend);
  current = { backend, tf };
  // A failed load leaves no backend active, so a retry (say, with wasm after node failed) is allowed.
  tf.catch(() => {
    if (current?.tf === tf) current = undefined;
  });
  return tf;
}

const require = createRequire(import.meta.url);

/** The kernel backend's name inside TF.js for each of basin's backend names. */
const TF_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

async function load(backend: BackendName): Promise<TF> {
  return quietly(async () => {
    // require, not import(): TF.js ships CommonJS, and importing it as ESM first runs Node's
    // export scanner over its megabytes of source (about 0.35 s of each worker's start-up).
    const tf = require('@tensorflow/tfjs') as TF;
    // PROD turns off TF.js's own console.warn calls (the cpu backend's "Hi, looks like you are running
    // TensorFlow.js in Node.js" banner is printed on its first tensor, long after this function).
    tf.env().set('PROD', true);
    if (backend === 'node') await importNodeBackend();
    if (backend === 'wasm') await prepareWasm();
    const ok = await tf.setBackend(TF_NAME[backend]).catch((e: unknown) => {
      throw new StageFailure(`backend ${backend}: TF.js could not initialise it (${message(e)})${remedy(backend)}`);
    });
    if (!ok) throw new StageFailure(`backend ${backend}: TF.js could not initialise it${remedy(backend)}`);
    await tf.ready();
    installGradientFixes(tf);
    return tf;
  });
}

function remedy(backend: BackendName): string {
  return backend === 'cpu' ? '' : `; use --backend ${backend === 'node' ? 'wasm' : 'cpu'}`;
}

async function importNodeBackend(): Promise<void> {
  // Not a static import: tfjs-node is an optional dependency that is usually absent (its install
  // step downloads libtensorflow), and the type checker must not require it either.
  const name = '@tensorflow/tfjs-node';
  try {
    require(name);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new StageFailure('backend node: @tensorflow/tfjs-node is not installed; use --backend wasm');
    }
    throw new StageFailure(`backend node: @tensorflow/tfjs-node failed to load (${message(e)}); use --backend wasm`);
  }
}

async function prepareWasm(): Promise<void> {
  let dist: string;
  try {
    dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  } catch {
    throw new StageFailure('backend wasm: @tensorflow/tfjs-backend-wasm is not installed; run npm install, or use --backend cpu');
  }
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm files are read from disk: a file path prefix ending in '/' works, a URL does not.
  wasm.setWasmPaths(dist);
}

/**
 * Runs `f` with console.log/info/warn filtered: lines that look like TF.js or Emscripten chatter
 * are dropped, everything else still goes through (other code in this thread may be logging).
 */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const methods = ['log', 'info', 'warn'] as const;
  const saved = methods.map((m) => console[m]);
  methods.forEach((m, i) => {
    const original = saved[i] as (...args: unknown[]) => void;
    console[m] = (...args: unknown[]) => {
      if (!CHATTER.test(args.map(String).join(' '))) original.apply(console, args);
    };
  });
  try {
    return await f();
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i] as (...args: unknown[]) => void));
  }
}

// Specific phrases only: a broad filter would eat unrelated lines logged during the load window.
const CHATTER = /tensorflow|tfjs|Hi there|Hi, looks like|wasm streaming compile failed|falling back to ArrayBuffer|cpu_feature_guard|oneDNN|^\s*={10,}\s*$/i;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
