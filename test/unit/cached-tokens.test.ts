/**
 * Cached prompt tokens: read from a chat completion's usage in each
 * provider's shape (core/providers/openai.ts), summed over a tool loop's
 * calls and a judge's, and priced at the cached-input price
 * (core/cost/cost.ts). Expected costs are worked out by hand.
 */
import { runToolLoop } from '../../core/agents/tool-loop.js';
import type { Toolbox } from '../../core/agents/toolbox.js';
import { partCost, NO_TOKENS } from '../../core/cost/cost.js';
import { runJudge } from '../../core/metrics/judges.js';
import { cachedPromptTokens, type ChatReply } from '../../core/providers/openai.js';

describe('the cached prompt tokens of a reply', () => {
  it('reads OpenAI\'s usage.prompt_tokens_details.cached_tokens (also Mistral\'s, vLLM\'s and Gemini\'s OpenAI-compatible endpoint\'s)', () => {
    expect(cachedPromptTokens({ prompt_tokens: 2006, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 } })).toBe(1920);
    expect(cachedPromptTokens({ prompt_tokens: 50, prompt_tokens_details: { cached_tokens: 0 } })).toBe(0);
  });

  it('reads DeepSeek\'s usage.prompt_cache_hit_tokens, and OpenAI\'s field first when a reply has both', () => {
    expect(cachedPromptTokens({ prompt_tokens: 100, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 36 })).toBe(64);
    expect(cachedPromptTokens({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 64 }, prompt_cache_hit_tokens: 64 })).toBe(64);
    expect(cachedPromptTokens({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 10 }, prompt_cache_hit_tokens: 64 })).toBe(10);
  });

  it('is null when the reply does not say: no usage, no details, details null (vLLM without --enable-prompt-tokens-details), or Anthropic\'s native fields', () => {
    expect(cachedPromptTokens(undefined)).toBeNull();
    expect(cachedPromptTokens(null)).toBeNull();
    expect(cachedPromptTokens({ prompt_tokens: 12, completion_tokens: 3 })).toBeNull();
    expect(cachedPromptTokens({ prompt_tokens: 12, prompt_tokens_details: null })).toBeNull();
    expect(cachedPromptTokens({ prompt_tokens: 12, prompt_tokens_details: {} })).toBeNull();
    expect(cachedPromptTokens({ prompt_tokens: 12, cache_read_input_tokens: 8 })).toBeNull();
  });

  it('ignores a count that cannot be part of the prompt: negative, fractional, not a number, above the prompt tokens', () => {
    for (const bad of [-1, 2.5, '8', true, { n: 8 }, Number.MAX_SAFE_INTEGER + 2, 13]) {
      expect(cachedPromptTokens({ prompt_tokens: 12, prompt_tokens_details: { cached_tokens: bad } })).toBeNull();
      expect(cachedPromptTokens({ prompt_tokens: 12, prompt_cache_hit_tokens: bad })).toBeNull();
    }
    // All of the prompt served from cache is a count like any other.
    expect(cachedPromptTokens({ prompt_tokens: 12, prompt_tokens_details: { cached_tokens: 12 } })).toBe(12);
    // A bad OpenAI-shaped count leaves DeepSeek's, when there is one.
    expect(cachedPromptTokens({ prompt_tokens: 12, prompt_tokens_details: { cached_tokens: -3 }, prompt_cache_hit_tokens: 4 })).toBe(4);
  });

  it('is null without prompt tokens to weigh it against', () => {
    expect(cachedPromptTokens({ completion_tokens: 3, prompt_tokens_details: { cached_tokens: 8 } })).toBeNull();
    expect(cachedPromptTokens({ prompt_tokens: '12', prompt_cache_hit_tokens: 8 })).toBeNull();
  });
});

const reply = (over: Partial<ChatReply>): ChatReply => ({
  answer: '',
  think: null,
  nb_tokens_prompt: 100,
  nb_tokens_completion: 10,
  nb_tokens_cached: null,
  nb_tool_calls: 0,
  execution_time: 1,
  logprobs: null,
  finish_reason: 'stop',
  tool_calls: [],
  content: '',
  ...over,
});

