/**
 * What each runner knows of each model's rate limit, so that several runners
 * calling one provider keep to its limit together as one runner would
 * (runner/rate-share.ts). Each runner writes only its own rows (no two
 * runners contend for a row) and reads the others': how many want the model
 * now (each takes that share of the budget), the latest pace learned from a
 * refusal (for all runners together), the latest Retry-After block, and
 * how much of a declared per-minute budget each holds (its starts within the
 * last minute and what it may still start: runners share out what is left).
 * The row with model_key '*' says the runner is alive, whatever it calls.
 * Times the runners compare (learned_at, blocked_until) are their epoch ms;
 * liveness (seen_at) is the database's clock, the one all runners share.
 */
export default /* sql */ `
CREATE TABLE model_rate_share (
  model_key     text NOT NULL,
  runner_id     text NOT NULL,
  demand        boolean NOT NULL DEFAULT false,
  pace_ms       double precision,
  learned_at    double precision,
  blocked_until double precision NOT NULL DEFAULT 0,
  reserved_requests integer NOT NULL DEFAULT 0,
  reserved_tokens  double precision NOT NULL DEFAULT 0,
  seen_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_key, runner_id)
);
`;
