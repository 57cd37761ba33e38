-- Who sent a case back last (退单), for the refusal of a dispatch without a unit.
SELECT actor FROM case_history WHERE case_id = $1 AND action = 'reject' ORDER BY id DESC LIMIT 1
