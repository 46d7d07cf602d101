/**
 * A result's version, raised when PATCH resets it (a metric sent again, maybe
 * with other params): a runner whose cached configuration holds an older
 * version reads it again rather than score with the old params.
 */
export default /* sql */ `
ALTER TABLE result ADD COLUMN version integer NOT NULL DEFAULT 0;
`;
