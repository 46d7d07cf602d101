/** A row's field values as the text scorers and judge prompts show. */

/** A value as text: strings as they are, nothing for null or missing, JSON otherwise. */
export const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** A list field (contexts) as texts: a list item by item, nothing for an empty value, else one item. */
export const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(text) : v === null || v === undefined || v === '' ? [] : [text(v)]);

/** Expected outputs as a list of references: a list stays one, anything else is one reference. */
export const references = (v: unknown): string[] => (Array.isArray(v) ? v.map(text) : [text(v)]);
