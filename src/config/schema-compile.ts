import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { KindCatalog } from './catalog.js';
import { packagePath } from './package-root.js';

/**
 * Compiled validators for one catalog. Compiling costs milliseconds; validating a node costs
 * microseconds, so validators are built once per catalog per process and reused for every node.
 */
export interface CompiledSchemas {
  /** The raw document (before interpolation), with each stage's `with` checked by its kind's schema. */
  readonly document: ValidateFunction;
  /** One resolved `with` block of `kind`: interpolation strings rejected, defaults filled in place. */
  resolved(kind: string): ValidateFunction | undefined;
}

const PIPELINE_ID = 'https://basin.dev/schemas/pipeline.schema.json';
/** The authored schema, as editors see it. Read once: it ships with the package. */
const PIPELINE_SCHEMA = JSON.parse(readFileSync(packagePath('schemas/pipeline.schema.json'), 'utf8')) as Record<string, unknown>;

const cache = new WeakMap<KindCatalog, CompiledSchemas>();

export function compiledFor(catalog: KindCatalog): CompiledSchemas {
  let compiled = cache.get(catalog);
  if (!compiled) {
    compiled = compile(catalog);
    cache.set(catalog, compiled);
  }
  return compiled;
}

/**
 * validateSchema off: checking our schemas against the 2020-12 meta-schema costs ~90 ms per Ajv
 * instance at every start; test/config/schema.test.ts checks them (strictly) once instead.
 * code.optimize off: on schemas this small the optimising pass costs more at start than it saves.
 */
const AJV_OPTIONS = { allErrors: true, verbose: true, allowUnionTypes: true, strict: true, validateSchema: false, code: { optimize: false } } as const;

function compile(catalog: KindCatalog): CompiledSchemas {
  const stageSchemas = new Map<string, Record<string, unknown>>();
  for (const kind of catalog.kinds) {
    const schema = catalog.schemaOf(kind);
    if (!schema) continue;
    const clone = structuredClone(schema) as Record<string, unknown>;
    clone['$id'] ??= `https://basin.dev/schemas/stages/${kind}.schema.json`;
    stageSchemas.set(kind, clone);
  }

  const raw = new Ajv2020(AJV_OPTIONS);
  for (const schema of stageSchemas.values()) raw.addSchema(schema);
  const document = raw.compile(documentSchema(stageSchemas));

  // Resolved values are checked against the same stage schemas, but with the interpolation
  // alternative removed: after interpolation, "${...}" is never a valid number or list. Removed, not
  // just made false: Ajv fills no defaults inside anyOf, so a mapping that may also be written as an
  // interpolation (`model: "${params.model}"`) would lose its nested defaults.
  const resolvedAjv = new Ajv2020({ ...AJV_OPTIONS, useDefaults: true });
  resolvedAjv.addSchema({ $id: PIPELINE_ID, $defs: { interpolation: false } });
  const validators = new Map<string, ValidateFunction>();
  return {
    document,
    resolved(kind) {
      const schema = stageSchemas.get(kind);
      if (!schema) return undefined;
      let v = validators.get(kind);
      if (!v) {
        v = resolvedAjv.compile(withoutInterpolation(schema) as Record<string, unknown>);
        validators.set(kind, v);
      }
      return v;
    },
  };
}

/**
 * The authored pipeline schema with its per-kind part rebuilt from the catalog: editors get the
 * kinds listed in the file, basin checks exactly the kinds it can run and reports unknown kinds
 * itself (with a "did you mean"), so the `kind` enum is dropped here.
 */
function documentSchema(stageSchemas: ReadonlyMap<string, Record<string, unknown>>): object {
  const schema = structuredClone(PIPELINE_SCHEMA) as { $defs: { stage: Record<string, unknown> & { properties: Record<string, unknown> } } };
  const stage = schema.$defs.stage;
  const { enum: _kinds, ...kind } = stage.properties['kind'] as Record<string, unknown>;
  stage.properties['kind'] = kind;
  const branches = [...stageSchemas].map(([name, s]) => ({
    if: { properties: { kind: { const: name } }, required: ['kind'] },
    then: {
      properties: { with: { $ref: s['$id'] } },
      // A kind with required parameters needs a `with` block at all.
      ...(Array.isArray(s['required']) && s['required'].length > 0 ? { required: ['with'] } : {}),
    },
  }));
  if (branches.length > 0) stage['allOf'] = branches;
  else delete stage['allOf'];
  return schema;
}

const INTERPOLATION_REF = '../pipeline.schema.json#/$defs/interpolation';

/**
 * The schema with every `anyOf: [X, {$ref: interpolation}]` whose X is a mapping schema replaced by X
 * merged into its parent, so Ajv fills X's defaults. Deep, on a copy.
 */
export function withoutInterpolation(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutInterpolation);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) out[k] = withoutInterpolation(v);
  const anyOf = out['anyOf'];
  if (!Array.isArray(anyOf)) return out;
  const rest = anyOf.filter((b) => !(b && typeof b === 'object' && (b as Record<string, unknown>)['$ref'] === INTERPOLATION_REF));
  if (rest.length === anyOf.length) return out;
  // Only mappings need it (defaults live in their properties); scalars keep the anyOf, whose
  // errors read better ("a number >= 0").
  const only = rest.length === 1 ? (rest[0] as Record<string, unknown>) : undefined;
  if (only && typeof only === 'object' && (only['type'] === 'object' || 'properties' in only) && !Object.keys(only).some((k) => k !== 'anyOf' && k in out)) {
    const { anyOf: _dropped, ...parent } = out;
    return { ...parent, ...only };
  }
  return out;
}
