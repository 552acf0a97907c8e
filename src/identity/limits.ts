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
export interface LimitedEdge {
  a: string;
  b: string;
  aType: string;
  bType: string;
}

export interface LimitResult {
  /** node -> cluster key (the smallest node id of its cluster) */
  clusters: Map<string, string>;
  /** links refused, each with the type whose limit it would have broken */
  blocked: (LimitedEdge & { type: string; limit: number })[];
}

/**
 * Splits one component. `edges` must be in replay order; a self-loop (a = b) only declares a node.
 */
export function splitByLimits(edges: Iterable<LimitedEdge>, limits: ReadonlyMap<string, number>): LimitResult {
  const parent = new Map<string, string>();
  const counts = new Map<string, Map<string, number>>();
  const blocked: LimitResult['blocked'] = [];
  const add = (node: string, type: string) => {
    if (parent.has(node)) return;
    parent.set(node, node);
    counts.set(node, new Map([[type, 1]]));
  };
  const find = (node: string): string => {
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
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    parent.set(child, root);
    const into = counts.get(root)!;
    for (const [type, n] of counts.get(child)!) into.set(type, (into.get(type) ?? 0) + n);
    counts.delete(child);
  }
  const clusters = new Map<string, string>();
  for (const node of parent.keys()) clusters.set(node, find(node));
  return { clusters, blocked };
}
