/**
 * Vega-Lite specs to SVG strings, in Node, without a browser or canvas: vega-lite compiles the spec
 * to Vega, and a headless Vega View (renderer 'none') renders SVG markup. Text widths are estimated
 * without canvas, which only affects label layout. Loaded lazily (the libraries are a few MB): only a
 * report pays for them.
 */
export type VegaLiteSpec = Record<string, unknown>;

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec } as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
