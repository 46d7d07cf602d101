/**
 * Evalap's Parquet upload: a dataset keeps its Parquet rows apart from its
 * `df` rows (Evalap reports `size`/`columns` and `parquet_size`/
 * `parquet_columns` separately), and an experiment with `with_vision` reads
 * the Parquet rows, whose image column goes to the model.
 */
export default /* sql */ `
ALTER TABLE dataset ADD COLUMN parquet_size integer NOT NULL DEFAULT 0;
ALTER TABLE dataset ADD COLUMN parquet_columns text[] NOT NULL DEFAULT '{}';
ALTER TABLE dataset ADD COLUMN parquet_byte_size integer;
-- One row per Parquet row, as dataset_row: a task reads one row (with its image), never the file.
CREATE TABLE dataset_parquet_row (
  dataset_id integer NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
  num_line   integer NOT NULL,
  data       jsonb NOT NULL,
  PRIMARY KEY (dataset_id, num_line)
);
ALTER TABLE experiment ADD COLUMN with_vision boolean NOT NULL DEFAULT false;
`;
