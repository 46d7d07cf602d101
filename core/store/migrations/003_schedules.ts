/** Scheduled evaluation jobs and their runs (launched or skipped, with the comparison to the previous run). */
export default /* sql */ `
CREATE TABLE schedule (
  id           serial PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  cron         text NOT NULL,
  timezone     text NOT NULL DEFAULT 'UTC',
  template     jsonb NOT NULL,
  paused       boolean NOT NULL DEFAULT false,
  last_tick_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schedule_run (
  id                serial PRIMARY KEY,
  schedule_id       integer NOT NULL REFERENCES schedule(id) ON DELETE CASCADE,
  tick_at           timestamptz NOT NULL,
  status            text NOT NULL,
  reason            text,
  experiment_set_id integer REFERENCES experiment_set(id) ON DELETE SET NULL,
  comparison        jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (schedule_id, tick_at)
);
`;
