// Preloaded with `node --import` by test/ui/cli-ui.test.ts: appends every import of Ink or React
// (bare specifiers `ink`, `react`, `react/...`, `react-reconciler`) to the file named by
// BASIN_TRACE_UI_IMPORTS. Planning, status and runs reported as lines must never load them.
import { register } from 'node:module';

const out = process.env.BASIN_TRACE_UI_IMPORTS;
if (out) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    export async function resolve(specifier, context, next) {
      if (/^(ink|react|react-reconciler)(\\/|$)/.test(specifier)) appendFileSync(${JSON.stringify(out)}, specifier + '\\n');
      return next(specifier, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
