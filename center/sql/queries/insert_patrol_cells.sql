-- The lattice cells of a grid a worker passed, per day (the coverage).
INSERT INTO patrol_cells (day, grid, worker, cell)
SELECT t.day, $1, $2, t.cell
FROM unnest($3::date[], $4::int[]) AS t(day, cell)
ON CONFLICT DO NOTHING
