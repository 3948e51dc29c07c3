/** A plain JSON-like object (not null, not an array). */
export type JsonObject = Record<string, unknown>;

/**
 * The one object guard of the kit: true for a non-null, non-array object. Reads of the
 * result should still use own properties only (`Object.hasOwn`) when the object came from a
 * client.
 */
export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
