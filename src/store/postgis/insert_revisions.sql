-- Insert many revisions of one change set in one statement, ids in array order.
INSERT INTO gridmap_revisions (changeset, layer, code, action, author, message, at,
    old_version, old_name, old_parent, old_properties, old_geom,
    new_version, new_name, new_parent, new_properties, new_geom)
SELECT $1, r.layer, r.code, r.action, $2, $3, $4,
    r.old_version, r.old_name, r.old_parent, r.old_properties::jsonb,
    ST_GeomFromWKB(r.old_geom, 4326),
    r.new_version, r.new_name, r.new_parent, r.new_properties::jsonb,
    ST_GeomFromWKB(r.new_geom, 4326)
FROM unnest($5::text[], $6::text[], $7::text[],
            $8::int8[], $9::text[], $10::text[], $11::text[], $12::bytea[],
            $13::int8[], $14::text[], $15::text[], $16::text[], $17::bytea[])
    WITH ORDINALITY
    AS r (layer, code, action,
          old_version, old_name, old_parent, old_properties, old_geom,
          new_version, new_name, new_parent, new_properties, new_geom, ord)
ORDER BY r.ord
