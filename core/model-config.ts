/**
 * The one shape of a model's settings, from the API body to the model call.
 *
 * Derived from the API's ModelCreate schema (core/schemas.ts): what is stored
 * as an experiment's `model` or `judge_model` JSON is what the API accepted,
 * its key sealed apart (core/experiments.ts), so the schema that validates it
 * is the one place its fields are declared. Bring-your-own settings (ModelRaw
 * without its per-row lists, name and base_url defaulting to '') are a subset
 * of the same shape.
 */
import type { ModelCreate } from './schemas.js';

/** A model as its experiment stores it: every setting the API accepted but the key (model_api_key / judge_api_key). */
export type StoredModel = Omit<ModelCreate, 'api_key'>;

/**
 * A judge as its experiment stores it: a full model, or one resolved to a
 * provider at launch (core/judges/resolve.ts), whose `provider` names it;
 * experiments launched before names were resolved may store a name alone.
 */
export type StoredJudge = Omit<StoredModel, 'base_url'> & {
  base_url?: string;
  provider?: unknown;
};

/** A model ready to call: its stored settings with its key opened, and the experiment's with_vision (core/store/work.ts adds it). */
export type CallableModel = StoredModel & {
  api_key?: string | null;
  /** The row's `img` goes with the user message, as an image part after the text. */
  with_vision?: boolean | null;
};
