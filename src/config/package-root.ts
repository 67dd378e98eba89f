import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The directory holding basin's package.json. Code runs compiled from dist/src/..., tests from
 * dist/test/..., so a fixed number of `..` would break whenever a file moves; walking up does not.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`internal error: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Absolute path of a file shipped with the package, e.g. `schemas/pipeline.schema.json`. */
export const packagePath = (relative: string): string => join(packageRoot(), relative);
