/** Running sums of per-row statistics (BLEU n-gram counts, chrF counts), so a
 *  result's corpus-level score is read, never recomputed from its rows. */
export default /* sql */ `
ALTER TABLE result ADD COLUMN corpus_stats double precision[];
`;
