/**
 * The Prometheus text exposition format (version 0.0.4), for the service's own metrics. They are
 * read from the services at scrape time, so they are written here rather than kept in prom-client
 * metrics: a value that is not known (no pass yet, the warehouse did not answer) is left out,
 * where a prom-client metric without labels always shows one.
 */

export type MetricType = 'counter' | 'gauge';

export type Labels = Record<string, string>;

export interface Sample {
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** HELP text escapes backslashes and line feeds; label values escape double quotes too. */
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (value: string) => escapeHelp(value).replace(/"/g, '\\"');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * The families as exposition text: HELP and TYPE lines, then one line per sample. A family
 * without samples still has its HELP and TYPE (the scraper learns it exists). Names are the
 * code's own, so a bad one is a bug, not a user's mistake: it throws.
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name)) throw new Error(`metric name ${JSON.stringify(family.name)} is not a Prometheus name`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {}).map(([key, value]) => {
        if (!LABEL.test(key) || key.startsWith('__')) throw new Error(`label name ${JSON.stringify(key)} of ${family.name} is not a Prometheus label name`);
        return `${key}="${escapeLabel(value)}"`;
      });
      lines.push(`${family.name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(sample.value)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
