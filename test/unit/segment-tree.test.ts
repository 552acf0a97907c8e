import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CdpError } from '../../src/errors/cdp-error';
import { compileSegment, SegmentDefinitionError, validateSegment, type SegmentCompileContext } from '../../src/segments/segment-compiler';
import { splitBucket, splitGroup, splitRanges } from '../../src/segments/segment-split';
import { parseDuration, parseIsoTime, parseSegment, parseSegmentPreview, segmentSchema, type Condition } from '../../src/segments/segment-tree';
import { dialectFor } from '../../src/warehouse/dialects';
import type { LogicalType } from '../../src/warehouse/warehouse';

/** The segment schema (shape errors) and the compiler's checks against a context (names, operators, types): exact messages with paths. */

const ctx: SegmentCompileContext = {
  dialect: dialectFor('duckdb'),
  profiles: { schema: 'cdp', name: 'profiles' },
  traits: new Map<string, LogicalType>([
    ['email', 'string'],
    ['orders', 'integer'],
    ['ltv', 'float'],
    ['is_vip', 'boolean'],
    ['signup_date', 'date'],
    ['last_seen_at', 'timestamp'],
    ['attributes', 'json'],
  ]),
  events: {
    relation: { schema: 'cdp', name: 'profile_events' },
    profileId: 'profile_id',
    name: 'event',
    time: 'timestamp',
    properties: new Map([
      ['revenue', { column: 'revenue', type: 'float' }],
      ['product', { column: 'product', type: 'string' }],
      ['time', { column: 'timestamp', type: 'timestamp' }],
    ]),
  },
  segments: (name) => (name === 'vips' ? { schema: 'cdp', name: 'segment_vips' } : undefined),
  asOf: new Date('2024-06-01T00:00:00Z'),
};

