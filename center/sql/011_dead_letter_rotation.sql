-- Migration 11: dead letters of one source are found newest first
-- Append only: never edit a migration that has shipped; add the next number.
-- Refusals from outside (Open311 posts without a valid key, say) are kept up to a cap per source,
-- the oldest deleted beyond it (limits.refusals_kept): that delete walks a source's letters from
-- the newest.
CREATE INDEX dead_letters_source_id ON dead_letters (source, id DESC);
