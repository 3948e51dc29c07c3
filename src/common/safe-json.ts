/**
 * The one safe JSON parse of the kit: the parsed value, or `undefined` when the text is not
 * JSON. Never throws; the caller decides what unparseable input means.
 */
export function safeJsonParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
