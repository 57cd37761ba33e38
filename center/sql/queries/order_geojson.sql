-- A case by its id, or the case a source of it names (pattern: the placeholder feature is case_feature).
SELECT {feature}::text FROM orders o WHERE o.id = coalesce((SELECT id FROM orders WHERE id = $1),
                                                  (SELECT case_id FROM sources WHERE id = $1))
