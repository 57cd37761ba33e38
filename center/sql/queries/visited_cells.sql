-- The cells of a grid visited on a day, ascending.
SELECT DISTINCT cell FROM patrol_cells WHERE day = $1::date AND grid = $2 ORDER BY cell
