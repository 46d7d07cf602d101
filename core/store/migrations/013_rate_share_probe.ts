/**
 * Three more things runners tell each other of a model (runner/rate-share.ts):
 * whether one is probing its pace upward (a refusal that lands on another
 * runner meanwhile was caused by the probe, and goes back to the pace that
 * was accepted rather than slowing all of them); how many of its requests
 * the model accepted over the last second (a first wave is split among the
 * runners, and so are its refusals: its pace is learned from what all of them
 * had accepted, not from one runner's part); and whether its part of a first
 * wave is still out (until none is, the counts are not final).
 */
export default /* sql */ `
ALTER TABLE model_rate_share ADD COLUMN probing boolean NOT NULL DEFAULT false;
ALTER TABLE model_rate_share ADD COLUMN accepted integer NOT NULL DEFAULT 0;
ALTER TABLE model_rate_share ADD COLUMN wave_open boolean NOT NULL DEFAULT false;
`;
