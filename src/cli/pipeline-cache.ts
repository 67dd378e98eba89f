import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../config/package-root.js';
import type { Pipeline } from '../config/types.js';
import { stageKinds } from '../stages/registry.js';
import type { Store } from '../store/types.js';
import type { JsonValue } from '../util/json.js';

/**
 * Compiled pipelines, memoised in the store. Parsing YAML with positions and compiling the JSON
 * Schemas cost more than everything else in a no-op rerun (and pull in yaml and ajv); a pipeline
 * file that has not changed since the last run is taken from here instead. The entry is keyed by
 * the file's text, its absolute path and the working directory, and by a digest of the code and
 * schemas that compile it, so an upgrade of basin never serves a pipeline compiled by older rules.
 * Only valid pipelines are stored: errors are always recomputed, with their positions.
 */
const FORMAT = 1;

let toolDigest: string | undefined;

/** Digest of what decides how a pipeline compiles: config code, schemas, stage kinds. */
function compilerDigest(): string {
  if (toolDigest) return toolDigest;
  const h = createHash('sha256').update(`pipeline-cache/${FORMAT}\0${stageKinds.join(',')}\0`);
  const configDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'config');
  const schemaDir = join(packageRoot(), 'schemas');
  for (const dir of [configDir, schemaDir, join(schemaDir, 'stages')]) {
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.js') && !name.endsWith('.json')) continue;
      h.update(`${name}\0`).update(readFileSync(join(dir, name))).update('\0');
    }
  }
  return (toolDigest = h.digest('hex'));
}

export function pipelineCacheKey(file: string, source: string): { meta: string; digest: string } {
  const absFile = resolve(file);
  const digest = createHash('sha256').update(compilerDigest()).update(`\0${file}\0${absFile}\0${process.cwd()}\0`).update(source).digest('hex');
  return { meta: `pipeline:${absFile}`, digest };
}

export function cachedPipeline(store: Store, file: string, source: string): Pipeline | undefined {
  const { meta, digest } = pipelineCacheKey(file, source);
  const entry = store.getMeta(meta) as { digest?: string; pipeline?: Pipeline } | undefined;
  return entry?.digest === digest ? entry.pipeline : undefined;
}

export async function rememberPipeline(store: Store, file: string, source: string, pipeline: Pipeline): Promise<void> {
  const { meta, digest } = pipelineCacheKey(file, source);
  await store.putMeta(meta, { digest, pipeline } as unknown as JsonValue);
}
