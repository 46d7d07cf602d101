/**
 * The one shape of an observation, a metric's result on one row, followed
 * from the scorer (core/metrics) or the judge call (runner/execute.ts) over
 * the bus (runner/protocol.ts) into the `observation` table
 * (core/store/outcomes.ts).
 *
 * Derived from the API's Observation schema (core/schemas.ts), the shape
 * clients read back, as the answer's is (core/answer.ts); execution_time is
 * kept in milliseconds (the API shows seconds), and emission_carbon holds
 * whatever JSON core/eco recorded.
 */
import type { z } from 'zod';
import type { Observation as ObservationSchema } from './schemas.js';

type ApiObservation = z.infer<typeof ObservationSchema>;

/** A metric's result on one row: a score (null when the row has none) with what it observed, or the error recorded instead. */
export type ObservationRecord = Pick<ApiObservation, 'score' | 'observation' | 'error_msg' | 'execution_time'> & {
  /** Energy and carbon of the judge call(s), when the metric called one. */
  emission_carbon?: unknown;
};

/** What a scorer found, before it is timed and stored. */
export type Scored = Pick<ObservationRecord, 'score' | 'observation'>;

/** An observation in its terminal state, as committed: a failure carries only its error. */
export type ObservationCommit = Pick<ObservationRecord, 'score' | 'error_msg'> & Partial<Omit<ObservationRecord, 'score' | 'error_msg'>>;
