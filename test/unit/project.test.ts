/**
 * Project loading (models/, seeds/, yml), the model DAG (order, cycles, selectors) and the
 * Handlebars rendering of model templates. Temp folders only; nothing runs SQL.
 */
import { compileModel } from '../../src/models/compiler';
import { DagError, ModelGraph } from '../../src/models/dag';
import { loadProject, ProjectError, suggest, type Project } from '../../src/models/project';
import { renderModel } from '../../src/models/renderer';
import { dialectFor } from '../../src/warehouse/dialects';
import { DEMO_EVENT_TESTS, DEMO_IDENTITY, DEMO_MODELS, DEMO_ORDER, DEMO_SEEDS, DEMO_SEGMENTS, DEMO_TEST_COUNT } from '../support/demo';
import { TempProject } from '../support/temp-project';

const temps: TempProject[] = [];
afterEach(() => temps.splice(0).forEach((t) => t.cleanup()));

const CDP_YAML = 'name: t\nwarehouse: {type: duckdb, path: ":memory:", schema: analytics}\n';

/** A project from files; cdp.yaml defaults to a minimal duckdb one. */
function projectOf(files: Record<string, string>, cdpYaml = CDP_YAML): Project {
  const t = new TempProject({ 'cdp.yaml': cdpYaml, ...files });
  temps.push(t);
  return loadProject(t.config({}));
}

function demo(edit: (t: TempProject) => void = () => undefined): Project {
  const t = TempProject.demo();
  temps.push(t);
  edit(t);
  return loadProject(t.config({}));
}

/** The error a function throws, checked to be of a class. */
function errorOf<E extends Error>(cls: new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as E;
  }
  throw new Error(`expected a ${cls.name}`);
}

