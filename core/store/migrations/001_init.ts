/** The initial schema. Counters and aggregates live on the parent rows so that
 *  results and leaderboards are read, never recounted. */
export default /* sql */ `
CREATE TABLE dataset (
  id             serial PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  readme         text NOT NULL DEFAULT '',
  default_metric text,
  columns_map    jsonb,
  compliance     boolean NOT NULL DEFAULT false,
  columns        text[] NOT NULL DEFAULT '{}',
  size           integer NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per dataset row, so a task reads one row, never the whole dataset.
CREATE TABLE dataset_row (
  dataset_id integer NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
  num_line   integer NOT NULL,
  data       jsonb NOT NULL,
  PRIMARY KEY (dataset_id, num_line)
);

CREATE TABLE experiment_set (
  id         serial PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  readme     text NOT NULL DEFAULT '',
  cv         jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE experiment (
  id                serial PRIMARY KEY,
  name              text NOT NULL,
  readme            text,
  experiment_set_id integer REFERENCES experiment_set(id) ON DELETE CASCADE,
  dataset_id        integer NOT NULL REFERENCES dataset(id),
  -- The model without its key; the key is stored encrypted beside it.
  model             jsonb NOT NULL,
  model_api_key     text,
  judge_model       jsonb,
  judge_api_key     text,
  has_raw_output    boolean NOT NULL DEFAULT false,
  sample            integer[],
  experiment_status text NOT NULL DEFAULT 'pending',
  num_total         integer NOT NULL,
  num_try           integer NOT NULL DEFAULT 0,
  num_success       integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX experiment_set_idx ON experiment (experiment_set_id, id);
CREATE INDEX experiment_dataset_idx ON experiment (dataset_id);

CREATE TABLE result (
  id                  serial PRIMARY KEY,
  experiment_id       integer NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
  metric_name         text NOT NULL,
  metric_aliased_name text NOT NULL,
  metric_params       jsonb,
  metric_status       text NOT NULL DEFAULT 'pending',
  num_try             integer NOT NULL DEFAULT 0,
  num_success         integer NOT NULL DEFAULT 0,
  -- Aggregates of the scores, updated in the transaction that stores each one.
  score_count         integer NOT NULL DEFAULT 0,
  score_sum           double precision NOT NULL DEFAULT 0,
  score_sumsq         double precision NOT NULL DEFAULT 0,
  score_min           double precision,
  score_max           double precision,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (experiment_id, metric_aliased_name)
);
CREATE INDEX result_metric_idx ON result (metric_aliased_name);

CREATE TABLE answer (
  experiment_id        integer NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
  num_line             integer NOT NULL,
  answer               text,
  think                text,
  context              jsonb,
  retrieval_context    jsonb,
  nb_tokens_prompt     integer,
  nb_tokens_completion integer,
  nb_tool_calls        integer,
  execution_time       integer,
  error_msg            text,
  num_try              integer NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, num_line)
);

CREATE TABLE observation (
  result_id      integer NOT NULL REFERENCES result(id) ON DELETE CASCADE,
  num_line       integer NOT NULL,
  score          double precision,
  observation    jsonb,
  error_msg      text,
  execution_time integer,
  num_try        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (result_id, num_line)
);
`;
