/**
 * The price an experiment's model or judge is charged at. At launch it is
 * pinned into the stored model definition (`prices`, with where it came
 * from), so a later edit of the shipped table leaves past runs' costs as they
 * were. Reading it back: the pinned price; for a definition without one
 * (launched before prices were pinned, or a model the table did not know
 * then), the current table's; else no price, with the reason.
 */
import type { ModelPrice } from './price-table.js';
import { tablePrice } from './prices.js';

export interface PriceInForce extends ModelPrice {
  /** `model`: the definition's own `prices`; `table`: the shipped table's entry. */
  source: 'model' | 'table';
  /** The table key the model's name matched. */
  entry?: string;
  /** The pricing page the table's entry was read from, and when. */
  url?: string;
  as_of?: string;
}

export type PriceLookup = { price: PriceInForce } | { price: null; reason: string };

const isPrice = (v: unknown): v is ModelPrice & Record<string, unknown> => {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o === 'object' && typeof o.input === 'number' && typeof o.output === 'number';
};

function fromTable(name: string): PriceInForce | null {
  const found = tablePrice(name);
  if (!found) return null;
  const { input, output, cached_input } = found.price;
  return { input, output, ...(cached_input === undefined ? {} : { cached_input }), source: 'table', entry: found.entry, url: found.source.url, as_of: found.source.as_of };
}

/** The definition with its price pinned (its own `prices`, else the table's); unchanged when neither gives one. */
export function pinPrices<M extends { name?: string; prices?: unknown }>(model: M): M & { prices?: unknown } {
  const own = model.prices;
  if (isPrice(own)) {
    const { input, output, cached_input } = own;
    return { ...model, prices: { input, output, ...(typeof cached_input === 'number' ? { cached_input } : {}), source: 'model' } };
  }
  const table = typeof model.name === 'string' && model.name ? fromTable(model.name) : null;
  return table ? { ...model, prices: table } : model;
}

/** The price pinned into a stored model or judge definition at launch (its input, output and cached_input), or null. */
export function pinnedPrice(model: unknown): ModelPrice | null {
  const prices = (model as { prices?: unknown } | null)?.prices;
  if (!isPrice(prices)) return null;
  const { input, output, cached_input } = prices;
  return { input, output, ...(typeof cached_input === 'number' ? { cached_input } : {}) };
}

/** The price in force for a stored model or judge definition (see the file's comment). */
export function priceInForce(model: unknown): PriceLookup {
  const m = model as { name?: unknown; prices?: unknown } | null;
  if (!m || typeof m !== 'object') return { price: null, reason: 'no model' };
  const pinned = pinnedPrice(m);
  if (pinned && isPrice(m.prices)) {
    const { source, entry, url, as_of } = m.prices;
    return {
      price: {
        ...pinned,
        source: source === 'table' ? 'table' : 'model',
        ...(typeof entry === 'string' ? { entry } : {}),
        ...(typeof url === 'string' ? { url } : {}),
        ...(typeof as_of === 'string' ? { as_of } : {}),
      },
    };
  }
  const name = typeof m.name === 'string' ? m.name : '';
  const table = name ? fromTable(name) : null;
  if (table) return { price: table };
  return { price: null, reason: `no price for ${JSON.stringify(name)} in the shipped price table: give the model definition prices {input, output} in USD per million tokens` };
}