describe('loadProject', () => {
  it('reads the demo project: models, seeds, configs, columns and tests', () => {
    const p = demo();
    expect([...p.models.keys()].sort()).toEqual([...DEMO_MODELS].sort());
    expect([...p.seeds.keys()]).toEqual(DEMO_SEEDS);
    const daily = p.models.get('daily_revenue')!;
    expect(daily).toMatchObject({
      path: 'models/marts/daily_revenue.sql',
      ymlPath: 'models/marts/marts.yml',
      config: { materialized: 'incremental', unique_key: 'order_date', tags: [], enabled: true },
      relation: { schema: 'analytics', name: 'daily_revenue' },
      refs: ['stg_orders'],
    });
    expect(p.models.get('customer_summary')!.refs).toEqual(['stg_customers', 'stg_orders']);
    expect(p.seeds.get('online_retail')).toMatchObject({ path: 'seeds/online_retail', relation: { schema: 'analytics', name: 'online_retail' } });
    expect(p.seeds.get('online_retail')!.files.length).toBeGreaterThan(1);
    expect(p.tests.map((t) => t.name)).toContain('relationships_stg_orders_customer_id__stg_customers_customer_id');
    expect(p.tests.filter((t) => t.kind === 'accepted_values')).toEqual([
      expect.objectContaining({ node: 'profile_churn_risk', column: 'churn_risk', values: ['low', 'medium', 'high'] }),
      expect.objectContaining({ node: 'profile_rfm', column: 'recency_score', values: [1, 2, 3, 4, 5] }),
      expect.objectContaining({ node: 'profile_rfm', column: 'frequency_score', values: [1, 2, 3, 4, 5] }),
      expect.objectContaining({ node: 'profile_rfm', column: 'monetary_score', values: [1, 2, 3, 4, 5] }),
      expect.objectContaining({
        node: 'profile_rfm',
        column: 'rfm_segment',
        values: ['champions', 'loyal', 'promising', 'needs_attention', 'at_risk', 'hibernating'],
      }),
      expect.objectContaining({ node: 'stg_events', column: 'type', values: ['track', 'identify', 'page', 'screen', 'group', 'alias'] }),
      expect.objectContaining({ node: 'stg_orders', column: 'is_cancellation', values: [true, false] }),
      expect.objectContaining({ node: 'stg_web_events', column: 'type', values: ['page', 'track', 'identify'] }),
      expect.objectContaining({ node: 'stg_web_events', column: 'event', values: ['Product Viewed', 'Signed In', 'Order Completed', 'Order Cancelled'] }),
    ]);
    expect(p.tests).toHaveLength(DEMO_TEST_COUNT);
  });

  it('reads the demo event staging models and the cdp.raw_events source they read', () => {
    const p = demo();
    // raw_events, and the identity tables (the demo's cdp.yaml has an identity section)
    expect([...p.sources.keys()]).toEqual(['cdp.raw_events', 'cdp.profiles', 'cdp.identity_graph', 'cdp.profile_merges', 'cdp.identity_blocked_edges', 'cdp.profile_events']);
    expect(p.sources.get('cdp.raw_events')!.relation).toEqual({ schema: 'cdp', name: 'raw_events' });
    expect(p.models.get('stg_events')).toMatchObject({
      path: 'models/staging/events/stg_events.sql',
      ymlPath: 'models/staging/events/events.yml',
      config: { materialized: 'view', tags: [], enabled: true },
      relation: { schema: 'analytics', name: 'stg_events' },
      refs: [],
      sources: [['cdp', 'raw_events']],
    });
    for (const name of ['stg_tracks', 'stg_identifies', 'stg_pages']) {
      expect(p.models.get(name)).toMatchObject({ path: `models/staging/events/${name}.sql`, config: { materialized: 'view' }, refs: ['stg_events'], sources: [] });
    }
    const eventModels = ['stg_events', 'stg_tracks', 'stg_identifies', 'stg_pages'];
    expect(p.tests.filter((t) => eventModels.includes(t.node)).map((t) => t.name)).toEqual(DEMO_EVENT_TESTS);
  });

  it('reads the demo web events seed, its staging model, the identity step and the profile models', () => {
    const p = demo();
    expect(p.seeds.get('web_events')).toMatchObject({ path: 'seeds/web_events', ymlPath: 'seeds/web_events.yml', relation: { schema: 'analytics', name: 'web_events' } });
    expect(p.models.get('stg_web_events')).toMatchObject({ path: 'models/staging/stg_web_events.sql', config: { materialized: 'table' }, refs: ['web_events'], sources: [] });
    // the identity step reads the models its config names, and writes cdp.profiles
    expect(p.identity).toMatchObject({ kind: 'identity', name: DEMO_IDENTITY, path: 'cdp.yaml', refs: ['stg_customers', 'stg_orders', 'stg_web_events'], relation: { schema: 'cdp', name: 'profiles' } });
    for (const name of ['profile_rfm', 'profile_churn_risk']) {
      expect(p.models.get(name)).toMatchObject({
        path: `models/profiles/${name}.sql`,
        ymlPath: 'models/profiles/profiles.yml',
        config: { materialized: 'table' },
        refs: [],
        sources: [['cdp', 'profiles']],
      });
    }
    const graph = new ModelGraph(p);
    expect(graph.parentsOf(DEMO_IDENTITY)).toEqual(['stg_customers', 'stg_orders', 'stg_web_events']);
    expect([...graph.childrenOf(DEMO_IDENTITY)].sort()).toEqual([...DEMO_SEGMENTS, 'profile_churn_risk', 'profile_rfm']);
  });

  it('a model with no yml is a view with defaults', () => {
    const p = projectOf({ 'models/a.sql': 'select 1 as x' });
    expect(p.models.get('a')).toMatchObject({ config: { materialized: 'view', tags: [], enabled: true }, columns: [], refs: [], sources: [] });
  });

  it('yml config: schema and alias change the relation', () => {
    const p = projectOf({
      'models/a.sql': 'select 1 as x',
      'models/a.yml': 'models:\n  - name: a\n    config: {schema: marts, alias: a_v2, tags: [daily]}\n',
    });
    expect(p.models.get('a')).toMatchObject({ relation: { schema: 'marts', name: 'a_v2' }, config: { tags: ['daily'], materialized: 'view' } });
  });

  it('finds refs in every branch of a template, without rendering it', () => {
    const p = projectOf({
      'models/a.sql': 'select 1 as x',
      'models/b.sql': 'select 1 as x',
      'models/c.sql': '{{#if (is_incremental)}}select * from {{ref "a"}}{{else}}select * from {{ref "b"}}{{/if}}',
    });
    expect(p.models.get('c')!.refs).toEqual(['a', 'b']);
  });

  it('unknown ref: names the model file and suggests the close name', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/stg_orders.sql': 'select 1 as x', 'models/marts/report.sql': 'select * from {{ref "stg_order"}}' }));
    expect(e.message).toBe('models/marts/report.sql: ref "stg_order" is not a model, seed or segment (did you mean "stg_orders"?)');
    expect(e.code).toBe('PROJECT_INVALID');
  });

  it('unknown ref with nothing close: no suggestion', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/stg_orders.sql': 'select 1 as x', 'models/report.sql': 'select * from {{ref "web_events"}}' }));
    expect(e.message).toBe('models/report.sql: ref "web_events" is not a model, seed or segment');
  });

  it('a ref without a quoted name is an error naming the file', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/a.sql': 'select 1', 'models/b.sql': 'select * from {{ref a}}' }));
    expect(e.message).toBe('models/b.sql: ref takes one quoted model name: {{ref "stg_orders"}}');
  });

  it('a template that does not parse names the file', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/a.sql': 'select {{#if x}} 1' }));
    expect(e.message).toMatch(/^models\/a\.sql: template error: /);
  });

  it('an undeclared source names the file and shows how to declare it', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/a.sql': 'select * from {{source "shop" "orders"}}' }));
    expect(e.message).toMatch(/^models\/a\.sql: source "shop" "orders" is not declared in any yml under models\/ /);
  });

  it('a declared source resolves to its schema and identifier', () => {
    const p = projectOf({
      'models/a.sql': 'select * from {{source "shop" "orders"}}',
      'models/sources.yml': 'sources:\n  - name: shop\n    schema: raw\n    tables:\n      - {name: orders, identifier: shop_orders}\n',
    });
    expect(p.sources.get('shop.orders')!.relation).toEqual({ schema: 'raw', name: 'shop_orders' });
    expect(renderModel(p.models.get('a')!, { project: p, dialect: dialectFor('duckdb'), isIncremental: false })).toBe('select * from "raw"."shop_orders"');
  });

  it('yml naming a model with no .sql file: names the yml, the key and the close name', () => {
    const e = errorOf(ProjectError, () =>
      projectOf({ 'models/stg_orders.sql': 'select 1', 'models/schema.yml': 'models:\n  - name: stg_orders\n  - name: stg_ordrs\n' }),
    );
    expect(e.message).toBe('models/schema.yml: models[1].name: "stg_ordrs" has no .sql file under models/ (did you mean "stg_orders"?)');
  });

  it('yml naming a seed with no csv: names the yml and the key', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'seeds/countries.csv': 'code\nUK\n', 'seeds/seeds.yml': 'seeds:\n  - name: countrys\n' }));
    expect(e.message).toBe('seeds/seeds.yml: seeds[0].name: "countrys" has no .csv file or folder under seeds/ (did you mean "countries"?)');
  });

  it('yml unknown key: names file:line:column and the key', () => {
    const e = errorOf(ProjectError, () =>
      projectOf({ 'models/a.sql': 'select 1', 'models/schema.yml': 'models:\n  - name: a\n    materialized: table\n' }),
    );
    expect(e.message).toBe('models/schema.yml:3:19: models[0].materialized: unknown key');
  });

  it('yml unknown key nested in config', () => {
    const e = errorOf(ProjectError, () =>
      projectOf({ 'models/a.sql': 'select 1', 'models/schema.yml': 'models:\n  - name: a\n    config:\n      materialised: table\n' }),
    );
    expect(e.message).toBe('models/schema.yml:4:21: models[0].config.materialised: unknown key');
  });

  it('yml wrong value: names file:line:column, the key and the options', () => {
    const e = errorOf(ProjectError, () =>
      projectOf({ 'models/a.sql': 'select 1', 'models/schema.yml': 'models:\n  - name: a\n    config: {materialized: ephemeral}\n' }),
    );
    expect(e.message).toMatch(/^models\/schema\.yml:3:28: models\[0\]\.config\.materialized: .*"view"\|"table"\|"incremental"/);
  });

  it('invalid yml: names file:line:column', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/a.sql': 'select 1', 'models/schema.yml': 'models:\n  - name: a\n   bad: [\n' }));
    expect(e.message).toMatch(/^models\/schema\.yml:\d+:\d+: invalid YAML: /);
  });

  it('relationships to an unknown model: names the yml, the model, the key and the close name', () => {
    const e = errorOf(ProjectError, () =>
      projectOf({
        'models/customers.sql': 'select 1 as id',
        'models/orders.sql': 'select 1 as customer_id',
        'models/schema.yml': [
          'models:',
          '  - name: customers',
          '  - name: orders',
          '    columns:',
          '      - name: customer_id',
          '        tests: [not_null, {relationships: {to: customer, field: id}}]',
          '',
        ].join('\n'),
      }),
    );
    expect(e.message).toBe('models/schema.yml: model orders: columns[0].tests[1].relationships.to: "customer" is not a model or seed (did you mean "customers"?)');
  });

  it('relationships from a seed to an unknown model names the seed yml', () => {
    const e = errorOf(ProjectError, () =>
      projectOf({
        'models/customers.sql': 'select 1 as id',
        'seeds/orders.csv': 'customer_id\n1\n',
        'seeds/seeds.yml': 'seeds:\n  - name: orders\n    columns:\n      - {name: customer_id, tests: [{relationships: {to: customer, field: id}}]}\n',
      }),
    );
    expect(e.message).toBe('seeds/seeds.yml: seed orders: columns[0].tests[0].relationships.to: "customer" is not a model or seed (did you mean "customers"?)');
  });

  it('duplicate model names in two folders', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/a/orders.sql': 'select 1', 'models/b/orders.sql': 'select 2' }));
    expect(e.message).toBe('two models are named "orders": models/a/orders.sql and models/b/orders.sql');
  });

  it('a model and a seed with one name', () => {
    const e = errorOf(ProjectError, () => projectOf({ 'models/orders.sql': 'select 1', 'seeds/orders.csv': 'id\n1\n' }));
    expect(e.message).toBe('"orders" is both a model (models/orders.sql) and a seed (seeds/orders.csv)');
  });

  it('suggest: only close names', () => {
    expect(suggest('stg_ordes', ['stg_orders', 'customers'])).toBe(' (did you mean "stg_orders"?)');
    expect(suggest('zzz', ['stg_orders', 'customers'])).toBe('');
    expect(suggest('x', [])).toBe('');
  });
});

