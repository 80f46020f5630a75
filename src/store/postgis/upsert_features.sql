-- Insert or replace many features in one statement: one array per column, unpacked by unnest.
INSERT INTO features (layer, code, name, parent, properties, geom, version, updated_at)
SELECT r.layer, r.code, r.name, r.parent, r.properties::jsonb, ST_GeomFromWKB(r.geom, 4326),
       r.version, $8
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::int8[])
    AS r (layer, code, name, parent, properties, geom, version)
ON CONFLICT (layer, code) DO UPDATE
SET name = excluded.name, parent = excluded.parent, properties = excluded.properties,
    geom = excluded.geom, version = excluded.version, updated_at = excluded.updated_at
