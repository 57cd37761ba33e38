-- The staging table of an area load (COPY), gone at commit.
CREATE TEMP TABLE areas_load (level int, code text, name text, parent text, level_name text, wkt text) ON COMMIT DROP