describe('ModelGraph', () => {
  it('orders the demo parents before children, ties by name', () => {
    // stg_events has no parent in the DAG (it reads a source), so it sorts among the roots by name
    expect(new ModelGraph(demo()).order).toEqual(DEMO_ORDER);
  });

  it('orders a diamond, ties by name', () => {
    const g = new ModelGraph(
      projectOf({
        'models/d.sql': 'select * from {{ref "b"}} join {{ref "c"}}',
        'models/c.sql': 'select * from {{ref "a"}}',
        'models/b.sql': 'select * from {{ref "a"}}',
        'models/a.sql': 'select 1',
        'models/e.sql': 'select 1',
      }),
    );
    expect(g.order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(g.parentsOf('d')).toEqual(['b', 'c']);
    expect(g.childrenOf('a')).toEqual(['b', 'c']);
  });

  it('a cycle a -> b -> a is an error naming the models in order', () => {
    const p = projectOf({ 'models/a.sql': 'select * from {{ref "b"}}', 'models/b.sql': 'select * from {{ref "a"}}' });
    const e = errorOf(DagError, () => new ModelGraph(p));
    expect(e.code).toBe('DAG_CYCLE');
    expect(e.message).toBe('models form a cycle: a -> b -> a');
  });

  it('a longer cycle, beside nodes that are fine, names only the cycle, in ref order', () => {
    const p = projectOf({
      'models/a.sql': 'select * from {{ref "c"}}',
      'models/b.sql': 'select * from {{ref "a"}}',
      'models/c.sql': 'select * from {{ref "b"}} join {{ref "ok"}}',
      'models/ok.sql': 'select 1',
      'models/z.sql': 'select * from {{ref "a"}}',
    });
    expect(errorOf(DagError, () => new ModelGraph(p)).message).toBe('models form a cycle: a -> b -> c -> a');
  });

  it('a model that refs itself', () => {
    expect(errorOf(DagError, () => new ModelGraph(projectOf({ 'models/a.sql': 'select * from {{ref "a"}}' }))).message).toBe('models form a cycle: a -> a');
  });

  it('node: unknown names are MODEL_NOT_FOUND with a suggestion', () => {
    const e = errorOf(DagError, () => new ModelGraph(demo()).node('stg_order'));
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.message).toBe('no model, seed or segment named "stg_order" (did you mean "stg_orders"?)');
  });

  describe('select (demo project)', () => {
    let graph: ModelGraph;
    beforeAll(() => {
      const t = TempProject.demo();
      try {
        graph = new ModelGraph(loadProject(t.config({})));
      } finally {
        t.cleanup();
      }
    });

    const ALL = DEMO_ORDER;
    const STAGING = ['stg_events', 'stg_identifies', 'stg_order_lines', 'stg_orders', 'stg_customers', 'stg_pages', 'stg_tracks', 'stg_web_events'];
    /** identity resolution and the models on the profiles it builds: below every model it reads */
    const PROFILES = [DEMO_IDENTITY, ...DEMO_SEGMENTS, 'profile_churn_risk', 'profile_rfm', 'at_churn_risk'];
    const EVENTS = ['stg_events', 'stg_identifies', 'stg_pages', 'stg_tracks'];

    it.each([
      ['no selector', undefined, ALL],
      ['an empty list', [], ALL],
      ['blank strings', ['', '  '], ALL],
      ['name', ['stg_orders'], ['stg_orders']],
      ['a seed by name', ['online_retail'], ['online_retail']],
      ['+name: and every ancestor', ['+stg_orders'], ['online_retail', 'stg_order_lines', 'stg_orders']],
      ['name+: and every descendant', ['stg_orders+'], ['stg_orders', 'daily_revenue', 'stg_customers', 'customer_summary', ...PROFILES]],
      ['a seed and its descendants', ['web_events+'], ['web_events', 'stg_web_events', ...PROFILES]],
      ['+name of a profile model: the identity step and everything it reads', ['+profile_rfm'], ['online_retail', 'stg_order_lines', 'stg_orders', 'stg_customers', 'web_events', 'stg_web_events', DEMO_IDENTITY, 'profile_rfm']],
      ['the identity step by name', [DEMO_IDENTITY], [DEMO_IDENTITY]],
      ['identity+1: the segments and the models reading the profiles', ['identity+1'], [DEMO_IDENTITY, ...DEMO_SEGMENTS, 'profile_churn_risk', 'profile_rfm']],
      ['a model reading only a source has no ancestor', ['+stg_events'], ['stg_events']],
      ['the event models descend from stg_events', ['stg_events+'], EVENTS],
      ['+name of an event model', ['+stg_tracks'], ['stg_events', 'stg_tracks']],
      ['+name+: both', ['+stg_customers+'], ['online_retail', 'stg_order_lines', 'stg_orders', 'stg_customers', 'customer_summary', ...PROFILES]],
      ['1+name: parents only', ['1+stg_customers'], ['stg_orders', 'stg_customers']],
      ['2+name: two generations up', ['2+customer_summary'], ['stg_order_lines', 'stg_orders', 'stg_customers', 'customer_summary']],
      ['name+1: children only', ['stg_order_lines+1'], ['stg_order_lines', 'stg_orders']],
      ['name+2', ['stg_order_lines+2'], ['stg_order_lines', 'stg_orders', 'daily_revenue', 'stg_customers', 'customer_summary', DEMO_IDENTITY]],
      ['customer_summary+1: a leaf has no children', ['customer_summary+1'], ['customer_summary']],
      ['1+name+1', ['1+stg_orders+1'], ['stg_order_lines', 'stg_orders', 'daily_revenue', 'stg_customers', 'customer_summary', DEMO_IDENTITY]],
      ['path:dir, with its subfolders', ['path:models/staging'], STAGING],
      ['path:dir/ with a trailing slash', ['path:models/staging/'], STAGING],
      ['path: of a subfolder', ['path:models/staging/events'], EVENTS],
      ['path: of one file', ['path:models/marts/daily_revenue.sql'], ['daily_revenue']],
      ['path: of the seeds folder', ['path:seeds'], DEMO_SEEDS],
      ['path: of the profile models', ['path:models/profiles'], ['profile_churn_risk', 'profile_rfm']],
      [
        'path:dir+',
        ['path:models/staging+'],
        ['stg_events', 'stg_identifies', 'stg_order_lines', 'stg_orders', 'daily_revenue', 'stg_customers', 'customer_summary', 'stg_pages', 'stg_tracks', 'stg_web_events', ...PROFILES],
      ],
      ['wildcard prefix', ['stg_*'], STAGING],
      ['wildcard suffix', ['*_revenue'], ['daily_revenue']],
      ['wildcard inside', ['stg_*s'], STAGING],
      ['wildcard inside, narrower', ['stg_*ies'], ['stg_identifies']],
      ['*', ['*'], ALL],
      ['a union of several selectors', ['daily_revenue', 'stg_customers'], ['daily_revenue', 'stg_customers']],
      ['a union in one string, spaces', ['daily_revenue stg_customers'], ['daily_revenue', 'stg_customers']],
      ['a union in one string, commas', ['daily_revenue,stg_customers'], ['daily_revenue', 'stg_customers']],
      ['an overlapping union, in DAG order, once each', ['customer_summary', '+stg_customers', 'stg_orders'], ['online_retail', 'stg_order_lines', 'stg_orders', 'stg_customers', 'customer_summary']],
    ] as [string, string[] | undefined, string[]][])('%s', (_name, selectors, expected) => {
      expect(graph.select(selectors)).toEqual(expected);
    });

    it('a partial folder name is not a path match', () => {
      expect(() => graph.select(['path:models/stag'])).toThrow('selector "path:models/stag" matches no model or seed');
    });

    it('an unknown name: SELECTOR_INVALID with a suggestion', () => {
      const e = errorOf(DagError, () => graph.select(['stg_ordres']));
      expect(e.code).toBe('SELECTOR_INVALID');
      expect(e.message).toBe('selector "stg_ordres" matches no model or seed (did you mean "stg_orders"?)');
    });

    it('an unknown name inside a union fails the whole selection', () => {
      expect(() => graph.select(['stg_orders', '+nope'])).toThrow('selector "+nope" matches no model or seed');
    });

    it('a tag nothing has', () => {
      expect(() => graph.select(['tag:hourly'])).toThrow('selector "tag:hourly" matches no model or seed');
    });

    it.each([['a+b'], ['++a'], ['+'], ['x+y+z']])('an unreadable selector (%s)', (selector) => {
      const e = errorOf(DagError, () => graph.select([selector]));
      expect(e.code).toBe('SELECTOR_INVALID');
      expect(e.message).toBe(`cannot read selector "${selector}"; use name, +name, name+, tag:x or path:dir`);
    });
  });

  it('select tag:x picks the models with that tag', () => {
    const g = new ModelGraph(
      projectOf({
        'models/a.sql': 'select 1',
        'models/b.sql': 'select * from {{ref "a"}}',
        'models/c.sql': 'select * from {{ref "b"}}',
        'models/schema.yml': 'models:\n  - {name: a, config: {tags: [nightly]}}\n  - {name: c, config: {tags: [nightly, finance]}}\n',
      }),
    );
    expect(g.select(['tag:nightly'])).toEqual(['a', 'c']);
    expect(g.select(['tag:finance'])).toEqual(['c']);
    expect(g.select(['+tag:finance'])).toEqual(['a', 'b', 'c']);
    expect(g.select(['tag:finance', 'a'])).toEqual(['a', 'c']);
  });
});

