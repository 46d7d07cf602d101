/**
 * What the runner knows of the experiments whose tasks it holds: their
 * configurations, read once per batch and cached briefly, with their keys
 * opened and their judge resolved; and which of them were seen stopped, so
 * their tasks still here are dropped rather than run.
 */
import type pg from 'pg';
import { systemClock, type Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { providerById, resolvedProvider } from '../core/judges/providers.js';
import type { CallableModel } from '../core/model-config.js';
import type { SecretBox } from '../core/secrets.js';
import { experimentConfig, type ExperimentConfig } from '../core/store/work.js';
import { mapServerSecrets } from '../core/agents/server-secrets.js';
import type { Resolved } from './plan.js';

/** How long a configuration read serves the batches after it: a PATCH or a stop is seen within this. */
export const CONFIG_TTL_MS = 2000;
/** How long a stopped experiment is remembered (a resumed one is cleared by its fresh config; this bounds memory). */
export const STOPPED_MEMORY_MS = 10 * 60_000;
/** Entries kept before the expired ones are swept out. */
export const MEMORY_SWEEP_SIZE = 1000;

export interface ExperimentsDeps {
  pool: pg.Pool;
  secrets: SecretBox;
  config: Config;
  /** What the cache's and the stops' ages are read from; the system's clock unless a test drives it. */
  clock?: Pick<Clock, 'now'>;
}

export class Experiments {
  private readonly configs = new Map<number, { at: number; value: Promise<Resolved | undefined> }>();
  /** Experiments seen stopped (or deleted), with when. */
  private readonly stopped = new Map<number, number>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly deps: ExperimentsDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** The experiment's configuration, from the cache unless `fresh`; undefined if it does not exist. */
  config(id: number, fresh = false): Promise<Resolved | undefined> {
    const now = this.clock.now();
    const cached = this.configs.get(id);
    if (cached && !fresh && now - cached.at < CONFIG_TTL_MS) return cached.value;
    const value = experimentConfig(this.deps.pool, id).then((c) => c && this.resolve(c));
    this.configs.set(id, { at: now, value });
    // Only a running configuration is kept: a stopped (or missing) one may be resumed by a retry any moment.
    const forget = () => this.configs.get(id)?.value === value && this.configs.delete(id);
    value.then((c) => (!c || c.status === 'stopped') && forget(), forget);
    if (this.configs.size > MEMORY_SWEEP_SIZE) for (const [k, v] of this.configs) if (now - v.at >= CONFIG_TTL_MS) this.configs.delete(k);
    return value;
  }

  isStopped(id: number): boolean {
    return this.stopped.has(id);
  }

  /** Remembers these experiments as stopped and forgets their configurations. */
  markStopped(ids: number[]): void {
    const now = this.clock.now();
    for (const id of ids) {
      this.stopped.set(id, now);
      this.configs.delete(id);
    }
    if (this.stopped.size > MEMORY_SWEEP_SIZE) for (const [id, at] of this.stopped) if (now - at > STOPPED_MEMORY_MS) this.stopped.delete(id);
  }

  /**
   * Updates the stops from configurations just read, the truth (a stopped
   * experiment may have been resumed by a retry), and returns the
   * experiments newly found stopped or missing.
   */
  reconcile(configs: ReadonlyMap<number, Resolved | undefined>): number[] {
    const newlyStopped: number[] = [];
    for (const [id, c] of configs) {
      if (c && c.status !== 'stopped') this.stopped.delete(id);
      else if (!this.stopped.has(id)) newlyStopped.push(id);
    }
    return newlyStopped;
  }

  private async resolve(c: ExperimentConfig): Promise<Resolved> {
    try {
      const open = async (sealed: string | null) => (sealed ? await this.deps.secrets.open(sealed) : null);
      const chatModel =
        c.hasRawOutput || c.model === null
          ? null
          : { ...c.model, api_key: await open(c.modelApiKey), ...(c.model.tools ? { tools: await mapServerSecrets(c.model.tools, (v) => this.deps.secrets.open(v)) } : {}) };
      const judge = this.judgeOf(c, await open(c.judgeApiKey));
      return { ...c, chatModel, judge };
    } catch {
      return { ...c, chatModel: null, judge: null, keyError: 'the stored provider key cannot be decrypted with this runner\'s key' };
    }
  }

  /**
   * The experiment's judge: one the API resolved from a provider, called
   * with this runner's key and URL for that provider (null when it has no
   * key for it); a full model as given, with its stored key; or, for
   * experiments launched before names were resolved, a name (or the
   * default judge) sent to the custom judge endpoint.
   */
  private judgeOf(c: ExperimentConfig, key: string | null): CallableModel | null {
    const { EVALAP_JUDGE_MODEL, EVALAP_JUDGE_BASE_URL, EVALAP_JUDGE_API_KEY } = this.deps.config;
    const given = c.judgeModel;
    const provider = resolvedProvider(given);
    if (provider) {
      const served = providerById(this.deps.config, provider);
      if (!served) return null;
      const { provider: _, ...model } = given!;
      return { ...model, base_url: served.baseUrl, api_key: served.apiKey ?? null };
    }
    // base_url restated (its place and value unchanged) only so the type knows it is there.
    if (given?.base_url) return { ...given, base_url: given.base_url, api_key: key };
    const name = given?.name ?? EVALAP_JUDGE_MODEL;
    if (!name || !EVALAP_JUDGE_BASE_URL) return null;
    return { name, base_url: EVALAP_JUDGE_BASE_URL, api_key: EVALAP_JUDGE_API_KEY ?? null };
  }
}
