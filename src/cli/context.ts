import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadPipeline } from '../config/load.js';
import { packageRoot } from '../config/package-root.js';
import { catalogFromSchemaDir } from '../config/schema-catalog.js';
import type { Pipeline } from '../config/types.js';
import { DiagnosticError } from '../diagnostics/diagnostic.js';
import { openLmdbStore } from '../store/lmdb-store.js';
import type { Store } from '../store/types.js';
import { stageKinds } from '../stages/registry.js';

/**
 * Which pipeline a command means when none is named: ./basin.yaml if there is one, else the
 * shipped default, pipelines/quick.yaml of this package.
 */
export function defaultPipelineFile(cwd = process.cwd()): string {
  const local = resolve(cwd, 'basin.yaml');
  if (existsSync(local)) return 'basin.yaml';
  const shipped = resolve(packageRoot(), 'pipelines', 'quick.yaml');
  return existsSync(resolve(cwd, 'pipelines', 'quick.yaml')) ? 'pipelines/quick.yaml' : shipped;
}

export function readPipeline(file: string | undefined): Pipeline {
  const path = file ?? defaultPipelineFile();
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
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
  const result = loadPipeline(path, source, catalogFromSchemaDir([...stageKinds]));
  if (!result.ok) throw new DiagnosticError(result.error);
  return result.value;
}

export function cacheDir(flag: string | undefined): string {
  return flag ?? process.env['BASIN_CACHE'] ?? 'cache';
}

export function openStore(flag: string | undefined): Promise<Store> {
  return openLmdbStore(resolve(cacheDir(flag)));
}