describe('rendering model templates', () => {
  const duckdb = dialectFor('duckdb');

  function render(sql: string, options: { isIncremental?: boolean; vars?: Record<string, unknown>; cdpYaml?: string; name?: string } = {}): string {
    const name = options.name ?? 'm';
    const p = projectOf({ [`models/${name}.sql`]: sql, 'models/base.sql': 'select 1 as x' }, options.cdpYaml);
    return renderModel(p.models.get(name)!, { project: p, dialect: duckdb, isIncremental: options.isIncremental ?? false, vars: options.vars });
  }

  function renderError(sql: string, options: Parameters<typeof render>[1] = {}): ProjectError {
    return errorOf(ProjectError, () => render(sql, options));
  }

  it('ref renders the quoted relation', () => {
    expect(render('select * from {{ref "base"}}')).toBe('select * from "analytics"."base"');
  });

  it('var: the cdp.yaml value, a run override, then the default', () => {
    const cdpYaml = `${CDP_YAML}vars: {days: 14}\n`;
    expect(render('{{var "days" 30}}', { cdpYaml })).toBe('14');
    expect(render('{{var "days" 30}}', { cdpYaml, vars: { days: 3 } })).toBe('3');
    expect(render('{{var "days" 30}}')).toBe('30');
    expect(render('{{var "days"}}', { vars: { days: 7 } })).toBe('7');
  });

  it('var: strings are SQL fragments as written; booleans and null are literals', () => {
    const vars = { country: "'United Kingdom'", on: true, off: false, none: null, list: [1, 2] };
    expect(render('{{var "country"}} {{var "on"}} {{var "off"}} {{var "none"}} {{var "list"}}', { vars })).toBe("'United Kingdom' true false null [1,2]");
    expect(render('{{var "country" "\'France\'"}}')).toBe("'France'");
  });

  it('var: a missing var without a default is an error naming the model and how to fix it', () => {
    expect(renderError('select {{var "lapsed_days"}}').message).toBe(
      'models/m.sql: var "lapsed_days" is not set; add it under vars: in cdp.yaml or give a default: {{var "lapsed_days" 30}}',
    );
  });

  it('{{this}} is the model\'s own relation (with its alias)', () => {
    expect(render('select max(d) from {{this}}')).toBe('select max(d) from "analytics"."m"');
    const p = projectOf({ 'models/m.sql': '{{this}}', 'models/m.yml': 'models:\n  - {name: m, config: {schema: marts, alias: m2}}\n' });
    expect(renderModel(p.models.get('m')!, { project: p, dialect: dialectFor('snowflake'), isIncremental: false })).toBe('"MARTS"."M2"');
  });

  const incremental = 'select * from {{ref "base"}}\n{{#if (is_incremental)}}where x > (select max(x) from {{this}}){{/if}}';

  it('is_incremental: the branch renders only on an incremental run', () => {
    expect(render(incremental, { isIncremental: true })).toBe('select * from "analytics"."base"\nwhere x > (select max(x) from "analytics"."m")');
    expect(render(incremental, { isIncremental: false })).toBe('select * from "analytics"."base"');
  });

  it('is_incremental with else and unless', () => {
    const sql = '{{#if (is_incremental)}}inc{{else}}full{{/if}} {{#unless (is_incremental)}}first{{/unless}}';
    expect(render(sql, { isIncremental: true })).toBe('inc');
    expect(render(sql, { isIncremental: false })).toBe('full first');
  });

  it('compileModel passes the incremental flag and run vars through', () => {
    const p = projectOf({ 'models/m.sql': '{{#if (is_incremental)}}inc {{/if}}{{var "n" 1}}' });
    const m = p.models.get('m')!;
    expect(compileModel(p, m, duckdb, true, { n: 5 })).toMatchObject({ sql: 'inc 5', isIncremental: true });
    expect(compileModel(p, m, duckdb, false).sql).toBe('1');
  });

  it('dialect macros are helpers, rendered for the dialect', () => {
    const p = projectOf({ 'models/m.sql': 'select {{date_trunc "day" "ordered_at"}}, {{cast (cast "x" "numeric") "integer"}}' });
    const m = p.models.get('m')!;
    expect(renderModel(m, { project: p, dialect: duckdb, isIncremental: false })).toBe("select date_trunc('day', ordered_at), cast(cast(x as decimal(18,4)) as integer)");
    expect(renderModel(m, { project: p, dialect: dialectFor('bigquery'), isIncremental: false })).toBe('select timestamp_trunc(ordered_at, DAY), cast(cast(x as NUMERIC) as INT64)');
  });

  it('a macro error names the model file', () => {
    expect(renderError('select {{date_trunc "days" "x"}}').message).toMatch(/^models\/m\.sql: template error: unknown date part "days"/);
  });

  it('an unknown helper is a clear error naming the model file, the position and the helper', () => {
    expect(renderError('select {{datetrunc "day" "x"}}').message).toBe('models/m.sql:1:8: template error: unknown helper "datetrunc" (did you mean "date_trunc"?)');
    expect(renderError('select\n  {{my_macro "x"}}').message).toBe('models/m.sql:2:3: template error: unknown helper "my_macro"');
  });

  it('an unknown name without arguments is a clear error naming the model file and the name', () => {
    expect(renderError('select {{current_timestmp}}').message).toBe('models/m.sql:1:10: template error: unknown name "current_timestmp" (did you mean "current_timestamp"?)');
  });

  it('other template errors keep Handlebars\' words, after the model file', () => {
    expect(renderError('{{> header}}').message).toBe('models/m.sql: template error: The partial header could not be found');
  });

  it('output is never HTML-escaped', () => {
    const sql = "select 'a<b' as lt, 'x & y' as amp, \"q\" as dq, '<>' as ne where a <> b and c > 'd'";
    expect(render(sql)).toBe(sql);
    expect(render('{{var "op"}} {{literal "a<b & \'c\'"}} {{quote "a&b"}}', { vars: { op: '<>' } })).toBe(`<> 'a<b & ''c''' "a&b"`);
  });

  it('a trailing semicolon and surrounding blank lines are dropped', () => {
    expect(render('\n\nselect 1;\n\n')).toBe('select 1');
    expect(render('select 1;  \n')).toBe('select 1');
  });

  it('SQL comments and Handlebars comments', () => {
    expect(render('-- a comment\nselect 1 {{!-- not in the output --}}')).toBe('-- a comment\nselect 1');
  });
});
