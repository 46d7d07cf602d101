/**
 * A model's price from the shipped table (price-table.ts), by name, as
 * core/eco/model-params.ts finds sizes: case-insensitive, on the last path
 * segment. Providers also decorate the names they serve (dated snapshots,
 * Bedrock's vendor prefix and version, Vertex's `@date`), so these are
 * stripped one at a time until a table key matches exactly. A name never
 * matches a longer or shorter key ("gpt-4o-mini" is not "gpt-4o").
 */
import { PRICE_TABLE, type ModelPrice, type PriceSource } from './price-table.js';

export interface TablePrice {
  price: ModelPrice;
  /** The table key the name matched. */
  entry: string;
  source: PriceSource;
}

const byKey = new Map<string, TablePrice>();
for (const provider of PRICE_TABLE) {
  for (const [key, price] of Object.entries(provider.models)) byKey.set(key.toLowerCase(), { price, entry: key, source: provider.source });
}

/** Decorations providers add to a model's name, removed in this order (each applies to what the previous left). */
const DECORATIONS: readonly RegExp[] = [
  /^(?:[a-z]{2}\.)?(?:anthropic|meta|mistral|amazon|cohere|deepseek|openai)\./, // Bedrock: "us.anthropic.claude-…"
  /-v\d+(?::\d+)?$/, // Bedrock: "…-v1:0"; Anthropic: "claude-3-5-sonnet-v2"
  /@.*$/, // Vertex: "claude-3-5-sonnet@20240620"
  /-latest$/,
  /-\d{4}-\d{2}-\d{2}$/, // OpenAI snapshots: "gpt-4o-2024-08-06"
  /-\d{8}$/, // Anthropic snapshots: "claude-3-5-haiku-20241022"
  /-\d{4}$/, // Mistral and older OpenAI snapshots: "mistral-large-2411", "gpt-3.5-turbo-0125"
  /-\d{3}$/, // Gemini versions: "gemini-2.0-flash-001"
];

/** The names to try for `name`, from the most to the least specific. */
export function candidateNames(name: string): string[] {
  let current = name.trim().toLowerCase().split('/').at(-1)!;
  const out = [current];
  for (const pattern of DECORATIONS) {
    const next = current.replace(pattern, '');
    if (next !== current && next) {
      current = next;
      out.push(current);
    }
  }
  return out;
}

/** The table's price of `name`, or null when the table has none. */
export function tablePrice(name: string): TablePrice | null {
  const full = byKey.get(name.trim().toLowerCase());
  if (full) return full;
  for (const candidate of candidateNames(name)) {
    const found = byKey.get(candidate);
    if (found) return found;
  }
  return null;
}
