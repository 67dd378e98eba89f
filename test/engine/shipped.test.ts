import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Workspace } from './rig.js';

/** Every pipeline shipped in pipelines/ is valid and plans (what `npm start` runs must never break). */
const PIPELINES = fileURLToPath(new URL('../../../pipelines/', import.meta.url));
const ws = new Workspace();
after(() => ws.dispose());

for (const name of readdirSync(PIPELINES).filter((f) => f.endsWith('.yaml'))) {
  test(`pipelines/${name} is valid and plans`, async () => {
    const r = await ws.basin('plan', join(PIPELINES, name));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^plan: /);
  });
}
