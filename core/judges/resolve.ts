/**
 * Resolves a judge given by name to the provider that serves it, at launch,
 * as Evalap does (its schemas accept only names some provider lists). What
 * is stored is `{name, base_url, provider}`, never a key: the runner uses
 * that provider's key from its own configuration. A name no provider serves
 * is refused (400) rather than launched into a run where every judged
 * observation would fail; when a provider cannot be asked, the answer is 503,
 * since the name may well be right.
 */
import type { Config } from '../config.js';
import { processSecrets } from '../context.js';
import { UnavailableError, ValidationError } from '../errors.js';
import { ListingFailed, servedModels } from './model-lists.js';
import { PROVIDER_KEY_VARIABLES, providersForLaunch, shownUrl, type JudgeProvider, type JudgeProviderId } from './providers.js';

/** What is stored as the experiment's judge_model (with the settings of a judge given as a model, if any). */
export type ResolvedJudge = {
  name: string;
  base_url: string;
  provider: JudgeProviderId;
} & Record<string, unknown>;

async function served(provider: JudgeProvider, name: string, config: Config): Promise<boolean> {
  if (provider.listedModels === '*') return true;
  if (provider.listedModels) return provider.listedModels.includes(name);
  return (await servedModels(provider, { ttlSec: config.EVALAP_JUDGE_LIST_TTL_SEC, timeoutMs: config.EVALAP_JUDGE_LIST_TIMEOUT_MS })).has(name);
}

/**
 * The first provider, in precedence order, among those that answer, that
 * serves `name`. `path` is where the name is in the request, for the 400.
 */
export async function resolveJudgeName(config: Config, providers: readonly JudgeProvider[], name: string, path: string): Promise<ResolvedJudge> {
  if (!providers.length) {
    throw new ValidationError('unknown judge', [{ path, message: `no judge provider is configured to serve ${JSON.stringify(name)}: the operator sets one of ${PROVIDER_KEY_VARIABLES.filter((v) => v !== 'EVALAP_JUDGE_API_KEY').join(', ')}, or EVALAP_JUDGE_BASE_URL; or give judge_model as {name, base_url, api_key}` }]);
  }
  // Asked at once: a launch waits for the slowest provider, not for the sum of them.
  const answers = await Promise.allSettled(providers.map((p) => served(p, name, config)));
  const failures: string[] = [];
  for (const [i, answer] of answers.entries()) {
    if (answer.status === 'fulfilled' && answer.value) return { name, base_url: providers[i].baseUrl, provider: providers[i].id };
    if (answer.status === 'rejected') {
      if (!(answer.reason instanceof ListingFailed)) throw answer.reason;
      failures.push(answer.reason.message);
    }
  }
  const checked = providers.map((p) => `${p.id} (${shownUrl(p.baseUrl)})`).join(', ');
  if (failures.length) {
    const which = failures.length === providers.length ? 'no judge provider could be asked' : 'some judge providers could not be asked';
    throw new UnavailableError(`cannot resolve the judge ${JSON.stringify(name)}: ${which}: ${failures.join('; ')}`, 30);
  }
  throw new ValidationError('unknown judge', [{ path, message: `no configured provider serves the judge ${JSON.stringify(name)}; checked the GET /models of ${checked}` }]);
}

/**
 * The judge an experiment launches with, when it is to be resolved here:
 * the name it gives (a string, or a model without base_url, whose other
 * settings are kept), or the default judge (EVALAP_JUDGE_MODEL) when it
 * asks for a metric that needs a judge and names none. Null when it needs
 * none, or gives a full model (its caller stores that one as given).
 */
export async function launchJudge(config: Config, given: unknown, needsJudge: boolean, path: string, firstMetric?: string): Promise<ResolvedJudge | null> {
  if (given != null && typeof given === 'object') {
    const { base_url, api_key: _, name, ...settings } = given as Record<string, unknown>;
    if (base_url || typeof name !== 'string') return null;
    // A key without a URL would go to whichever provider serves the name: it is not sent anywhere.
    return { ...settings, ...(await launchJudge(config, name, needsJudge, path, firstMetric))! };
  }
  if (given != null && typeof given !== 'string') return null;
  const name = given ?? (needsJudge ? config.EVALAP_JUDGE_MODEL : undefined);
  if (!name) {
    if (!needsJudge) return null;
    const what = firstMetric ? `metric ${firstMetric}` : 'a metric';
    throw new ValidationError('no judge', [{ path, message: `${what} needs a judge: give judge_model (a name, or {name, base_url, api_key}); no default judge is configured (EVALAP_JUDGE_MODEL)` }]);
  }
  return resolveJudgeName(config, await providersForLaunch(config, () => processSecrets(config)), name, path);
}
