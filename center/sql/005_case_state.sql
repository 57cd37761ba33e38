-- Migration 5: case lifecycle state
-- Append only: never edit a migration that has shipped; add the next number.
-- The work on a case (dispatch, accept, ..., close: center/lifecycle.h), beside `status`, which
-- says whether the problem is still there (derived from the sources).
ALTER TABLE orders
  ADD COLUMN state text NOT NULL DEFAULT 'new'
    CHECK (state IN ('new', 'dispatched', 'accepted', 'in_progress', 'resolved', 'closed', 'rejected',
                     'reopened', 'cancelled', 'duplicate')),
  ADD COLUMN state_changed_at timestamptz,
  -- Where it was dispatched (直派街乡镇: the street office owning the place) and the department
  -- of its category; the SLA clock of the last dispatch; the resident's evaluation.
  ADD COLUMN unit_code     text,
  ADD COLUMN department    text,
  ADD COLUMN dispatched_at timestamptz,
  ADD COLUMN respond_due   timestamptz,
  ADD COLUMN resolve_due   timestamptz,
  ADD COLUMN responded_at  timestamptz,
  ADD COLUMN resolved_at   timestamptz,
  ADD COLUMN satisfaction  text CHECK (satisfaction IN ('satisfied', 'unsatisfied')),
  -- When the SLA check found the case late (once per dispatch).
  ADD COLUMN overdue_respond_at timestamptz,
  ADD COLUMN overdue_resolve_at timestamptz;
CREATE INDEX orders_state ON orders (state);
