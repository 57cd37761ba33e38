-- Migration 2: administrative areas
-- Append only: never edit a migration that has shipped; add the next number.
CREATE TABLE areas (
  level      int  NOT NULL,
  code       text NOT NULL,
  name       text NOT NULL DEFAULT '',
  parent     text,
  level_name text NOT NULL,
  geom       geometry(MultiPolygon, 4326) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (level, code)
);
CREATE INDEX areas_geom_gist ON areas USING gist (geom);
