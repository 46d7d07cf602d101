/**
 * Evaluation steps a judge wrote once for a whole experiment (g_eval given
 * criteria alone): every row of the experiment is judged by the same steps,
 * whichever runner judges it. A row per (experiment, metric, hash of what the
 * steps are made from); `steps` is null while one task writes them: that
 * task's runner holds the claim (`claimed_by`) until `claimed_until`, after
 * which another runner may take it over (core/store/judge-steps.ts).
 */
export default /* sql */ `
CREATE TABLE judge_steps (
  experiment_id integer NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
  metric        text NOT NULL,
  inputs_hash   text NOT NULL,
  steps         jsonb,
  claimed_by    text,
  claimed_until timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, metric, inputs_hash)
);
`;
