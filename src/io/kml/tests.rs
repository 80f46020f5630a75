//! Unit tests of KML and KMZ reading. Expected values are written by hand from the fixtures.

use std::io::{Cursor, Write};

use geo::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use serde_json::json;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::*;
use crate::io::{FeatureError, read_geojson, read_kml, read_kmz};
use crate::model::FeatureDraft;

fn opts(rules: &[&str], layer: Option<Layer>) -> ImportOptions {
    ImportOptions {
        layer,
        folder_layers: rules.iter().map(|r| r.parse().unwrap()).collect(),
        ..ImportOptions::default()
    }
}

fn kml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>{body}</Document>
</kml>"#
    )
}

fn ring(points: &[(f64, f64)]) -> LineString<f64> {
    LineString(points.iter().map(|&(x, y)| Coord { x, y }).collect())
}

/// The one error message of a refused file.
fn refusal(text: &str, opts: &ImportOptions) -> String {
    read_kml(text.as_bytes(), opts).unwrap_err().to_string()
}

fn errors(text: &str, opts: &ImportOptions) -> Vec<FeatureError> {
    match read_kml(text.as_bytes(), opts) {
        Err(ImportError::Features { errors, .. }) => errors,
        other => panic!("expected bad features, got {other:?}"),
    }
}

fn find<'a>(drafts: &'a [FeatureDraft], code: &str) -> &'a FeatureDraft {
    drafts.iter().find(|d| d.code == code).unwrap()
}

/// An Ovital-style export: nested folders, shared and inline styles, CDATA, both ExtendedData
/// forms, a described placemark with every element gridmap ignores.
const OVITAL: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
  <name>朝阳街道.kml</name>
  <Style id="red"><LineStyle><color>ff0000ff</color><width>2</width></LineStyle><PolyStyle><fill>0</fill></PolyStyle></Style>
  <StyleMap id="m"><Pair><key>normal</key><styleUrl>#red</styleUrl></Pair></StyleMap>
  <Schema name="grid" id="grid_schema">
    <SimpleField name="households" type="int"/>
    <SimpleField name="area_ha" type="double"><displayName>面积</displayName></SimpleField>
    <SimpleField name="code" type="int"/>
  </Schema>
  <Folder>
    <name>朝阳街道</name>
    <open>1</open>
    <Folder>
      <name><![CDATA[和平社区]]></name>
      <Folder>
        <name>党建网格</name>
        <Placemark>
          <name><![CDATA[第一网格 <A&B>]]></name>
          <Snippet maxLines="0"></Snippet>
          <description><![CDATA[<p>网格员：<b>张三</b></p>]]></description>
          <LookAt><longitude>116.4</longitude><latitude>39.9</latitude><range>500</range></LookAt>
          <TimeStamp><when>2024-05-01</when></TimeStamp>
          <styleUrl>#m</styleUrl>
          <Style><LineStyle><color>ff00ff00</color></LineStyle></Style>
          <gx:balloonVisibility>0</gx:balloonVisibility>
          <ExtendedData>
            <Data name="code"><displayName>编码</displayName><value>110105001001</value></Data>
            <Data name="parent"><value><![CDATA[110105001]]></value></Data>
            <Data name="grid_worker"><value>张三 &amp; 李四</value></Data>
            <Data name="households"><value> 120 </value></Data>
            <Data name="note"><value></value></Data>
          </ExtendedData>
          <Polygon>
            <extrude>0</extrude><altitudeMode>clampToGround</altitudeMode>
            <outerBoundaryIs><LinearRing><coordinates>
              116.40,39.90,0 116.41,39.90,0 116.41,39.91,0 116.40,39.91,0 116.40,39.90,0
            </coordinates></LinearRing></outerBoundaryIs>
          </Polygon>
        </Placemark>
        <Placemark>
          <name>第二网格</name>
          <ExtendedData>
            <SchemaData schemaUrl="#grid_schema">
              <SimpleData name="code">0110105001002</SimpleData>
              <SimpleData name="households">80</SimpleData>
              <SimpleData name="area_ha">1.5</SimpleData>
            </SchemaData>
            <ovital:extra xmlns:ovital="urn:ovital">ignored</ovital:extra>
          </ExtendedData>
          <MultiGeometry>
            <Polygon><outerBoundaryIs><LinearRing><coordinates>116.42,39.90 116.43,39.90 116.43,39.91 116.42,39.90</coordinates></LinearRing></outerBoundaryIs></Polygon>
            <MultiGeometry>
              <Polygon><outerBoundaryIs><LinearRing><coordinates>116.44,39.90 116.45,39.90 116.45,39.91 116.44,39.90</coordinates></LinearRing></outerBoundaryIs></Polygon>
            </MultiGeometry>
          </MultiGeometry>
        </Placemark>
      </Folder>
      <Folder>
        <name>商户</name>
        <Folder>
          <name>餐饮</name>
          <Placemark>
            <name>老王面馆</name>
            <styleUrl>#shop</styleUrl>
            <ExtendedData><Data name="code"><value>S-001</value></Data><Data name="layer"><value>unit</value></Data></ExtendedData>
            <Point><coordinates> 116.405 , 39.905 , 12.5 </coordinates></Point>
          </Placemark>
        </Folder>
      </Folder>
    </Folder>
  </Folder>
