import { createHash } from 'node:crypto';
import type { Dialect } from '../warehouse/dialects/dialect';
import type { BindValue } from '../warehouse/warehouse';
import type { CompiledSegment } from './segment-compiler';
import { SegmentDefinitionError, type SegmentSplit } from './segment-tree';

/**
 * Splits and holdouts: each member of a segment falls in one named group by a hash of its profile
 * id, the same in every run and on every warehouse.
 *
 * bucket = first 8 hex digits of md5(segment name || ':' || profile id), as an integer, mod 10000.
 * Groups take consecutive ranges of the 10,000 buckets in the order the split lists them:
 * `{target: 90, holdout: 10}` is target for buckets 0-8999 and holdout for 9000-9999. So a profile
 * keeps its group while the segment's name and split stay the same; another segment (another name)
 * splits independently.
 */
export const SPLIT_BUCKETS = 10_000;

/** The bucket of a profile, computed in Node: the reference for the SQL below (and for tests). */
export function splitBucket(segmentName: string, profileId: string): number {
  const head = createHash('md5').update(`${segmentName}:${profileId}`, 'utf8').digest('hex').slice(0, 8);
  return parseInt(head, 16) % SPLIT_BUCKETS;
}

/** Each group's buckets: [from, to), in the order of the split. Percentages have at most two decimals. */
export function splitRanges(split: SegmentSplit): { group: string; from: number; to: number }[] {
  const ranges: { group: string; from: number; to: number }[] = [];
  let cumulative = 0;
  for (const [group, share] of Object.entries(split)) {
    const from = Math.round((cumulative * SPLIT_BUCKETS) / 100);
    cumulative += share;
    ranges.push({ group, from, to: Math.round((cumulative * SPLIT_BUCKETS) / 100) });
  }
  if (ranges.length === 0 || ranges[ranges.length - 1].to !== SPLIT_BUCKETS) throw new SegmentDefinitionError('split: the percentages must add up to 100');
  return ranges;
}

/** The group of a bucket (Node side). */
export function splitGroup(split: SegmentSplit, bucket: number): string {
  const ranges = splitRanges(split);
  return (ranges.find((r) => bucket < r.to) ?? ranges[ranges.length - 1]).group;
}

/** SQL for the bucket of `profileIdExpr` (any type; cast to text), with the segment name bound. */
export function splitBucketSql(dialect: Dialect, segmentName: string, profileIdExpr: string): CompiledSegment {
  const key = dialect.concat([dialect.cast('?', 'string'), "':'", dialect.cast(profileIdExpr, 'string')]);
  return { sql: `mod(${dialect.hexToInt(`substr(${dialect.md5(key)}, 1, 8)`)}, ${SPLIT_BUCKETS})`, params: [segmentName] };
}

/**
 * The members with their group: `select profile_id, split_group from (members) …`. Group names and
 * bounds are bound like every other value.
 */
export function compileSplit(dialect: Dialect, segmentName: string, split: SegmentSplit, members: CompiledSegment): CompiledSegment {
  const ranges = splitRanges(split);
  const id = dialect.quoteIdentifier('profile_id');
  const params: BindValue[] = [];
  const whens = ranges.slice(0, -1).map((r) => {
    params.push(r.to, r.group);
    return `when s.bucket < ${dialect.cast('?', 'bigint')} then ${dialect.cast('?', 'string')}`;
  });
  params.push(ranges[ranges.length - 1].group);
  const group = whens.length ? `case ${whens.join(' ')} else ${dialect.cast('?', 'string')} end` : dialect.cast('?', 'string');
  const bucket = splitBucketSql(dialect, segmentName, `m.${id}`);
  return {
    sql: [
      `select s.${id}, ${group} as ${dialect.quoteIdentifier('split_group')}`,
      `from (select m.${id}, ${bucket.sql} as bucket from (\n${members.sql}\n) m) s`,
    ].join('\n'),
    params: [...params, ...bucket.params, ...members.params],
  };
}
