import type { KindCatalog } from '../../src/config/catalog.js';
import { loadPipeline } from '../../src/config/load.js';
import { packageRoot } from '../../src/config/package-root.js';
import { catalogFromSchemaDir } from '../../src/config/schema-catalog.js';
import type { Pipeline } from '../../src/config/types.js';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.js';
import { formatDiagnostics } from '../../src/diagnostics/print.js';

export const catalog: KindCatalog = catalogFromSchemaDir(['command', 'probe']);
export const root = packageRoot();

/** Loads YAML text that must be valid; a failure shows the formatted diagnostics. */
export function load(yaml: string, file = 'pipelines/test.yaml'): Pipeline {
  const r = loadPipeline(file, yaml, catalog, { cwd: '/home/researcher/project' });
  if (!r.ok) throw new Error(`expected a valid pipeline:\n${formatDiagnostics(r.error, yaml)}`);
  return r.value;
}

/** Loads YAML text that must be invalid; returns its diagnostics. */
export function loadErrors(yaml: string, file = 'pipelines/test.yaml'): Diagnostic[] {
  const r = loadPipeline(file, yaml, catalog, { cwd: '/home/researcher/project' });
  if (r.ok) throw new Error('expected diagnostics, but the pipeline loaded');
  return r.error;
}

/** `version: 1`, `name: t` and the given stages block (indented by the caller). */
export const pipeline = (body: string): string => `version: 1\nname: t\n${body}`;
