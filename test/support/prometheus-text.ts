// A small, strict parser of the Prometheus text exposition format (0.0.4), for the tests:
// prom-client has none. It throws on anything the format does not allow.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Values are read like Prometheus does (Go's ParseFloat): NaN and Inf in any letter case.
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** Parses exposition text into metric families by name; throws with the line on an error. */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition text must end with a newline');
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  let current: PromFamily | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name, rest = ''] = meta as unknown as [string, string, string, string?];
      if (!NAME.test(name)) fail('bad metric name');
      let family = families.get(name);
      if (family && family !== current) fail('metric family is not contiguous');
      if (!family) {
        family = { name, type: 'untyped', samples: [] };
        families.set(name, family);
      }
      current = family;
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) fail('unknown type');
        if (family.samples.length > 0) fail('TYPE after samples');
        family.type = rest as PromFamily['type'];
      } else {
        if (family.help !== undefined) fail('second HELP');
        family.help = rest;
      }
      return;
    }
    const sample = parseSample(line, fail);
    const family = current && belongs(sample.name, current) ? current : undefined;
    if (!family) fail('sample without its # TYPE line just before');
    const id = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(id)) fail('duplicate series');
    seen.add(id);
    if (family!.type === 'counter' && !(sample.value >= 0)) fail('counter below zero or NaN');
    if (family!.type === 'histogram' && sample.name.endsWith('_bucket') && !('le' in sample.labels))
      fail('bucket without le');
    family!.samples.push(sample);
  });
  return families;
}

function belongs(name: string, family: PromFamily): boolean {
  const suffixes = SUFFIXES[family.type] ?? [''];
  return suffixes.some((suffix) => name === family.name + suffix);
}

function parseSample(line: string, fail: (why: string) => never): PromSample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head) fail('bad metric name');
  const name = head![1]!;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!label || !LABEL_NAME.test(label[1]!)) fail('bad label');
      i += label![0].length;
      let value = '';
      for (;;) {
        const ch = line[i++];
        if (ch === undefined) fail('unterminated label value');
        if (ch === '"') break;
        if (ch === '\\') {
          const next = line[i++];
          if (next === 'n') value += '\n';
          else if (next === '\\' || next === '"') value += next;
          else fail('bad escape in label value');
        } else value += ch;
      }
      if (label![1]! in labels) fail('duplicate label');
      labels[label![1]!] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') fail('expected , or } after a label');
    }
    i++;
  }
  const rest = /^ +(\S+)(?: +(-?\d+))?$/.exec(line.slice(i));
  if (!rest || !VALUE.test(rest[1]!)) fail('bad value');
  const raw = rest![1]!;
  const lower = raw.toLowerCase().replace(/^\+/, '');
  const value = lower.startsWith('-inf')
    ? -Infinity
    : lower.startsWith('inf')
      ? Infinity
      : lower === 'nan'
        ? NaN
        : Number(raw);
  return { name, labels, value };
}
