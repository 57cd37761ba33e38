-- Migration 16: monthly problems picked for root-cause work, and the area of an analytics map
-- Append only: never edit a migration that has shipped; add the next number.
-- 每月一题: a person picks one (or more) of the month's candidates; picked problems are tracked
-- month over month (docs/analytics.md).
CREATE TABLE monthly_problems (
  month          date NOT NULL,           -- the first day of the month it was picked for
  category_group text NOT NULL,
  picked_by      text NOT NULL,
  picked_at      timestamptz NOT NULL DEFAULT now(),
  note           text NOT NULL DEFAULT '',
  score          double precision,        -- its score when it was picked
  PRIMARY KEY (month, category_group)
);

-- The area an analytics map covers (docs/analytics.md): the area of level p_level and code
-- p_code when given; else the areas of the coarsest level that have cases opened in
-- [p_since, p_until) (of category or group p_cat, NULL: all); else the envelope of those cases.
-- NULL when there is none. (Parameters are prefixed: a column of the same name would win.)
CREATE FUNCTION gw_analytics_region(p_level text, p_code text, p_since timestamptz, p_until timestamptz, p_cat text)
RETURNS geometry LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT ST_Union(a.geom) FROM areas a WHERE p_code IS NOT NULL AND a.level_name = p_level AND a.code = p_code),
    (SELECT ST_Union(a.geom) FROM areas a
     WHERE p_code IS NULL AND a.level = (SELECT min(level) FROM areas)
       AND EXISTS (SELECT 1 FROM orders o
                   WHERE o.areas @> jsonb_build_object(a.level_name, a.code)
                     AND o.opened_at >= p_since AND o.opened_at < p_until
                     AND o.state NOT IN ('cancelled', 'duplicate')
                     AND (p_cat IS NULL OR o.category = p_cat OR o.category LIKE p_cat || '.%'))),
    (SELECT ST_Envelope(ST_Collect(o.geom)) FROM orders o
     WHERE o.geom IS NOT NULL AND o.opened_at >= p_since AND o.opened_at < p_until
       AND o.state NOT IN ('cancelled', 'duplicate')
       AND (p_cat IS NULL OR o.category = p_cat OR o.category LIKE p_cat || '.%')
       AND (p_code IS NULL OR o.areas @> jsonb_build_object(p_level, p_code))))
$$;
