/**
 * Whether a model's replies state its rate-limit budget (OpenAI's
 * x-ratelimit-*, Anthropic's anthropic-ratelimit-*), as runners saw it. Kept
 * after the runners stop (unlike model_rate_share): the next run's first wave
 * at such a model is one request, whose reply says how many more the budget
 * takes (runner/limiter.ts, scout). The key is the limiter's: endpoint and
 * model name.
 */
export default /* sql */ `
CREATE TABLE model_budget_statement (
  model_key text PRIMARY KEY,
  states_budget boolean NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now()
);
`;
