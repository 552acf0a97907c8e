import { CdpError } from '../errors/cdp-error';
import { IDENTITY_NODE, IDENTITY_SOURCES, suggest, type GraphNode, type Project } from './project';

export class DagError extends CdpError {}

/**
 * The model graph: nodes are models, seeds, (when configured) the identity step and segments; edges
 * point from a node to the nodes that ref it. The identity step is a child of the models it reads and a
 * parent of every model that reads one of its tables (`{{source "cdp" "profiles"}}`) and of every
 * segment; a segment is also a child of the segments it names and a parent of models that ref it.
 */
export class ModelGraph {
  private readonly parents = new Map<string, string[]>();
  private readonly children = new Map<string, string[]>();
  /** every node, parents before children, ties in name order */
  readonly order: string[];

  constructor(private readonly project: Project) {
    const identity = project.identity;
    for (const name of [...project.seeds.keys(), ...project.models.keys(), ...(identity ? [identity.name] : []), ...project.segments.keys()]) {
      this.parents.set(name, []);
      this.children.set(name, []);
    }
    const link = (child: string, parent: string) => {
      this.parents.get(child)!.push(parent);
      this.children.get(parent)?.push(child);
    };
    for (const model of project.models.values()) {
      for (const ref of model.refs) link(model.name, ref);
      if (identity && model.sources.some(([source, table]) => source === 'cdp' && table in IDENTITY_SOURCES)) link(model.name, identity.name);
    }
    for (const ref of identity?.refs ?? []) link(IDENTITY_NODE, ref);
    // a segment reads the profiles and their events, and the segments it names
    for (const segment of project.segments.values()) {
      if (identity) link(segment.name, identity.name);
      for (const ref of segment.refs) link(segment.name, ref);
    }
    this.order = this.topologicalOrder();
  }

  node(name: string): GraphNode {
    const node =
      this.project.models.get(name) ?? this.project.seeds.get(name) ?? this.project.segments.get(name) ?? (name === IDENTITY_NODE ? this.project.identity : undefined);
    if (!node) throw new DagError('MODEL_NOT_FOUND', `no model, seed or segment named "${name}"${suggest(name, [...this.parents.keys()])}`);
    return node;
  }

  parentsOf(name: string): string[] {
    return this.parents.get(name) ?? [];
  }

  childrenOf(name: string): string[] {
    return this.children.get(name) ?? [];
  }

  /** All nodes reachable upward (depth undefined = unlimited). */
  ancestors(name: string, depth?: number): Set<string> {
    return this.reach(name, (n) => this.parentsOf(n), depth);
  }

  descendants(name: string, depth?: number): Set<string> {
    return this.reach(name, (n) => this.childrenOf(n), depth);
  }

  private reach(start: string, next: (n: string) => string[], depth = Infinity): Set<string> {
    const seen = new Set<string>();
    let frontier = [start];
    for (let d = 0; d < depth && frontier.length; d++) {
      const nextFrontier: string[] = [];
      for (const n of frontier) {
        for (const m of next(n)) {
          if (!seen.has(m)) {
            seen.add(m);
            nextFrontier.push(m);
          }
        }
      }
      frontier = nextFrontier;
    }
    return seen;
  }

  private topologicalOrder(): string[] {
    const indegree = new Map([...this.parents].map(([n, ps]) => [n, ps.length]));
    const ready = [...indegree].filter(([, d]) => d === 0).map(([n]) => n).sort();
    const order: string[] = [];
    while (ready.length) {
      const n = ready.shift()!;
      order.push(n);
      for (const c of this.childrenOf(n)) {
        indegree.set(c, indegree.get(c)! - 1);
        if (indegree.get(c) === 0) {
          ready.push(c);
          ready.sort();
        }
      }
    }
    if (order.length < indegree.size) throw new DagError('DAG_CYCLE', `models form a cycle: ${this.findCycle(new Set(order)).join(' -> ')}`);
    return order;
  }

  private findCycle(done: Set<string>): string[] {
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const dfs = (n: string): string[] | undefined => {
      state.set(n, 'visiting');
      stack.push(n);
      for (const c of this.childrenOf(n)) {
        if (done.has(c)) continue;
        if (state.get(c) === 'visiting') return [...stack.slice(stack.indexOf(c)), c];
        if (!state.has(c)) {
          const found = dfs(c);
          if (found) return found;
        }
      }
      stack.pop();
      state.set(n, 'done');
      return undefined;
    };
    for (const n of [...this.parents.keys()].sort()) {
      if (!done.has(n) && !state.has(n)) {
        const found = dfs(n);
        if (found) return found;
      }
    }
    return [];
  }

  /**
   * dbt-style selection. Each selector is `name`, `+name` (and its ancestors), `name+` (and its
   * descendants), `2+name` / `name+1` (limited depth), `tag:daily`, `path:models/staging`, or `*`.
   * Selectors separated by spaces or commas are a union. No selector means every node.
   */
  select(selectors: string[] | undefined): string[] {
    const tokens = (selectors ?? []).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
    if (tokens.length === 0) return [...this.order];
    const chosen = new Set<string>();
    for (const token of tokens) {
      const m = /^(\d*\+)?([^+]+?)(\+\d*)?$/.exec(token);
      if (!m) throw new DagError('SELECTOR_INVALID', `cannot read selector "${token}"; use name, +name, name+, tag:x or path:dir`);
      const [, up, body, down] = m;
      const matched = this.match(body);
      if (matched.length === 0) {
        throw new DagError('SELECTOR_INVALID', `selector "${token}" matches no model or seed${suggest(body, [...this.parents.keys()])}`);
      }
      for (const name of matched) {
        chosen.add(name);
        if (up) this.ancestors(name, up.length > 1 ? Number(up.slice(0, -1)) : undefined).forEach((n) => chosen.add(n));
        if (down) this.descendants(name, down.length > 1 ? Number(down.slice(1)) : undefined).forEach((n) => chosen.add(n));
      }
    }
    return this.order.filter((n) => chosen.has(n));
  }

  private match(body: string): string[] {
    const all = [...this.parents.keys()];
    if (body === '*') return all;
    if (body.startsWith('tag:')) {
      const tag = body.slice(4);
      return [...this.project.models.values()].filter((m) => m.config.tags.includes(tag)).map((m) => m.name);
    }
    if (body.startsWith('path:')) {
      const prefix = body.slice(5).replace(/\/$/, '');
      return all.filter((n) => {
        const p = this.node(n).path;
        return p === prefix || p.startsWith(prefix + '/');
      });
    }
    if (body.includes('*')) {
      const re = new RegExp('^' + body.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
      return all.filter((n) => re.test(n));
    }
    return this.parents.has(body) ? [body] : [];
  }
}
