import { readFileSync } from 'node:fs';
import type { KindCatalog } from './catalog.js';
import { packagePath } from './package-root.js';

const catalogs = new Map<string, KindCatalog>();

/**
 * A catalog whose `with` schemas are read from schemas/stages/<kind>.schema.json. The CLI passes the
 * kinds of the stage registry; tests pass the kinds they need. The same kinds give the same catalog
 * object, so the validators compiled for it (cached per catalog) are reused across loads.
 */
export function catalogFromSchemaDir(kinds: readonly string[]): KindCatalog {
  const key = kinds.join('\0');
  let catalog = catalogs.get(key);
  if (!catalog) {
    const schemas = new Map<string, object>();
    for (const kind of kinds) {
      const file = packagePath(`schemas/stages/${kind}.schema.json`);
      schemas.set(kind, JSON.parse(readFileSync(file, 'utf8')) as object);
    }
    catalog = { kinds: [...kinds], schemaOf: (kind) => schemas.get(kind) };
    catalogs.set(key, catalog);
  }
  return catalog;
}
