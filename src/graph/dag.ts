/**
 * Ordering and cycles over any directed graph given as keys in a preferred order plus each key's
 * dependencies. Used at stage level by the loader (nodes then follow their stages), and usable at
 * node level. Iterative throughout: node-level graphs can be deep.
 */

export interface Ordered<K> {
  /** Keys in a topological order; among ready keys the earliest in the given order goes first. */
  readonly order: K[];
  /** Keys that could not be ordered: members of cycles and everything depending on them. */
  readonly blocked: K[];
}

/** Kahn's algorithm with ties broken by position in `keys`, so the order is stable across runs. */
export function topologicalOrder<K>(keys: readonly K[], depsOf: (k: K) => Iterable<K>): Ordered<K> {
  const index = new Map(keys.map((k, i) => [k, i]));
  const waiting = new Array<number>(keys.length).fill(0);
  const dependents: number[][] = keys.map(() => []);
  keys.forEach((k, i) => {
    for (const d of new Set(depsOf(k))) {
      const j = index.get(d);
      if (j === undefined) continue; // dependencies outside the graph do not constrain it
      waiting[i]!++;
      dependents[j]!.push(i);
    }
  });
  const ready = new MinHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const order: K[] = [];
  const done = new Array<boolean>(keys.length).fill(false);
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(keys[i]!);
    done[i] = true;
    for (const j of dependents[i]!) if (--waiting[j]! === 0) ready.push(j);
  }
  return { order, blocked: keys.filter((_, i) => !done[i]) };
}

/**
 * One cycle per strongly connected component that has one (self-loops excluded: callers report
 * those on their own), as a dependency path that starts and ends at the component's earliest key:
 * `[a, c, b, a]` means a depends on c, c on b, b on a. Components come in order of their first key.
 */
export function findCycles<K>(keys: readonly K[], depsOf: (k: K) => Iterable<K>): K[][] {
  const index = new Map(keys.map((k, i) => [k, i]));
  const deps = keys.map((k, i) =>
    [...new Set(depsOf(k))].map((d) => index.get(d)).filter((j): j is number => j !== undefined && j !== i),
  );
  const component = strongComponents(deps);
  const members = new Map<number, number[]>();
  component.forEach((c, i) => {
    const group = members.get(c);
    if (group) group.push(i);
    else members.set(c, [i]);
  });
  const cycles: K[][] = [];
  for (const group of [...members.values()].sort((a, b) => a[0]! - b[0]!)) {
    if (group.length < 2) continue;
    const start = group[0]!;
    const c = component[start]!;
    // Shortest dependency path from start back to start inside the component (breadth first).
    const previous = new Map<number, number>();
    const queue = [start];
    let closing: number | undefined;
    for (let q = 0; q < queue.length && closing === undefined; q++) {
      const at = queue[q]!;
      for (const d of deps[at]!) {
        if (component[d] !== c) continue;
        if (d === start) {
          closing = at;
          break;
        }
        if (!previous.has(d)) {
          previous.set(d, at);
          queue.push(d);
        }
      }
    }
    const path = [start];
    for (let at = closing; at !== undefined && at !== start; at = previous.get(at)) path.push(at);
    // path is start <- ... walked backwards; reverse the tail to read start -> dep -> ... -> start.
    const cycle = [start, ...path.slice(1).reverse(), start];
    cycles.push(cycle.map((i) => keys[i]!));
  }
  return cycles;
}

/** Tarjan's algorithm without recursion; returns a component number per vertex. */
function strongComponents(deps: readonly (readonly number[])[]): number[] {
  const n = deps.length;
  const order = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const component = new Array<number>(n).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let components = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, edge] = frame;
      if (edge === 0) {
        order[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = true;
      }
      if (edge < deps[v]!.length) {
        frame[1]++;
        const w = deps[v]![edge]!;
        if (order[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v]!, order[w]!);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] === order[v]) {
        for (;;) {
          const w = stack.pop()!;
          onStack[w] = false;
          component[w] = components;
          if (w === v) break;
        }
        components++;
      }
    }
  }
  return component;
}

/** A binary heap of indices: picks the earliest ready key in O(log n). */
class MinHeap {
  private readonly items: number[] = [];
  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
