-- Migration 7: a source's later events add to its evidence
-- Append only: never edit a migration that has shipped; add the next number.
-- A later event's evidence is merged into what the source had (its keys win): the snapshot and
-- the clip of a camera's open event stay when the clear that follows brings only its own trigger.
CREATE FUNCTION gw_keep_evidence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF jsonb_typeof(OLD.evidence) = 'object' AND jsonb_typeof(NEW.evidence) = 'object' THEN
    NEW.evidence := OLD.evidence || NEW.evidence;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER sources_keep_evidence BEFORE UPDATE OF evidence ON sources
  FOR EACH ROW WHEN (OLD.evidence IS DISTINCT FROM NEW.evidence)
  EXECUTE FUNCTION gw_keep_evidence();