</Document>
</kml>
"##;

const OVITAL_RULES: [&str; 2] = ["党建网格=party_grid", "商户=shop"];

#[test]
fn nested_folders_styles_cdata_and_both_extended_data_forms() {
    let drafts = read_kml(OVITAL.as_bytes(), &opts(&OVITAL_RULES, None)).unwrap();
    assert_eq!(drafts.len(), 3);

    let first = &drafts[0];
    assert_eq!(first.layer, Layer::PartyGrid);
    assert_eq!(first.code, "110105001001");
    assert_eq!(first.name, "第一网格 <A&B>");
    assert_eq!(first.parent.as_deref(), Some("110105001"));
    // `note` is empty and left out; the description, styles and the rest are not properties.
    assert_eq!(
        Value::from(first.properties.clone()),
        json!({"grid_worker": "张三 & 李四", "households": 120})
    );
    assert_eq!(
        first.geometry,
        Geometry::Polygon(Polygon::new(
            ring(&[
                (116.40, 39.90),
                (116.41, 39.90),
                (116.41, 39.91),
                (116.40, 39.91),
                (116.40, 39.90)
            ]),
            vec![]
        ))
    );

    // SchemaData typed by its <Schema>, except the code, which stays text (leading zero kept).
    let second = &drafts[1];
    assert_eq!(second.code, "0110105001002");
    assert_eq!(second.name, "第二网格");
    assert_eq!(second.parent, None);
    assert_eq!(
        Value::from(second.properties.clone()),
        json!({"households": 80, "area_ha": 1.5})
    );
    // A MultiGeometry of polygons, nested MultiGeometry flattened.
    assert_eq!(
        second.geometry,
        Geometry::MultiPolygon(MultiPolygon(vec![
            Polygon::new(
                ring(&[
                    (116.42, 39.90),
                    (116.43, 39.90),
                    (116.43, 39.91),
                    (116.42, 39.90)
                ]),
                vec![]
            ),
            Polygon::new(
                ring(&[
                    (116.44, 39.90),
                    (116.45, 39.90),
                    (116.45, 39.91),
                    (116.44, 39.90)
                ]),
                vec![]
            ),
        ]))
    );

    // The 商户 rule two folders up beats the placemark's own `layer` field; spaces around the
    // commas are tolerated and the altitude dropped.
    let shop = &drafts[2];
    assert_eq!((shop.layer, shop.code.as_str()), (Layer::Shop, "S-001"));
    assert_eq!(shop.name, "老王面馆");
    assert_eq!(shop.geometry, Geometry::Point(Point::new(116.405, 39.905)));
}

