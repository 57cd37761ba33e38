-- Migration 8: photos uploaded by workers and residents; steps by request id
-- Append only: never edit a migration that has shipped; add the next number.
CREATE TABLE media (
  id           text PRIMARY KEY,
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
  bytes        bytea NOT NULL,
  uploaded_by  text NOT NULL,
  uploaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_history_request_id ON case_history (case_id, (detail->>'request_id'))
  WHERE detail ? 'request_id';