describe('summing over a model\'s or a judge\'s calls', () => {
  const toolbox: Toolbox = { definitions: [{ type: 'function', function: { name: 'look', parameters: { type: 'object' } } }], call: async () => ({ text: 'found', isError: false }) };
  const lookUp = { tool_calls: [{ id: 'c1', type: 'function' as const, function: { name: 'look', arguments: '{}' } }] };

  it('sums the cached tokens of a tool loop\'s calls that report them, like its other token counts', async () => {
    const replies = [reply({ ...lookUp, nb_tokens_cached: 0 }), reply({ ...lookUp, nb_tokens_cached: null }), reply({ answer: 'done', nb_tokens_cached: 90 })];
    const out = await runToolLoop([{ role: 'user', content: 'q' }], toolbox, async () => replies.shift()!);
    expect(out).toMatchObject({ calls: 3, nb_tokens_prompt: 300, nb_tokens_completion: 30, nb_tokens_cached: 90 });
  });

  it('leaves the loop\'s cached tokens null when no call reported them', async () => {
    const replies = [reply(lookUp), reply({ answer: 'done' })];
    const out = await runToolLoop([{ role: 'user', content: 'q' }], toolbox, async () => replies.shift()!);
    expect(out.nb_tokens_cached).toBeNull();
  });

  it('adds cached_tokens to a judge\'s judge_usage, summed over its calls, only when a call reported them', async () => {
    const judge = { name: 'j', base_url: 'http://judge.invalid/v1' };
    const input = { output: 'Paris', output_true: 'Paris', query: 'Capital of France?' };
    const cached = await runJudge('judge_notator', null, input, judge, async () => reply({ answer: '9', nb_tokens_cached: 64 }));
    expect(cached.observation.judge_usage).toEqual({ prompt_tokens: 100, completion_tokens: 10, cached_tokens: 64 });
    const plain = await runJudge('judge_notator', null, input, judge, async () => reply({ answer: '9' }));
    expect(plain.observation.judge_usage).toEqual({ prompt_tokens: 100, completion_tokens: 10 });
    // faithfulness with a truths limit asks twice: the facts, then the verdicts; 30 + 40 of their 200 prompt tokens were cached.
    const rag = { ...input, retrieval_context: ['Paris is the capital of France.'] };
    const replies = [
      reply({ answer: JSON.stringify({ truths: ['Paris is the capital of France.'] }), nb_tokens_cached: 30 }),
      reply({ answer: JSON.stringify({ claims: [{ verdict: 'yes' }] }), nb_tokens_cached: 40 }),
    ];
    const twice = await runJudge('faithfulness', { truths_extraction_limit: 1 }, rag, judge, async () => replies.shift()!);
    expect(twice.observation).toMatchObject({ judge_calls: 2, judge_usage: { prompt_tokens: 200, completion_tokens: 20, cached_tokens: 70 } });
  });
});

describe('pricing cached prompt tokens', () => {
  const withCache = { name: 'gpt-4o', prices: { input: 2.5, output: 10, cached_input: 1.25, source: 'model' } };

  it('charges an experiment\'s cached prompt tokens at the cached-input price and shows how many there were', () => {
    // 10 calls: (20,000 − 8,000) × $2.50 + 8,000 × $1.25 + 1,000 × $10 = 30,000 + 10,000 + 10,000 = $50,000 per million = $0.05.
    const cost = partCost(withCache, { ...NO_TOKENS, calls: 10, prompt_tokens: 20_000, cached_prompt_tokens: 8_000, completion_tokens: 1_000 });
    expect(cost).toMatchObject({ calls: 10, prompt_tokens: 20_000, cached_prompt_tokens: 8_000, completion_tokens: 1_000 });
    expect(cost.cost).toBeCloseTo(0.05, 12);
    expect(cost.per_call).toBeCloseTo(0.005, 12);
  });

  it('charges them at the input price when the model has no cached price, and none when none were recorded', () => {
    // 20,000 × $2.50 + 1,000 × $10 = $60,000 per million = $0.06, cached or not.
    const noCachedPrice = { name: 'm', prices: { input: 2.5, output: 10 } };
    expect(partCost(noCachedPrice, { ...NO_TOKENS, calls: 10, prompt_tokens: 20_000, cached_prompt_tokens: 8_000, completion_tokens: 1_000 }).cost).toBeCloseTo(0.06, 12);
    const unrecorded = partCost(withCache, { calls: 10, prompt_tokens: 20_000, completion_tokens: 1_000, without_tokens: 0 });
    expect(unrecorded.cost).toBeCloseTo(0.06, 12);
    expect(unrecorded.cached_prompt_tokens).toBe(0);
  });
});