#[test]
fn the_nearest_folder_with_a_rule_decides_then_the_field_then_layer() {
    let body = r#"
      <Folder><name>社区</name>
        <Placemark><name>a</name><ExtendedData><Data name="code"><value>a</value></Data></ExtendedData>
          <Point><coordinates>116.4,39.9</coordinates></Point></Placemark>
        <Folder><name>驿站</name>
          <Placemark><name>b</name><ExtendedData><Data name="code"><value>b</value></Data></ExtendedData>
            <Point><coordinates>116.4,39.9</coordinates></Point></Placemark>
        </Folder>
      </Folder>
      <Placemark><name>c</name><ExtendedData><Data name="code"><value>c</value></Data><Data name="layer"><value>party_center</value></Data></ExtendedData>
        <Point><coordinates>116.4,39.9</coordinates></Point></Placemark>
      <Placemark><name>d</name><ExtendedData><Data name="code"><value>d</value></Data></ExtendedData>
        <Point><coordinates>116.4,39.9</coordinates></Point></Placemark>"#;
    let drafts = read_kml(
        kml(body).as_bytes(),
        &opts(
            &["社区=unit", "驿站=service_station"],
            Some(Layer::SocialOrg),
        ),
    )
    .unwrap();
    let layers: Vec<(&str, Layer)> = drafts.iter().map(|d| (d.code.as_str(), d.layer)).collect();
    assert_eq!(
        layers,
        [
            ("a", Layer::Unit),
            ("b", Layer::ServiceStation),
            ("c", Layer::PartyCenter),
            ("d", Layer::SocialOrg)
        ]
    );
    // Without --layer, `d` has no layer: refused, named with its folder path (none here).
    let msg = refusal(
        &kml(body),
        &opts(&["社区=unit", "驿站=service_station"], None),
    );
    assert_eq!(
        msg,
        "feature 3 (code d), placemark \"d\", has no layer: no --folder-layer FOLDER=LAYER rule \
         names a folder it is in, it has no ExtendedData field `layer`, and no --layer was given; \
         nothing was imported"
    );
}

