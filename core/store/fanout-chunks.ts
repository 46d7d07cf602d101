/**
 * Claims on fan-out chunks (migration 011): a chunk is sent by the delivery
 * that claims it, and by nobody else unless that same message comes back
 * (its holder died between claiming and marking the chunk sent).
 */
import type pg from 'pg';

export interface ChunkClaim {
  experimentId: number;
  /** Message id of the fan-out that began the tree. */
  root: string;
  from: number;
  /** This delivery's message id, and whether it was received before. */
  messageId: string;
  redelivered: boolean;
}

/** True if this delivery is to send the chunk: it claimed it now, or claimed it on an earlier receipt and never finished. */
export async function claimChunk(pool: pg.Pool, c: ChunkClaim): Promise<boolean> {
  const { rows } = await pool.query(
    `INSERT INTO fanout_chunk (experiment_id, root, from_pos, message_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (experiment_id, root, from_pos) DO UPDATE SET claimed_at = now()
       WHERE NOT fanout_chunk.sent AND fanout_chunk.message_id = EXCLUDED.message_id AND $5::boolean
     RETURNING 1`,
    [c.experimentId, c.root, c.from, c.messageId, c.redelivered],
  );
  return rows.length > 0;
}

export async function markChunkSent(pool: pg.Pool, experimentId: number, root: string, from: number): Promise<void> {
  await pool.query('UPDATE fanout_chunk SET sent = true WHERE experiment_id = $1 AND root = $2 AND from_pos = $3', [experimentId, root, from]);
}
