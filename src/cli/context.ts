import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../config/package-root.js';
import type { Pipeline } from '../config/types.js';
import { DiagnosticError } from '../diagnostics/diagnostic.js';
import { openLmdbStore } from '../store/lmdb-store.js';
import type { Store } from '../store/types.js';
import { stageKinds } from '../stages/registry.js';
import { cachedPipeline, rememberPipeline } from './pipeline-cache.js';

/**
 * Which pipeline a command means when none is named: ./basin.yaml if there is one, else
 * pipelines/quick.yaml here, else the one shipped with basin.
 */
export function defaultPipelineFile(cwd = process.cwd()): string {
  if (existsSync(resolve(cwd, 'basin.yaml'))) return 'basin.yaml';
  if (existsSync(resolve(cwd, 'pipelines', 'quick.yaml'))) return 'pipelines/quick.yaml';
  return resolve(packageRoot(), 'pipelines', 'quick.yaml');
}

function readSource(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DiagnosticError([
      {
        code: 'no-file',
        message: code === 'ENOENT' ? `pipeline file "${path}" does not exist` : `cannot read pipeline file "${path}": ${code ?? String(e)}`,
        remedy: 'give the path of a pipeline YAML file, e.g. `basin run pipelines/quick.yaml`',
      },
    ]);
  }
}

/**
 * Reads and compiles a pipeline; with a store, an unchanged file is taken from the compiled-pipeline
 * cache and the YAML parser and schema validator are never loaded.
 */
export async function readPipeline(file: string | undefined, store?: Store): Promise<Pipeline> {
  const path = file ?? defaultPipelineFile();
  const source = readSource(path);
  const hit = store ? cachedPipeline(store, path, source) : undefined;
  if (hit) return hit;
  const [{ loadPipeline }, { catalogFromSchemaDir }] = await Promise.all([import('../config/load.js'), import('../config/schema-catalog.js')]);
  const result = loadPipeline(path, source, catalogFromSchemaDir([...stageKinds]));
  if (!result.ok) throw new DiagnosticError(result.error);
  if (store) await rememberPipeline(store, path, source, result.value);
  return result.value;
}

export function cacheDir(flag: string | undefined): string {
  return flag ?? (process.env['BASIN_CACHE'] || 'cache');
}

export function openStore(flag: string | undefined): Promise<Store> {
  return openLmdbStore(resolve(cacheDir(flag)));
}

/** Opens the cache and reads the pipeline through it; closes the cache again if reading fails. */
export async function openWorkspace(file: string | undefined, cacheFlag: string | undefined): Promise<{ store: Store; pipeline: Pipeline }> {
  const store = await openStore(cacheFlag);
  try {
    return { store, pipeline: await readPipeline(file, store) };
  } catch (e) {
    await store.close();
    throw e;
  }
}
