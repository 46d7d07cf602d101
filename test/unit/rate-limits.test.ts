/**
 * Reading what providers say about their rate limits, from replies as they
 * send them. Each fixture's source is given where it is a captured reply.
 */
import { parseDuration, readRateLimits, retryHint } from '../../core/providers/rate-limits.js';

const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name.toLowerCase()] ?? null });
const NOW = Date.parse('2025-08-21T12:40:58.500Z');

describe('reading rate-limit headers', () => {
  it("reads OpenAI's allowances, resets as Go durations", () => {
    // Headers of a chat completion, as quoted in community.openai.com/t/how-to-get-rate-limit-reset-time-for-response-api/1268905.
    const state = readRateLimits(
      headers({
        'x-ratelimit-limit-requests': '5000',
        'x-ratelimit-limit-tokens': '160000',
        'x-ratelimit-remaining-requests': '4999',
        'x-ratelimit-remaining-tokens': '159976',
        'x-ratelimit-reset-requests': '12ms',
        'x-ratelimit-reset-tokens': '9ms',
      }),
      undefined,
      NOW,
    );
    expect(state).toEqual({ requests: { limit: 5000, remaining: 4999, resetMs: 12 }, tokens: { limit: 160000, remaining: 159976, resetMs: 9 } });
  });

  it("reads Anthropic's allowances, resets as RFC 3339 times, the combined tokens before the input tokens", () => {
    // A recorded reply of api.anthropic.com/v1/messages (tidyllm's test fixture claude/api.anthropic.com/v1/messages-e050b5-POST.R, 2025-08-21).
    const state = readRateLimits(
      headers({
        'anthropic-ratelimit-input-tokens-limit': '80000',
        'anthropic-ratelimit-input-tokens-remaining': '80000',
        'anthropic-ratelimit-input-tokens-reset': '2025-08-21T12:40:59Z',
        'anthropic-ratelimit-output-tokens-limit': '16000',
        'anthropic-ratelimit-output-tokens-remaining': '16000',
        'anthropic-ratelimit-output-tokens-reset': '2025-08-21T12:41:00Z',
        'anthropic-ratelimit-requests-limit': '1000',
        'anthropic-ratelimit-requests-remaining': '999',
        'anthropic-ratelimit-requests-reset': '2025-08-21T12:40:59Z',
        'anthropic-ratelimit-tokens-limit': '96000',
        'anthropic-ratelimit-tokens-remaining': '96000',
        'anthropic-ratelimit-tokens-reset': '2025-08-21T12:40:59Z',
      }),
      undefined,
      NOW,
    );
    expect(state).toEqual({ requests: { limit: 1000, remaining: 999, resetMs: 500 }, tokens: { limit: 96000, remaining: 96000, resetMs: 500 } });
    const inputOnly = readRateLimits(headers({ 'anthropic-ratelimit-input-tokens-remaining': '10', 'anthropic-ratelimit-input-tokens-reset': '2025-08-21T12:41:00.500Z' }), undefined, NOW);
    expect(inputOnly).toEqual({ tokens: { remaining: 10, resetMs: 2000 } });
  });

  it("reads Azure's remaining counts without a limit or a reset", () => {
    expect(readRateLimits(headers({ 'x-ratelimit-remaining-requests': '119', 'x-ratelimit-remaining-tokens': '119000' }))).toEqual({
      requests: { remaining: 119 },
      tokens: { remaining: 119000 },
    });
  });

  it('takes the wait of a refusal from retry-after-ms first, then Retry-After in seconds or as a date, then the text', () => {
    expect(readRateLimits(headers({ 'retry-after-ms': '1500', 'retry-after': '2' }), 'Please try again in 9s.').retryAfterMs).toBe(1500);
    expect(readRateLimits(headers({ 'retry-after': '2' }), 'Please try again in 9s.').retryAfterMs).toBe(2000);
    expect(readRateLimits(headers({ 'retry-after': 'Thu, 21 Aug 2025 12:41:01 GMT' }), undefined, NOW).retryAfterMs).toBe(2500);
    expect(readRateLimits(headers({}), '{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.","type":"requests","code":"rate_limit_exceeded"}}').retryAfterMs).toBe(20000);
  });

  it('leaves out what cannot be read, and says nothing when nothing is stated', () => {
    expect(readRateLimits(headers({ 'x-ratelimit-remaining-requests': 'lots', 'x-ratelimit-reset-requests': 'soon', 'retry-after': 'later' }), 'slow down')).toEqual({});
    expect(readRateLimits(headers({ 'x-ratelimit-remaining-requests': '3', 'x-ratelimit-reset-requests': 'soon' }))).toEqual({ requests: { remaining: 3 } });
  });
});

describe('Go durations', () => {
  it.each([
    ['20ms', 20],
    ['1s', 1000],
    ['6m0s', 360_000],
    ['1m30.5s', 90_500],
    ['1h2m3s', 3_723_000],
    ['0s', 0],
    ['1.982s', 1982],
  ])('reads %s as %i ms', (text, ms) => expect(parseDuration(text)).toBeCloseTo(ms, 6));

  it.each(['', 's', '1', '1 s', '-1s', '1d', 'soon'])('refuses %p', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('the wait hinted in an error text', () => {
  it.each([
    ['Rate limit reached. Please try again in 20ms.', 20],
    ['Please try again in 1.982s. Visit https://platform.openai.com/account/rate-limits to learn more.', 1982],
    ['Please try again in 6m0s.', 360_000],
    ['Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds.', 7000],
    // Azure API Management's policy text (quoted in Azure-Samples/azure-search-openai-demo#177).
    ['Rate limit is exceeded. Try again in 30 seconds.', 30_000],
  ])('reads %p', (text, ms) => expect(retryHint(text)).toBe(ms));

  it('finds none where none is given', () => {
    expect(retryHint('You exceeded your current quota, please check your plan and billing details.')).toBeUndefined();
  });
});
