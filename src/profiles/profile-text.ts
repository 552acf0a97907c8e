import type { Profile } from './profiles.schemas';

/** `cdp profile` without --json: the API's answer laid out for a terminal (times in UTC). */
export function profileText(p: Profile): string {
  const lines = [
    `profile ${p.profileId}`,
    `  first seen ${time(p.firstSeen)}, last seen ${time(p.lastSeen)}, updated ${time(p.updatedAt)} (UTC)`,
    '',
    ...section('traits', Object.entries(p.traits).map(([name, value]) => [name, text(value)])),
    ...section(
      'identities',
      p.identities.map((i) => [i.type, i.value, i.source ?? '', `${time(i.firstSeen)} .. ${time(i.lastSeen)}`]),
    ),
    ...section('segments', p.segments.map((s) => [s.segment, `since ${time(s.enteredAt)}`])),
    ...section(
      'latest events',
      p.events.map((e) => [time(e.timestamp), e.type, e.event ?? e.name ?? '', e.properties ? clip(JSON.stringify(e.properties)) : '']),
    ),
  ];
  return lines.join('\n').trimEnd();
}

/** A heading with the count and the rows as aligned columns; `none` when there are no rows. */
function section(name: string, rows: string[][]): string[] {
  if (!rows.length) return [`${name}: none`, ''];
  const heading = name === 'traits' ? name : `${name} (${rows.length})`;
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return [heading, ...rows.map((r) => `  ${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')}`.trimEnd()), ''];
}

const ISO = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/;

/** `2024-01-02T01:00:00.000Z` as `2024-01-02 01:00:00`. */
const time = (iso: string | null): string => (iso === null ? '-' : iso.replace(ISO, '$1 $2'));

function text(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return ISO.test(value) ? time(value) : value;
  return clip(JSON.stringify(value)); // numbers, booleans, objects (the answer is parsed JSON)
}

/** Long JSON cut for the terminal (--json prints all of it). */
const clip = (s: string, max = 100) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
