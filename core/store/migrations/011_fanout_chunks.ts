/**
 * Fan-out chunks sent, so a chunk is enqueued once however its fan-out task
 * is delivered. A large experiment's fan-out splits into sub-range tasks
 * (runner/tasks/fanout.ts); a split task that is delivered again sends its
 * sub-ranges again, and without this their rows would be enqueued twice (and
 * a row whose duplicate tasks run at the same time would be asked twice).
 * A chunk is named by the message id of the fan-out that began its tree
 * (`root`, stable across redeliveries) and its first position. `message_id`
 * is the delivery that claimed it: only a redelivery of that same message may
 * send a chunk claimed but never marked sent (its claimant died mid-send).
 */
export default /* sql */ `
CREATE TABLE fanout_chunk (
  experiment_id integer NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
  root          text NOT NULL,
  from_pos      integer NOT NULL,
  message_id    text NOT NULL,
  sent          boolean NOT NULL DEFAULT false,
  claimed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, root, from_pos)
);
`;
