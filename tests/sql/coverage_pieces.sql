-- Every piece of every community's coverage faults, computed independently in PostGIS (GEOS), for
-- tests on data digitised the way people draw it: the gap pieces (community − union of its party
-- grids), the pairwise overlaps of its party grids, and each grid's part outside its community,
-- each piece with its geodesic area (m², spheroid) and its width (twice the radius of its largest
-- inscribed circle, GEOS's ST_MaximumInscribedCircle, in a transverse Mercator frame centred on
-- the data: metres, scale error below 1e-4 within 70 km). The sliver rule is the caller's.
-- $1: the longitude of the frame's central meridian, $2: its latitude of origin.
WITH c AS (
    SELECT code, geom FROM features WHERE layer = 'community'
), g AS (
    SELECT code, parent, geom FROM features WHERE layer = 'party_grid'
), gap AS (
    SELECT c.code AS community, 'gap'::text AS kind, ''::text AS grids,
           (ST_Dump(ST_Difference(c.geom,
               COALESCE((SELECT ST_Union(g.geom) FROM g WHERE g.parent = c.code),
                        'GEOMETRYCOLLECTION EMPTY'::geometry)))).geom AS piece
    FROM c
), overlap AS (
    SELECT a.parent, 'overlap', a.code || ' ' || b.code,
           (ST_Dump(ST_Intersection(a.geom, b.geom))).geom
    FROM g a JOIN g b ON a.parent = b.parent AND a.code < b.code AND a.geom && b.geom
), outside AS (
    SELECT c.code, 'outside', g.code, (ST_Dump(ST_Difference(g.geom, c.geom))).geom
    FROM g JOIN c ON g.parent = c.code
), pieces AS (
    SELECT * FROM gap UNION ALL SELECT * FROM overlap UNION ALL SELECT * FROM outside
)
SELECT community, kind, grids,
       ST_Area(piece::geography) AS area_m2,
       2 * (ST_MaximumInscribedCircle(ST_Transform(piece,
           format('+proj=tmerc +lon_0=%s +lat_0=%s +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs',
                  $1::float8, $2::float8)))).radius AS width_m
FROM pieces
WHERE ST_Dimension(piece) = 2
ORDER BY community, kind, grids
