/**
 * Limits per profile ("at most one user_id, five emails"), applied to the few components that
 * break them. Connected components in SQL find the components; a component whose identifier counts
 * are within every limit is one profile as it is. A component over a limit (a shared device, a
 * family computer, a call-centre phone) is split here by replaying its links in time order through
 * a union-find that refuses any union that would put more values of a type into one profile than
 * the limit allows: earlier links win, and a refused link is recorded, not merged.
 *
 * The replay is deterministic (links ordered by first_seen, then by their node ids), so a full
 * rebuild and an incremental run over the same links give the same profiles.
 */
export interface LimitedEdge<N extends string | number = string> {
  a: N;
  b: N;
  aType: string;
  bType: string;
}

export interface LimitResult<N extends string | number = string> {
  /** node -> cluster key (the smallest node id of its cluster) */
  clusters: Map<N, N>;
  /** links refused, each with the type whose limit it would have broken */
  blocked: (LimitedEdge<N> & { type: string; limit: number })[];
}

/**
 * Splits one component. `edges` must be in replay order; a self-loop (a = b) only declares a node.
 * Node ids are strings, or numbers numbered in the order of the strings they stand for (the
 * resolver streams dense integers: far cheaper to read than strings), so the smallest id is the
 * smallest node either way.
 */
export function splitByLimits<N extends string | number>(edges: Iterable<LimitedEdge<N>>, limits: ReadonlyMap<string, number>): LimitResult<N> {
  const parent = new Map<N, N>();
  const counts = new Map<N, Map<string, number>>();
  const blocked: LimitResult<N>['blocked'] = [];
  const add = (node: N, type: string) => {
    if (parent.has(node)) return;
    parent.set(node, node);
    counts.set(node, new Map([[type, 1]]));
  };
  const find = (node: N): N => {
    let root = node;
    while (parent.get(root) !== root) root = parent.get(root)!;
    let n = node;
    while (n !== root) {
      const next = parent.get(n)!;
      parent.set(n, root);
      n = next;
    }
    return root;
  };
  for (const e of edges) {
    add(e.a, e.aType);
    add(e.b, e.bType);
    const ra = find(e.a);
    const rb = find(e.b);
    if (ra === rb) continue;
    const ca = counts.get(ra)!;
    const cb = counts.get(rb)!;
    let broken: { type: string; limit: number } | undefined;
    for (const [type, n] of cb) {
      const limit = limits.get(type);
      if (limit !== undefined && n + (ca.get(type) ?? 0) > limit) {
        broken = { type, limit };
        break;
      }
    }
    if (broken) {
      blocked.push({ ...e, ...broken });
      continue;
    }
    // the smaller id stays root, so the root is the cluster's smallest node
    const [root, child]: [N, N] = ra < rb ? [ra, rb] : [rb, ra];
    parent.set(child, root);
    const into = counts.get(root)!;
    for (const [type, n] of counts.get(child)!) into.set(type, (into.get(type) ?? 0) + n);
    counts.delete(child);
  }
  const clusters = new Map<N, N>();
  for (const node of parent.keys()) clusters.set(node, find(node));
  return { clusters, blocked };
}
