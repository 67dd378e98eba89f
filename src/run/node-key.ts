import type { PlannedNode } from '../config/types.js';
import type { Digest, NodeId } from '../fingerprint/ids.js';
import { KEY_FORMAT, type FingerprintRecord } from '../fingerprint/key.js';
import { hashFiles, type FileHashMemo } from '../fingerprint/files.js';
import { stageOf } from '../stages/registry.js';
import type { StageEnv } from '../stages/types.js';

/** A file the key depends on does not exist: the node cannot be keyed, let alone run. */
export class MissingFile extends Error {
  constructor(readonly path: string, readonly nodeId: NodeId) {
    super(`file "${path}" (a dep of ${nodeId}) does not exist: create it, or remove it from deps`);
    this.name = 'MissingFile';
  }
}

/** Placeholder for an input whose upstream has not produced its outputs yet (dry runs only). */
export const PENDING = 'pending' as Digest;

/**
 * The one place a node's fingerprint record is assembled. `outputsDigestOf` gives each upstream
 * node's output-manifest digest (or undefined while it is pending).
 */
export async function fingerprintNode(
  node: PlannedNode,
  env: StageEnv,
  outputsDigestOf: (id: NodeId) => Digest | undefined,
  memo: FileHashMemo,
): Promise<{ record: FingerprintRecord; pending: Map<string, NodeId[]> }> {
  const stage = stageOf(node.kind);
  const facts = stage.facts?.(node.params, env) ?? {};
  const pending = new Map<string, NodeId[]>();
  const inputs: Record<string, Digest | Digest[]> = {};
  for (const [name, input] of Object.entries(node.inputs)) {
    const digests = input.nodes.map((id) => {
      const d = outputsDigestOf(id);
      if (d === undefined) {
        const list = pending.get(name) ?? [];
        list.push(id);
        pending.set(name, list);
        return PENDING;
      }
      return d;
    });
    inputs[name] = input.gather ? digests : (digests[0] as Digest);
  }
  let files: Record<string, Digest> = {};
  if (facts.files?.length) {
    const hashed = await hashFiles([...facts.files], env.workdir, memo);
    if ('missing' in hashed) throw new MissingFile(String(hashed.missing), node.id);
    files = hashed;
  }
  const record: FingerprintRecord = {
    keyFormat: KEY_FORMAT,
    kind: node.kind,
    kindVersion: stage.version,
    params: node.params,
    inputs,
    runtime: facts.runtime ?? {},
    files,
  };
  return { record, pending };
}
