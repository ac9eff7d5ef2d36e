import type pg from 'pg';

/**
 * Runs `work` in one transaction on a pooled connection: COMMIT when it returns, ROLLBACK when it throws.
 * A connection that cannot even roll back (its server went away mid-transaction) is destroyed rather than
 * returned to the pool, so the next caller gets a fresh one; the error itself reaches the caller (an
 * activity fails retryably and runs again once the server is back).
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
