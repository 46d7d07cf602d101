/**
 * What the sweeper remembers of each unfinished experiment: its progress
 * (answers and observations tried) when it last moved, and how often its
 * missing work was enqueued again since. A row of a finished experiment is
 * deleted by the next sweep.
 */
export default /* sql */ `
CREATE TABLE experiment_sweep (
  experiment_id integer PRIMARY KEY REFERENCES experiment(id) ON DELETE CASCADE,
  progress      bigint NOT NULL,
  progress_at   timestamptz NOT NULL DEFAULT now(),
  requeues      integer NOT NULL DEFAULT 0,
  requeued_at   timestamptz
);
`;