describe('segment schema', () => {
  it('reads the example of EXAMPLES.md as written', () => {
    const def = parseSegment(
      parseYaml(`
name: cart_abandoners
description: Added to cart in the last 7 days and did not order since.
realtime: true
where:
  and:
    - event: { name: Product Added, count: { gte: 1 }, within: 7d }
    - not: { event: { name: Order Completed, within: 7d } }
    - trait: { name: email, op: is_set }
split: { target: 90, holdout: 10 }
`),
    );
    expect(def).toEqual({
      name: 'cart_abandoners',
      description: 'Added to cart in the last 7 days and did not order since.',
      realtime: true,
      where: {
        and: [
          { event: { name: 'Product Added', count: { gte: 1 }, within: '7d' } },
          { not: { event: { name: 'Order Completed', within: '7d' } } },
          { trait: { name: 'email', op: 'is_set' } },
        ],
      },
      split: { target: 90, holdout: 10 },
    });
  });

  it('takes every operator, event option and nesting', () => {
    const where: Condition = {
      or: [
        { trait: { name: 'a', op: '=', value: 'x' } },
        { trait: { name: 'a', op: '!=', value: 1 } },
        { trait: { name: 'a', op: '<', value: 1.5 } },
        { trait: { name: 'a', op: '<=', value: 1 } },
        { trait: { name: 'a', op: '>', value: '2024-01-01' } },
        { trait: { name: 'a', op: '>=', value: 1 } },
        { trait: { name: 'a', op: 'in', value: ['x', 'y'] } },
        { trait: { name: 'a', op: 'contains', value: '%' } },
        { trait: { name: 'a', op: 'starts_with', value: '_' } },
        { trait: { name: 'a', op: 'is_set' } },
        { trait: { name: 'a', op: 'is_not_set' } },
        { trait: { name: 'a', op: 'within_last', value: '90m' } },
        { trait: { name: 'a', op: 'before', value: '2024-01-31T12:00:00+01:00' } },
        { not: { and: [{ segment: { name: 'b' } }, { not: { or: [{ trait: { name: 'a', op: '=', value: true } }] } }] } },
        {
          event: {
            name: 'Order Completed',
            count: { gte: 2, lte: 5 },
            within: '4w',
            where: [{ property: 'revenue', op: '>', value: 10 }],
            aggregate: { function: 'sum', property: 'revenue', op: '>=', value: 100 },
          },
        },
        { event: { name: 'x', count: { eq: 0 } } },
        { event: { name: 'x', aggregate: { function: 'count', op: '=', value: 0 } } },
      ],
    };
    expect(parseSegment({ name: 's1', where }).where).toEqual(where);
  });

  it('a preview needs no name', () => {
    expect(parseSegmentPreview({ where: { segment: { name: 'b' } } })).toEqual({ where: { segment: { name: 'b' } } });
    expect(() => parseSegment({ where: { segment: { name: 'b' } } })).toThrow('name: required');
  });

  it('describes itself as JSON Schema (for the OpenAPI docs), recursion included', () => {
    const json = JSON.stringify(z.toJSONSchema(segmentSchema, { io: 'input', target: 'openapi-3.0' }));
    expect(json).toContain('"within_last"');
    expect(json).toContain('$ref');
  });

  // prettier-ignore
  const SHAPE_ERRORS: [string, unknown, string][] = [
    ['not an object', 'where: x', '(top level): an object with name, description, realtime, where, split'],
    ['name missing', { where: { segment: { name: 'b' } } }, 'name: required'],
    ['name not a slug', { name: 'High Value', where: { segment: { name: 'b' } } }, 'name: a name: lower-case letters, digits and _, starting with a letter'],
    ['unknown top-level key', { name: 's', where: { segment: { name: 'b' } }, colour: 'red' }, '(top level): unknown key "colour" (allowed here: name, description, realtime, where, split)'],
    ['realtime not a boolean', { name: 's', where: { segment: { name: 'b' } }, realtime: 'yes' }, 'realtime: true or false'],
    ['empty condition', { name: 's', where: {} }, 'where: a condition has exactly one of and, or, not, trait, event, segment'],
    ['two keys in one condition', { name: 's', where: { trait: { name: 'a', op: 'is_set' }, segment: { name: 'b' } } }, 'where: a condition has exactly one of and, or, not, trait, event, segment; got trait, segment'],
    ['unknown condition key, nested', { name: 's', where: { and: [{ segment: { name: 'b' } }, { or: [{ attribute: {} }] }] } }, 'where.and[1].or[0]: unknown key "attribute" (allowed here: and, or, not, trait, event, segment)'],
    ['empty and', { name: 's', where: { and: [] } }, 'where.and: a list of at least one condition'],
    ['not with a list', { name: 's', where: { not: [] } }, 'where.not: an object with and, or, not, trait, event, segment'],
    ['unknown operator', { name: 's', where: { trait: { name: 'a', op: 'like', value: 'x%' } } }, 'where.trait.op: one of = != < <= > >= in contains starts_with is_set is_not_set within_last before'],
    ['trait name missing', { name: 's', where: { trait: { op: '=', value: 'x' } } }, 'where.trait.name: required'],
    ['unknown trait key', { name: 's', where: { trait: { name: 'a', op: '=', value: 'x', values: [] } } }, 'where.trait: unknown key "values" (allowed here: name, op, value)'],
    ['is_set with a value', { name: 's', where: { trait: { name: 'a', op: 'is_set', value: 'x' } } }, 'where.trait.value: "is_set" takes no value'],
    ['= without a value', { name: 's', where: { trait: { name: 'a', op: '=' } } }, 'where.trait.value: "=" needs a value'],
    ['= with a list', { name: 's', where: { trait: { name: 'a', op: '=', value: ['x'] } } }, 'where.trait.value: "=" needs one value, not a list (use "in" for a list)'],
    ['in with one value', { name: 's', where: { trait: { name: 'a', op: 'in', value: 'x' } } }, 'where.trait.value: "in" needs a list of values'],
    ['in with an empty list', { name: 's', where: { trait: { name: 'a', op: 'in', value: [] } } }, 'where.trait.value: a list of at least one value'],
    ['contains empty', { name: 's', where: { trait: { name: 'a', op: 'contains', value: '' } } }, 'where.trait.value: "contains" needs non-empty text'],
    ['starts_with a number', { name: 's', where: { trait: { name: 'a', op: 'starts_with', value: 1 } } }, 'where.trait.value: "starts_with" needs non-empty text'],
    ['null value', { name: 's', where: { trait: { name: 'a', op: '=', value: null } } }, 'where.trait.value: text, a number, true/false or a list of them'],
    ['object value', { name: 's', where: { trait: { name: 'a', op: '=', value: { $gt: 1 } } } }, 'where.trait.value: text, a number, true/false or a list of them'],
    ['bad duration', { name: 's', where: { trait: { name: 'a', op: 'within_last', value: '30 days' } } }, 'where.trait.value: "within_last" needs a duration such as 90m, 12h, 30d or 4w (at most 100 years)'],
    ['zero duration', { name: 's', where: { trait: { name: 'a', op: 'within_last', value: '0d' } } }, 'where.trait.value: "within_last" needs a duration such as 90m, 12h, 30d or 4w (at most 100 years)'],
    ['duration over 100 years', { name: 's', where: { trait: { name: 'a', op: 'within_last', value: '5300w' } } }, 'where.trait.value: "within_last" needs a duration such as 90m, 12h, 30d or 4w (at most 100 years)'],
    ['before a bad date', { name: 's', where: { trait: { name: 'a', op: 'before', value: '2024-02-30' } } }, 'where.trait.value: "before" needs an ISO date or timestamp such as 2024-01-31 or 2024-01-31T12:00:00Z'],
    ['event name empty', { name: 's', where: { event: { name: '' } } }, 'where.event.name: an event name, not empty'],
    ['count eq with gte', { name: 's', where: { event: { name: 'x', count: { eq: 1, gte: 1 } } } }, 'where.event.count: eq alone, or gte and/or lte'],
    ['count empty', { name: 's', where: { event: { name: 'x', count: {} } } }, 'where.event.count: one of gte, lte or eq'],
    ['count gte > lte', { name: 's', where: { event: { name: 'x', count: { gte: 3, lte: 1 } } } }, 'where.event.count.lte: at least gte (3)'],
    ['count negative', { name: 's', where: { event: { name: 'x', count: { gte: -1 } } } }, 'where.event.count.gte: a whole number of times, 0 or more'],
    ['count fractional', { name: 's', where: { event: { name: 'x', count: { lte: 1.5 } } } }, 'where.event.count.lte: a whole number of times, 0 or more'],
    ['count as text', { name: 's', where: { event: { name: 'x', count: { gte: '1' } } } }, 'where.event.count.gte: a whole number of times, 0 or more'],
    ['within not a duration', { name: 's', where: { event: { name: 'x', within: '7 days' } } }, 'where.event.within: a duration such as 90m, 12h, 30d or 4w (at most 100 years)'],
    ['where not a list', { name: 's', where: { event: { name: 'x', where: { property: 'a', op: 'is_set' } } } }, 'where.event.where: a list of property filters ({property, op, value})'],
    ['property filter op', { name: 's', where: { event: { name: 'x', where: [{ property: 'a', op: '~' }] } } }, 'where.event.where[0].op: one of = != < <= > >= in contains starts_with is_set is_not_set within_last before'],
    ['aggregate function', { name: 's', where: { event: { name: 'x', aggregate: { function: 'median', property: 'a', op: '>', value: 1 } } } }, 'where.event.aggregate.function: one of sum, min, max, avg, count'],
    ['aggregate without property', { name: 's', where: { event: { name: 'x', aggregate: { function: 'sum', op: '>', value: 1 } } } }, 'where.event.aggregate.property: "sum" needs a property'],
    ['aggregate op', { name: 's', where: { event: { name: 'x', aggregate: { function: 'count', op: 'in', value: 1 } } } }, 'where.event.aggregate.op: one of = != < <= > >='],
    ['segment as a string', { name: 's', where: { segment: 'vips' } }, 'where.segment: an object with name'],
    ['split not 100', { name: 's', where: { segment: { name: 'b' } }, split: { target: 90, holdout: 5 } }, 'split: the percentages add up to 95, not 100'],
    ['split decimals', { name: 's', where: { segment: { name: 'b' } }, split: { target: 90.005, holdout: 9.995 } }, 'split.target: at most two decimals; split.holdout: at most two decimals'],
    ['split group name', { name: 's', where: { segment: { name: 'b' } }, split: { Target: 90, holdout: 10 } }, 'split.Target: a group name: lower-case letters, digits and _, starting with a letter'],
    ['split empty', { name: 's', where: { segment: { name: 'b' } }, split: {} }, 'split: at least one group, such as {target: 90, holdout: 10}'],
    ['split negative', { name: 's', where: { segment: { name: 'b' } }, split: { a: 110, b: -10 } }, 'split.a: at most 100; split.b: a percentage above 0'],
  ];

  it.each(SHAPE_ERRORS)('%s', (_name, input, message) => {
    let error: unknown;
    try {
      parseSegment(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SegmentDefinitionError);
    expect((error as Error).message).toBe(message);
  });

  it('a SegmentDefinitionError is a 400 (CdpError VALIDATION_FAILED)', () => {
    const e = new SegmentDefinitionError('x');
    expect(e).toBeInstanceOf(CdpError);
    expect(e.code).toBe('VALIDATION_FAILED');
  });
});

describe('segment compiler checks against the warehouse', () => {
  // prettier-ignore
  const TYPE_ERRORS: [string, Condition, string][] = [
    ['unknown trait, with a suggestion', { and: [{ trait: { name: 'email', op: 'is_set' } }, { trait: { name: 'emial', op: '=', value: 'a' } }] }, 'where.and[1].trait.name: unknown trait "emial" (did you mean "email"?)'],
    ['unknown trait, nothing close', { trait: { name: 'favourite_colour', op: 'is_set' } }, 'where.trait.name: unknown trait "favourite_colour"'],
    ['contains on a number', { or: [{ trait: { name: 'orders', op: 'contains', value: 'a' } }] }, 'where.or[0].trait.op: "contains" needs a text trait; "orders" is integer'],
    ['within_last on text', { trait: { name: 'email', op: 'within_last', value: '30d' } }, 'where.trait.op: "within_last" needs a date or timestamp trait; "email" is string'],
    ['< on a boolean', { trait: { name: 'is_vip', op: '<', value: true } }, 'where.trait.op: "<" needs a number, date or timestamp trait; "is_vip" is boolean'],
    ['< on text', { trait: { name: 'email', op: '<', value: 'm' } }, 'where.trait.op: "<" needs a number, date or timestamp trait; "email" is string'],
    ['= on json', { trait: { name: 'attributes', op: '=', value: '{}' } }, 'where.trait.op: "=" needs a text, number, boolean, date or timestamp trait; "attributes" is json'],
    ['in on a boolean', { not: { trait: { name: 'is_vip', op: 'in', value: [true] } } }, 'where.not.trait.op: "in" needs a text or number trait; "is_vip" is boolean'],
    ['text for a number', { trait: { name: 'orders', op: '=', value: '5' } }, 'where.trait.value: "orders" is integer, so the value must be a number; got "5"'],
    ['a number for text', { trait: { name: 'email', op: '=', value: 5 } }, 'where.trait.value: "email" is string, so the value must be text; got 5'],
    ['text for a boolean', { trait: { name: 'is_vip', op: '=', value: 'yes' } }, 'where.trait.value: "is_vip" is boolean, so the value must be true or false; got "yes"'],
    ['a timestamp for a date', { trait: { name: 'signup_date', op: '=', value: '2024-01-01T10:00:00Z' } }, 'where.trait.value: "signup_date" is date, so the value must be an ISO date such as 2024-01-31; got "2024-01-01T10:00:00Z"'],
    ['not a time', { trait: { name: 'last_seen_at', op: '>', value: 'yesterday' } }, 'where.trait.value: "last_seen_at" is timestamp, so the value must be an ISO date or timestamp such as 2024-01-31 or 2024-01-31T12:00:00Z; got "yesterday"'],
    ['one wrong value in a list', { trait: { name: 'orders', op: 'in', value: [1, 'two'] } }, 'where.trait.value[1]: "orders" is integer, so the value must be a number; got "two"'],
    ['unknown property', { event: { name: 'x', where: [{ property: 'revnue', op: '>', value: 1 }] } }, 'where.event.where[0].property: unknown event property "revnue" (did you mean "revenue"?)'],
    ['> on a text property', { event: { name: 'x', where: [{ property: 'product', op: '>', value: 1 }] } }, 'where.event.where[0].op: ">" needs a number, date or timestamp property; "product" is string'],
    ['property value type', { event: { name: 'x', where: [{ property: 'revenue', op: '>', value: 'lots' }] } }, 'where.event.where[0].value: "revenue" is float, so the value must be a number; got "lots"'],
    ['sum of text', { event: { name: 'x', aggregate: { function: 'sum', property: 'product', op: '>', value: 1 } } }, 'where.event.aggregate.function: "sum" needs a number property; "product" is string'],
    ['unknown aggregate property', { event: { name: 'x', aggregate: { function: 'max', property: 'price', op: '>', value: 1 } } }, 'where.event.aggregate.property: unknown event property "price"'],
    ['aggregate value type', { event: { name: 'x', aggregate: { function: 'sum', property: 'revenue', op: '>', value: 'a' } } }, 'where.event.aggregate.value: "sum(revenue)" is float, so the value must be a number; got "a"'],
    ['max of a time needs a time', { event: { name: 'x', aggregate: { function: 'max', property: 'time', op: '>', value: 3 } } }, 'where.event.aggregate.value: "max(time)" is timestamp, so the value must be an ISO date or timestamp such as 2024-01-31 or 2024-01-31T12:00:00Z; got 3'],
    ['unknown segment', { not: { segment: { name: 'vipz' } } }, 'where.not.segment.name: unknown segment "vipz"'],
    ['itself', { or: [{ segment: { name: 'me' } }, { segment: { name: 'vips' } }] }, 'where.or[0].segment.name: a segment cannot contain itself ("me")'],
  ];

  it.each(TYPE_ERRORS)('%s', (_name, where, message) => {
    expect(() => validateSegment({ name: 'me', where }, ctx)).toThrow(SegmentDefinitionError);
    expect(() => compileSegment({ name: 'me', where }, ctx)).toThrow(message);
  });

  it('an event condition without events data says so', () => {
    expect(() => compileSegment({ name: 'me', where: { event: { name: 'x' } } }, { ...ctx, events: undefined })).toThrow('where.event.name: this project has no events to match against');
  });

  it('re-checks the shape of what it is given, so an unparsed tree cannot pass', () => {
    const sneaky = { trait: { name: 'email', op: "= '' or 1=1 --", value: 'x' } } as unknown as Condition;
    expect(() => compileSegment({ name: 'me', where: sneaky }, ctx)).toThrow(/^where\.trait\.op: one of/);
  });

  it('binds every value, with the window computed from asOf', () => {
    const { sql, params } = compileSegment(
      { name: 'me', where: { and: [{ trait: { name: 'last_seen_at', op: 'within_last', value: '12h' } }, { event: { name: "O'Neil", within: '1w', count: { gte: 3 } } }] } },
      ctx,
    );
    expect(params).toEqual(["O'Neil", '2024-05-25 00:00:00.000', '2024-06-01 00:00:00.000', '2024-05-31 12:00:00.000', '2024-06-01 00:00:00.000', 3]);
    expect(sql).not.toContain("O'Neil");
    expect(sql).toMatch(/^select p\."profile_id"\nfrom "cdp"\."profiles" p\nleft join \(select .* from "cdp"\."profile_events" e where .*\) e1 on e1\."profile_id" = p\."profile_id"\nwhere /);
  });
});

describe('durations, times and splits', () => {
  it('parses durations to milliseconds', () => {
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('4w')).toBe(28 * 86_400_000);
    for (const bad of ['0d', '30', 'd', '1y', '-1d', '1.5d', ' 1d', '1d ', '36526d', 30]) expect(parseDuration(bad)).toBeUndefined();
  });

  it('parses ISO dates and timestamps as UTC', () => {
    expect(parseIsoTime('2024-01-31')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(parseIsoTime('2024-01-31 12:30')?.toISOString()).toBe('2024-01-31T12:30:00.000Z');
    expect(parseIsoTime('2024-01-31T12:30:15.5Z')?.toISOString()).toBe('2024-01-31T12:30:15.500Z');
    expect(parseIsoTime('2024-01-31T12:30:00+05:30')?.toISOString()).toBe('2024-01-31T07:00:00.000Z');
    expect(parseIsoTime('2024-02-29')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    for (const bad of ['2023-02-29', '2024-13-01', '2024-01-31T24:00', '0999-01-01', '31/01/2024', 'today', '2024-01-31T12:00:00 junk']) {
      expect(parseIsoTime(bad)).toBeUndefined();
    }
    expect(parseIsoTime('2024-01-31T12:00:00Z', true)).toBeUndefined();
  });

  it('splits buckets into consecutive ranges in the order written', () => {
    expect(splitRanges({ target: 90, holdout: 10 })).toEqual([
      { group: 'target', from: 0, to: 9000 },
      { group: 'holdout', from: 9000, to: 10000 },
    ]);
    expect(splitRanges({ a: 33.33, b: 33.33, c: 33.34 }).map((r) => r.to)).toEqual([3333, 6666, 10000]);
    expect(splitGroup({ target: 90, holdout: 10 }, 8999)).toBe('target');
    expect(splitGroup({ target: 90, holdout: 10 }, 9000)).toBe('holdout');
  });

  it('a bucket is the head of md5(name:id) mod 10000, the same as the warehouses compute', () => {
    // md5('a:b') = d8160c9b…; 0xd8160c9b = 3625323675
    expect(splitBucket('a', 'b')).toBe(3625323675 % 10000);
    expect(splitBucket('promo', 'p1')).toBe(splitBucket('promo', 'p1'));
    expect(splitBucket('promo', 'p1')).not.toBe(splitBucket('other', 'p1'));
  });
});
