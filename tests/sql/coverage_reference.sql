-- The independent computation of the coverage report's figures in PostGIS (3.3: no
-- ST_Coverage*), for tests and benchmarks: per community, the geodesic areas (m², spheroid) of
-- the gap (community − union of its party grids), of the pairwise overlaps of its party grids
-- and of its party grids outside it.
WITH c AS (
    SELECT code, geom FROM features WHERE layer = 'community'
), g AS (
    SELECT code, parent, geom FROM features WHERE layer = 'party_grid'
)
SELECT
    c.code,
    ST_Area(c.geom::geography) AS area_m2,
    COALESCE(ST_Area(ST_Difference(c.geom,
        (SELECT ST_Union(g.geom) FROM g WHERE g.parent = c.code))::geography),
        ST_Area(c.geom::geography)) AS gap_m2,
    (SELECT COALESCE(SUM(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
       FROM g a JOIN g b ON a.parent = c.code AND b.parent = c.code AND a.code < b.code
                         AND a.geom && b.geom) AS overlap_m2,
    (SELECT COALESCE(SUM(ST_Area(ST_Difference(g.geom, c.geom)::geography)), 0)
       FROM g WHERE g.parent = c.code) AS outside_m2
FROM c
ORDER BY c.code
