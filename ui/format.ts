/** How numbers, dates and statuses read in the views. */

export const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Number(x.toFixed(digits)).toString());

export const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`);

export const ci = (c: [number, number] | null | undefined, digits = 3): string => (c ? `[${num(c[0], digits)}, ${num(c[1], digits)}]` : '');

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** A cell's text: strings as they are, anything else as JSON. */
export const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

