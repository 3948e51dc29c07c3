import { SLICE_FIELDS } from './llm-cache.stats';

/** Most call-site names counted separately; later ones are counted under `other`. */
export const MAX_CALL_SITES = 100;
const NAME = /^[A-Za-z0-9_.:/ -]{1,64}$/;
const fieldsBySite = new Map<string, Record<(typeof SLICE_FIELDS)[number], string>>();

/**
 * Checks a call-site name (1-64 letters, digits, `_ . : / -` or spaces: it becomes a stats
 * field and a Prometheus label); throws a TypeError that says so.
 *
 * @example
 * checkSiteName('agent.plan') // 'agent.plan'
 */
export function checkSiteName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(
      `A call-site name must be 1-64 characters of letters, digits, '_', '.', ':', '/', '-' or spaces, got ${JSON.stringify(name)}.`,
    );
  return name;
}

/**
 * The stats hash fields of a call site (`s|<name>|<counter>`), built once per name; past
 * `MAX_CALL_SITES` names, new ones share the `other` slice so the series stays bounded.
 */
export function callSiteFields(site: string): Record<(typeof SLICE_FIELDS)[number], string> {
  let fields = fieldsBySite.get(site);
  if (fields === undefined) {
    const name = fieldsBySite.size >= MAX_CALL_SITES ? 'other' : site;
    fields = fieldsBySite.get(name);
    if (fields === undefined) {
      fields = Object.fromEntries(SLICE_FIELDS.map((f) => [f, `s|${name}|${f}`])) as Record<
        (typeof SLICE_FIELDS)[number],
        string
      >;
      fieldsBySite.set(name, fields);
    }
  }
  return fields;
}
