/** Rows deleted per statement when old rows are pruned: short statements, short locks. */
export const DELETE_BATCH = 5000;

/**
 * Runs `deleteBatch(DELETE_BATCH)` until a call deletes fewer than a full batch; returns the
 * total. `onBatch` sees each batch's count, so a caller that fails midway still knows them.
 */
export async function deleteInBatches(deleteBatch: (limit: number) => Promise<number>, onBatch?: (deleted: number) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(DELETE_BATCH);
    total += deleted;
    onBatch?.(deleted);
    if (deleted < DELETE_BATCH) return total;
  }
}
