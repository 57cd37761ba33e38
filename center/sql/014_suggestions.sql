-- Migration 14: dispatch suggestions and training labels
-- What the text classifier suggested for a hotline source (category, department, p, top3, model,
-- safety word), and the dispatchers' choices kept as training labels (GET /api/v1/labels).
ALTER TABLE sources ADD COLUMN suggestion jsonb;

CREATE TABLE classify_labels (
  id          bigserial PRIMARY KEY,
  case_id     text NOT NULL,
  text        text NOT NULL,        -- the case's hotline descriptions, joined with " / "
  suggested   text,                 -- the classifier's top category, when it made a suggestion
  category    text NOT NULL,        -- the dispatcher's choice
  chosen_by   text NOT NULL,
  chosen_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX classify_labels_at ON classify_labels (chosen_at);
