-- Is the ticket of this Open311 token part of this case.
SELECT 1 FROM sources WHERE token = $1 AND case_id = $2