#[test]
fn a_placemark_without_a_layer_is_named_with_its_folder_path() {
    // Without the 商户 rule the shop is placed by its `layer` field; without that too, it is
    // refused.
    let drafts = read_kml(OVITAL.as_bytes(), &opts(&["党建网格=party_grid"], None)).unwrap();
    assert_eq!(find(&drafts, "S-001").layer, Layer::Unit);
    let text = OVITAL.replace(r#"<Data name="layer"><value>unit</value></Data>"#, "");
    let msg = refusal(&text, &opts(&["党建网格=party_grid"], None));
    assert_eq!(
        msg,
        "feature 2 (code S-001), placemark \"老王面馆\" in 朝阳街道.kml > 朝阳街道 > 和平社区 > 商户 > 餐饮, \
         has no layer: no --folder-layer FOLDER=LAYER rule names a folder it is in, it has no \
         ExtendedData field `layer`, and no --layer was given; nothing was imported"
    );
}

#[test]
fn a_placemark_without_a_code_is_refused_not_given_one() {
    let text = OVITAL.replace(
        r#"<Data name="code"><displayName>编码</displayName><value>110105001001</value></Data>"#,
        "",
    );
    let msg = refusal(&text, &opts(&OVITAL_RULES, None));
    assert_eq!(
        msg,
        "feature 0 (party_grid, no code), placemark \"第一网格 <A&B>\" in 朝阳街道.kml > 朝阳街道 > \
         和平社区 > 党建网格, has no code: it has no ExtendedData field \"code\" (name the field \
         that holds it with --field code=FIELD); nothing was imported"
    );
}

#[test]
fn fields_map_with_the_field_option() {
    let text = OVITAL
        .replace(r#"<Data name="code">"#, r#"<Data name="编号">"#)
        .replace(r#"<SimpleData name="code">"#, r#"<SimpleData name="编号">"#)
        .replace(r#"<Data name="households">"#, r#"<Data name="户数">"#);
    let mut o = opts(&OVITAL_RULES, None);
    o.fields = vec![
        "code=编号".parse().unwrap(),
        "households=户数".parse().unwrap(),
    ];
    let drafts = read_kml(text.as_bytes(), &o).unwrap();
    let first = find(&drafts, "110105001001");
    assert_eq!(first.properties.get("households"), Some(&json!(120)));
    assert_eq!(find(&drafts, "0110105001002").layer, Layer::PartyGrid);
    // A mapped field that a placemark lacks is named in the refusal.
    let text = text.replace(r#"<Data name="编号"><value>S-001</value></Data>"#, "");
    let msg = refusal(&text, &o);
    assert!(
        msg.ends_with(
            "placemark \"老王面馆\" in 朝阳街道.kml > 朝阳街道 > 和平社区 > 商户 > 餐饮, has no code: \
             it has no ExtendedData field \"编号\" (from --field code=编号); nothing was imported"
        ),
        "{msg}"
    );
}

#[test]
fn holes_in_either_orientation() {
    // Outer ring clockwise and hole counter-clockwise (against RFC 7946), then the reverse:
    // both read as written (import rewinds them later), the hole kept as an interior ring.
    let outer = "0,0 0,10 10,10 10,0 0,0";
    let hole = "2,2 4,2 4,4 2,4 2,2";
    let rev = |s: &str| s.split(' ').rev().collect::<Vec<_>>().join(" ");
    for (o, h) in [
        (outer.to_string(), hole.to_string()),
        (rev(outer), rev(hole)),
    ] {
        let body = format!(
            r#"<Placemark><name>p</name><ExtendedData><Data name="code"><value>g1</value></Data></ExtendedData>
              <Polygon><outerBoundaryIs><LinearRing><coordinates>{o}</coordinates></LinearRing></outerBoundaryIs>
                <innerBoundaryIs><LinearRing><coordinates>{h}</coordinates></LinearRing></innerBoundaryIs>
              </Polygon></Placemark>"#
        );
        let drafts = read_kml(kml(&body).as_bytes(), &opts(&[], Some(Layer::PartyGrid))).unwrap();
        let Geometry::Polygon(p) = &drafts[0].geometry else {
            panic!("{:?}", drafts[0].geometry)
        };
        let pairs = |l: &LineString<f64>| l.0.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>();
        let expect = |s: &str| {
            s.split(' ')
                .map(|t| {
                    let (x, y) = t.split_once(',').unwrap();
                    (x.parse::<f64>().unwrap(), y.parse::<f64>().unwrap())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(pairs(p.exterior()), expect(&o));
        assert_eq!(p.interiors().len(), 1);
        assert_eq!(pairs(&p.interiors()[0]), expect(&h));
    }
}

#[test]
fn two_inner_rings_in_one_boundary_are_two_holes() {
    let body = r#"<Placemark><name>p</name><ExtendedData><Data name="code"><value>g1</value></Data></ExtendedData>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 10,0 10,10 0,10 0,0</coordinates></LinearRing></outerBoundaryIs>
        <innerBoundaryIs><LinearRing><coordinates>1,1 1,2 2,2 2,1 1,1</coordinates></LinearRing>
          <LinearRing><coordinates>5,5 5,6 6,6 6,5 5,5</coordinates></LinearRing></innerBoundaryIs>
      </Polygon></Placemark>"#;
    let drafts = read_kml(kml(body).as_bytes(), &opts(&[], Some(Layer::PartyGrid))).unwrap();
    let Geometry::Polygon(p) = &drafts[0].geometry else {
        panic!()
    };
    assert_eq!(p.interiors().len(), 2);
}

#[test]
fn line_strings_and_mixed_multigeometries_are_refused_by_the_layer() {
    let body = r#"
      <Placemark><name>路</name><ExtendedData><Data name="code"><value>r1</value></Data></ExtendedData>
        <LineString><coordinates>0,0 1,1</coordinates></LineString></Placemark>
      <Placemark><name>混合</name><ExtendedData><Data name="code"><value>m1</value></Data></ExtendedData>
        <MultiGeometry>
          <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon>
          <LineString><coordinates>0,0 1,1</coordinates></LineString>
        </MultiGeometry></Placemark>
      <Placemark><name>点群</name><ExtendedData><Data name="code"><value>p2</value></Data></ExtendedData>
        <MultiGeometry><Point><coordinates>0,0</coordinates></Point><Point><coordinates>1,1</coordinates></Point></MultiGeometry></Placemark>
      <Placemark><name>一点</name><ExtendedData><Data name="code"><value>p1</value></Data></ExtendedData>
        <MultiGeometry><Point><coordinates>3,4</coordinates></Point></MultiGeometry></Placemark>"#;
    let errs = errors(&kml(body), &opts(&[], Some(Layer::Compound)));
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        [
            "feature 0 (compound/r1), placemark \"路\", has a LineString geometry, but layer compound takes Polygon, MultiPolygon or Point",
            "feature 1 (compound/m1), placemark \"混合\", has a MultiGeometry of Polygon and LineString geometry, but layer compound takes Polygon, MultiPolygon or Point",
            "feature 2 (compound/p2), placemark \"点群\", has a MultiGeometry of Point geometry, but layer compound takes Polygon, MultiPolygon or Point",
        ]
    );
    // A MultiGeometry of a single point is that point.
    let one = body.split("<Placemark>").last().unwrap();
    let drafts = read_kml(
        kml(&format!("<Placemark>{one}")).as_bytes(),
        &opts(&[], Some(Layer::Compound)),
    )
    .unwrap();
    assert_eq!(drafts[0].geometry, Geometry::Point(Point::new(3., 4.)));
}

#[test]
fn bad_coordinates_are_refused_naming_the_placemark() {
    let body = r#"<Folder><name>网格</name>
      <Placemark><name>好</name><ExtendedData><Data name="code"><value>g1</value></Data></ExtendedData>
        <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
      <Placemark><name>坏</name><ExtendedData><Data name="code"><value>g2</value></Data></ExtendedData>
        <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1;1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
      <Placemark><name>洞</name><ExtendedData><Data name="code"><value>g3</value></Data></ExtendedData>
        <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 9,0 9,9 0,0</coordinates></LinearRing></outerBoundaryIs>
          <innerBoundaryIs><LinearRing><coordinates>1,1 2,1 x,2 1,1</coordinates></LinearRing></innerBoundaryIs></Polygon></Placemark>
      <Placemark><name>点</name><ExtendedData><Data name="code"><value>g4</value></Data></ExtendedData>
        <Point><coordinates>116.4</coordinates></Point></Placemark>
    </Folder>"#;
    let msgs: Vec<String> = errors(&kml(body), &opts(&["网格=compound"], None))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        msgs,
        [
            "feature 1 (compound/g2), placemark \"坏\" in 网格, has a malformed geometry: outer ring, position 2: \"1;1\" is not longitude,latitude[,altitude]",
            "feature 2 (compound/g3), placemark \"洞\" in 网格, has a malformed geometry: inner ring 0, position 2: \"x,2\" is not longitude,latitude[,altitude]",
            "feature 3 (compound/g4), placemark \"点\" in 网格, has a malformed geometry: the point, position 0: \"116.4\" is not longitude,latitude[,altitude]",
        ]
    );
    // Out of range and NaN go through the shared checks, still named.
    let body = r#"<Placemark><name>远</name><ExtendedData><Data name="code"><value>g5</value></Data></ExtendedData>
        <Point><coordinates>39.9,116.4</coordinates></Point></Placemark>"#;
    let msg = refusal(&kml(body), &opts(&[], Some(Layer::Shop)));
    assert!(
        msg.starts_with("feature 0 (shop/g5), placemark \"远\", has an invalid geometry: "),
        "{msg}"
    );
    assert!(msg.contains("latitude 116.4 is outside -90..90"), "{msg}");
}

#[test]
fn unclosed_rings_are_refused_as_geojson_refuses_them() {
    let kml_body = r#"<Placemark><name>开</name><ExtendedData><Data name="code"><value>g1</value></Data></ExtendedData>
        <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,1</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"#;
    let geojson = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"code":"g1","name":"开"},
        "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}]}"#;
    let from_kml = errors(&kml(kml_body), &opts(&[], Some(Layer::PartyGrid)));
    let from_geojson = match read_geojson(geojson.as_bytes(), Some(Layer::PartyGrid)) {
        Err(ImportError::Features { errors, .. }) => errors,
        other => panic!("{other:?}"),
    };
    assert_eq!(from_kml.len(), 1);
    assert_eq!(from_kml[0].fault, from_geojson[0].fault);
    assert!(
        from_kml[0].fault.to_string().contains("is not closed"),
        "{}",
        from_kml[0].fault
    );
}

#[test]
fn counts_and_schema_types() {
    let body = r##"<Schema id="s"><SimpleField name="ok" type="bool"/><SimpleField name="n" type="int"/></Schema>
      <Placemark><name>a</name><ExtendedData>
        <Data name="code"><value>1</value></Data><Data name="residents"><value>12.0</value></Data>
        <Data name="phone"><value>010123</value></Data>
        <SchemaData schemaUrl="#s"><SimpleData name="ok">1</SimpleData><SimpleData name="n">x7</SimpleData></SchemaData>
      </ExtendedData><Point><coordinates>116.4,39.9</coordinates></Point></Placemark>
      <Placemark><name>b</name><ExtendedData>
        <Data name="code"><value>2</value></Data><Data name="households"><value>很多</value></Data>
      </ExtendedData><Point><coordinates>116.4,39.9</coordinates></Point></Placemark>"##;
    let msg = refusal(&kml(body), &opts(&[], Some(Layer::Shop)));
    assert_eq!(
        msg,
        "feature 1 (shop/2), placemark \"b\", has households text \"很多\", which is not a whole number from 0 to 10000000; nothing was imported"
    );
    let first = body.split("<Placemark><name>b").next().unwrap();
    let drafts = read_kml(kml(first).as_bytes(), &opts(&[], Some(Layer::Shop))).unwrap();
    // Untyped text stays text (a phone number keeps its zero); a typed value that is not of
    // its type stays text too.
    assert_eq!(
        Value::from(drafts[0].properties.clone()),
        json!({"residents": 12, "phone": "010123", "ok": true, "n": "x7"})
    );
}

#[test]
fn two_geometries_in_one_placemark_are_refused() {
    let body = r#"<Placemark><name>双</name><ExtendedData><Data name="code"><value>a</value></Data></ExtendedData>
      <Point><coordinates>1,1</coordinates></Point><Point><coordinates>2,2</coordinates></Point></Placemark>"#;
    let msg = refusal(&kml(body), &opts(&[], Some(Layer::Shop)));
    assert!(
        msg.contains(
            "placemark \"双\", has a malformed geometry: the placemark has more than one geometry"
        ),
        "{msg}"
    );
}

#[test]
fn folder_layer_rules_parse() {
    let r: FolderLayer = " 党建网格 = party_grid ".parse().unwrap();
    assert_eq!(
        r,
        FolderLayer {
            folder: "党建网格".into(),
            layer: Layer::PartyGrid
        }
    );
    assert_eq!(r.to_string(), "党建网格=party_grid");
    // The last `=` splits, so a folder name may hold one.
    let r: FolderLayer = "a=b=shop".parse().unwrap();
    assert_eq!((r.folder.as_str(), r.layer), ("a=b", Layer::Shop));
    for bad in ["党建网格", "=shop", "党建网格=grid", ""] {
        assert!(bad.parse::<FolderLayer>().is_err(), "{bad}");
    }
    let twice = opts(&["a=shop", "a=unit"], None);
    assert_eq!(
        read_kml(kml("").as_bytes(), &twice)
            .unwrap_err()
            .to_string(),
        "--folder-layer a is given more than once"
    );
}

#[test]
fn encodings_doctypes_and_depth_are_bounded() {
    let gbk = OVITAL.replace("encoding=\"UTF-8\"", "encoding=\"GBK\"");
    let msg = refusal(&gbk, &opts(&OVITAL_RULES, None));
    assert!(
        msg.starts_with("the file declares encoding \"GBK\"; KML is UTF-8"),
        "{msg}"
    );

    // 中 in GBK, after 21 characters on the second line.
    let bytes = b"<?xml version=\"1.0\"?>\n<kml><Document><name>\xD6\xD0</name></Document></kml>";
    let msg = read_kml(bytes, &opts(&[], None)).unwrap_err().to_string();
    assert_eq!(
        msg,
        "the file is not UTF-8 (KML is UTF-8): bytes that are not UTF-8 at line 2, column 22"
    );

    let utf16 = b"\xFF\xFE<\0k\0m\0l\0";
    assert!(
        read_kml(utf16, &opts(&[], None))
            .unwrap_err()
            .to_string()
            .contains("UTF-16")
    );

    // A BOM is fine.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(OVITAL.as_bytes());
    assert_eq!(read_kml(&bom, &opts(&OVITAL_RULES, None)).unwrap().len(), 3);

    // No DTD is read, so no external (or billion-laughs) entity can be.
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<kml><Document><Placemark><name>&x;</name></Placemark></Document></kml>"#;
    let msg = refusal(xxe, &opts(&[], None));
    assert!(msg.contains("<!DOCTYPE>"), "{msg}");
    assert!(msg.starts_with("not a readable KML file: line 2"), "{msg}");
    let undeclared = kml("<Placemark><name>&x;</name></Placemark>");
    assert!(refusal(&undeclared, &opts(&[], None)).contains("unknown entity &x;"));

    let deep = kml(&format!(
        "{}{}",
        "<Folder>".repeat(MAX_DEPTH),
        "</Folder>".repeat(MAX_DEPTH)
    ));
    let msg = refusal(&deep, &opts(&[], None));
    assert!(
        msg.contains("<Folder> is nested more than 64 elements deep"),
        "{msg}"
    );
    // Just inside the bound is fine (kml and Document are two levels).
    let ok = kml(&format!(
        "{}{}",
        "<Folder>".repeat(MAX_DEPTH - 2),
        "</Folder>".repeat(MAX_DEPTH - 2)
    ));
    assert!(
        read_kml(ok.as_bytes(), &opts(&[], None))
            .unwrap()
            .is_empty()
    );

    assert!(refusal("<gpx></gpx>", &opts(&[], None)).contains("the root element is <gpx>"));
    assert!(
        refusal(&kml("<Folder>"), &opts(&[], None)).starts_with("not a readable KML file: line")
    );
}

/// A zip with these entries, deflated.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn kmz_reads_doc_kml_or_the_first_kml() {
    let icon: &[u8] = b"\x89PNG not really";
    let other = kml("<Placemark><name>x</name></Placemark>");
    let kmz = zip(&[
        ("files/icon.png", icon),
        ("other.kml", other.as_bytes()),
        ("doc.kml", OVITAL.as_bytes()),
    ]);
    let drafts = read_kmz(&kmz, &opts(&OVITAL_RULES, None)).unwrap();
    assert_eq!(drafts.len(), 3);
    assert_eq!(drafts[0].name, "第一网格 <A&B>");

    let kmz = zip(&[("files/icon.png", icon), ("网格.KML", OVITAL.as_bytes())]);
    assert_eq!(read_kmz(&kmz, &opts(&OVITAL_RULES, None)).unwrap().len(), 3);

    let kmz = zip(&[("files/icon.png", icon)]);
    assert_eq!(
        read_kmz(&kmz, &opts(&[], None)).unwrap_err().to_string(),
        "KMZ: the archive holds no .kml file (it should hold doc.kml)"
    );
    let msg = read_kmz(OVITAL.as_bytes(), &opts(&[], None))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("KMZ: not a readable zip archive"), "{msg}");
}

#[test]
fn a_zip_bomb_is_refused_at_the_limit() {
    // 4 MiB of one byte deflates to a few KiB.
    let inflated = vec![b' '; 4 << 20];
    let kmz = zip(&[("doc.kml", &inflated)]);
    assert!(kmz.len() < 64 << 10, "{}", kmz.len());
    let msg = kmz::doc_kml(&kmz, 1 << 20).unwrap_err().to_string();
    assert_eq!(
        msg,
        "KMZ: doc.kml inflates to more than 1048576 bytes; gridmap refuses it (a zip bomb, or a file to split)"
    );
    assert_eq!(kmz::doc_kml(&kmz, 4 << 20).unwrap().len(), 4 << 20);

    // An archive that declares a small size but inflates to more is cut off at the limit all
    // the same: patch the declared size (local header and central directory) to 10 bytes.
    let mut lying = kmz.clone();
    let real = (4u32 << 20).to_le_bytes();
    let mut patched = 0;
    for i in 0..lying.len().saturating_sub(4) {
        if lying[i..i + 4] == real {
            lying[i..i + 4].copy_from_slice(&10u32.to_le_bytes());
            patched += 1;
        }
    }
    assert!(patched >= 2, "{patched}");
    match kmz::doc_kml(&lying, 1 << 20) {
        Ok(bytes) => assert!(bytes.len() <= 1 << 20, "{}", bytes.len()),
        Err(e) => assert!(e.to_string().starts_with("KMZ: "), "{e}"),
    }
}
