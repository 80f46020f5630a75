-- The length of border two party grids of one community share, and the length of each grid's
-- border along its community's boundary, computed independently in PostGIS (GEOS) for the sliver
-- grouping test: the part of a grid's boundary within $3 metres of the other side's boundary (in
-- a transverse Mercator frame centred on the data). Grids digitised apart do not share edges, so
-- each side's copy is measured; the caller takes the mean of the two copies for a pair.
-- $1, $2: the frame's central meridian and latitude of origin; $3: the distance (m).
WITH tm AS (
    SELECT format('+proj=tmerc +lon_0=%s +lat_0=%s +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs',
                  $1::float8, $2::float8) AS proj
), g AS (
    SELECT code, parent, ST_Transform(geom, (SELECT proj FROM tm)) AS geom
    FROM features WHERE layer = 'party_grid'
), c AS (
    SELECT code, ST_Transform(geom, (SELECT proj FROM tm)) AS geom
    FROM features WHERE layer = 'community'
)
SELECT a.parent AS community, a.code AS a, b.code AS b,
       ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Buffer(ST_Boundary(b.geom), $3))) AS length_m
FROM g a JOIN g b ON a.parent = b.parent AND a.code <> b.code AND ST_DWithin(a.geom, b.geom, $3)
UNION ALL
SELECT c.code, g.code, '', ST_Length(ST_Intersection(ST_Boundary(g.geom), ST_Buffer(ST_Boundary(c.geom), $3)))
FROM g JOIN c ON g.parent = c.code
ORDER BY 1, 2, 3
