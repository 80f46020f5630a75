//! KML text to a plain [`Document`]: the containers (`<Document>`, `<Folder>`) with their names
//! and parents, the `<Schema>` field types, and every `<Placemark>` with its name, ExtendedData
//! and raw geometry.
//!
//! A pull parser over quick-xml events, bounded: the text must be UTF-8 (and any declared
//! encoding UTF-8), a `<!DOCTYPE>` refuses the file (so no external or custom entity is ever
//! resolved; only the five XML entities and character references are), and elements nested
//! deeper than [`MAX_DEPTH`] refuse it too, so that recursion stays shallow. Anything gridmap
//! does not read (styles, `<description>`, `<Snippet>`, `<LookAt>`, `<TimeStamp>`, `gx:` and
//! other foreign elements, overlays, network links) is skipped whatever it holds.
//!
//! XML faults refuse the file ([`ImportError::Document`], with line and column); faults inside
//! one placemark (a bad coordinate, two geometries) are that placemark's [`FeatureFault`], so
//! that the import can list them all.

use std::collections::HashMap;

use geo::Coord;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::super::draft::RawGeometry;
use super::super::{FeatureFault, ImportError};
use crate::spatial::validate::GeometryFault;

/// Elements nested deeper than this refuse the file. Real files are a few folders deep; the
/// deepest path gridmap reads (folder, placemark, MultiGeometry, Polygon, boundary, ring,
/// coordinates) adds seven levels.
pub const MAX_DEPTH: usize = 64;

/// What gridmap reads from one KML file.
#[derive(Debug, Default)]
pub struct Document {
    /// Every `<Document>` and `<Folder>`, in document order.
    pub containers: Vec<Container>,
    /// `<Schema>` id (and name) → field name → declared type (`int`, `double`, `string`, …).
    pub schemas: HashMap<String, HashMap<String, String>>,
    /// Every `<Placemark>`, in document order: its index here is its feature index.
    pub placemarks: Vec<Placemark>,
}

/// A `<Document>` or `<Folder>`.
#[derive(Debug, Default)]
pub struct Container {
    pub name: Option<String>,
    /// The enclosing container (an index into [`Document::containers`]).
    pub parent: Option<usize>,
}

/// One `<Placemark>` as written.
#[derive(Debug)]
pub struct Placemark {
    /// The `<name>`, trimmed; `None` when absent or empty.
    pub name: Option<String>,
    /// The innermost enclosing container.
    pub container: Option<usize>,
    /// ExtendedData fields in document order, both forms.
    pub data: Vec<Data>,
    /// `Ok(None)` without a geometry; `Err` for a geometry (or data) that cannot be read.
    pub geometry: Result<Option<RawGeometry>, FeatureFault>,
}

/// One ExtendedData field: `<Data name><value>` or `<SimpleData name>` (with its `<SchemaData
/// schemaUrl>`'s schema id).
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub name: String,
    pub value: String,
    pub schema: Option<String>,
}

/// Parse KML text.
pub fn parse(bytes: &[u8]) -> Result<Document, ImportError> {
    let text = utf8(bytes)?;
    let mut p = Parser {
        reader: Reader::from_str(text),
        text,
        depth: 0,
        doc: Document::default(),
    };
    loop {
        match p.next()? {
            Event::Start(e) => {
                let name = local(&e);
                if name != "kml" {
                    return Err(ImportError::Document(format!(
                        "not a KML file: the root element is <{name}>, not <kml>"
                    )));
                }
                p.children(None)?;
                break;
            }
            Event::Empty(e) if local(&e) == "kml" => break,
            Event::Empty(e) => {
                return Err(ImportError::Document(format!(
                    "not a KML file: the root element is <{}>, not <kml>",
                    local(&e)
                )));
            }
            Event::Eof => {
                return Err(ImportError::Document(
                    "not a KML file: there is no <kml> element".into(),
                ));
            }
            _ => {}
        }
    }
    // After the root: only comments, processing instructions and white space.
    loop {
        match p.next()? {
            Event::Eof => return Ok(p.doc),
            Event::Start(e) | Event::Empty(e) => {
                return Err(p.error(format!(
                    "an element <{}> after the <kml> element",
                    local(&e)
                )));
            }
            _ => {}
        }
    }
}

/// The text, refusing UTF-16 and bytes that are not UTF-8 (KML is UTF-8 by definition).
fn utf8(bytes: &[u8]) -> Result<&str, ImportError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ImportError::Document(
            "the file is UTF-16; KML is UTF-8: save it as UTF-8".into(),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(&bytes[..e.valid_up_to()]);
        ImportError::Document(format!(
            "the file is not UTF-8 (KML is UTF-8): bytes that are not UTF-8 at line {line}, column {column}"
        ))
    })
}

/// 1-based line and column (in characters) of the end of `before`.
fn line_column(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let last = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[last..]).chars().count() + 1;
    (line, column)
}

/// An element's local name (without its namespace prefix: `gx:Track` is `Track`).
fn local(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    text: &'a str,
    /// How many elements are open.
    depth: usize,
    doc: Document,
}

/// A raw geometry or the fault that keeps it from being read.
type Content<T> = Result<T, FeatureFault>;

/// A geometry element as read, before MultiGeometry is resolved.
enum Shape {
    Point(Coord<f64>),
    Polygon(Vec<Vec<Coord<f64>>>),
    Multi(Vec<Shape>),
    /// LineString, LinearRing, gx:Track, Model, …: kept by name only.
    Other(String),
}

impl<'a> Parser<'a> {
    /// The next event, keeping the depth and refusing what the file may not hold.
    fn next(&mut self) -> Result<Event<'a>, ImportError> {
        let event = match self.reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = self.reader.error_position();
                return Err(self.error_at(at, e));
            }
        };
        match &event {
            Event::Start(e) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    let name = local(e);
                    return Err(self.error(format!(
                        "<{name}> is nested more than {MAX_DEPTH} elements deep"
                    )));
                }
            }
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            Event::DocType(_) => {
                return Err(self.error(
                    "the file has a <!DOCTYPE>; KML has none, and gridmap reads no DTD or entity it could declare",
                ));
            }
            Event::Decl(d) => {
                if let Some(encoding) = d.encoding() {
                    let encoding = encoding.map_err(|e| self.error(e.to_string()))?;
                    let label = encoding.trim().to_ascii_lowercase();
                    if label != "utf-8" && label != "utf8" {
                        return Err(ImportError::Document(format!(
                            "the file declares encoding {encoding:?}; KML is UTF-8: convert it (for example `iconv -f {encoding} -t UTF-8`) and change the declaration"
                        )));
                    }
                }
            }
            Event::Eof if self.depth > 0 => {
                return Err(self.error("the file ends inside an element"));
            }
            _ => {}
        }
        Ok(event)
    }

    /// A file-level error at the reader's position.
    fn error(&self, message: impl std::fmt::Display) -> ImportError {
        self.error_at(self.reader.buffer_position(), message)
    }

    /// A file-level error at byte `at`.
    fn error_at(&self, at: u64, message: impl std::fmt::Display) -> ImportError {
        let pos = usize::try_from(at)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        let (line, column) = line_column(&self.text.as_bytes()[..pos]);
        ImportError::Document(format!(
            "not a readable KML file: line {line}, column {column}: {message}"
        ))
    }

    /// Skip the rest of the element whose start was just read.
    fn skip(&mut self) -> Result<(), ImportError> {
        let depth = self.depth;
        loop {
            if let Event::End(_) = self.next()?
                && self.depth < depth
            {
                return Ok(());
            }
        }
    }

    /// The text of the element whose start was just read (CDATA and entities included; any
    /// child element skipped), trimmed.
    fn text(&mut self) -> Result<String, ImportError> {
        let depth = self.depth;
        let mut out = String::new();
        loop {
            match self.next()? {
                Event::Text(t) if self.depth == depth => out.push_str(&t.xml10_content()),
                Event::CData(t) if self.depth == depth => out.push_str(&t.xml10_content()),
                Event::GeneralRef(r) if self.depth == depth => {
                    let r = r.into_owned();
                    out.push_str(&self.entity(&r)?);
                }
                Event::Start(_) => self.skip()?,
                Event::End(_) => return Ok(out.trim().to_string()),
                _ => {}
            }
        }
    }

    fn entity(&self, r: &BytesRef<'_>) -> Result<String, ImportError> {
        match r.resolve_char_ref() {
            Ok(Some(c)) => return Ok(c.to_string()),
            Ok(None) => {}
            Err(e) => return Err(self.error(e.to_string())),
        }
        let name = r.xml10_content();
        quick_xml::escape::resolve_xml_entity(&name)
            .map(str::to_string)
            .ok_or_else(|| {
                self.error(format!(
                    "unknown entity &{name}; (only &lt; &gt; &amp; &apos; &quot; and character references are read)"
                ))
            })
    }

    /// An attribute's value, by local name.
    fn attr(&self, e: &BytesStart<'_>, key: &str) -> Result<Option<String>, ImportError> {
        for a in e.attributes() {
            let a = a.map_err(|err| self.error(err.to_string()))?;
            if a.key.local_name().as_ref() == key {
                let value = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|err| self.error(err.to_string()))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    /// The children of `<kml>`, `<Document>` or `<Folder>` (`container`), up to its end.
    fn children(&mut self, container: Option<usize>) -> Result<(), ImportError> {
        loop {
            let (start, empty) = match self.next()? {
                Event::Start(e) => (e.into_owned(), false),
                Event::Empty(e) => (e.into_owned(), true),
                Event::End(_) => return Ok(()),
                _ => continue,
            };
            match (local(&start).as_str(), empty) {
                ("Document" | "Folder", _) => {
                    let id = self.doc.containers.len();
                    self.doc.containers.push(Container {
                        name: None,
                        parent: container,
                    });
                    if !empty {
                        self.children(Some(id))?;
                    }
                }
                ("name", false) => {
                    let name = self.text()?;
                    if let Some(c) = container.and_then(|c| self.doc.containers.get_mut(c)) {
                        c.name = Some(name).filter(|n| !n.is_empty());
                    }
                }
                ("Placemark", _) => {
                    let placemark = if empty {
                        Placemark {
                            name: None,
                            container,
                            data: Vec::new(),
                            geometry: Ok(None),
                        }
                    } else {
                        self.placemark(container)?
                    };
                    self.doc.placemarks.push(placemark);
                }
                ("Schema", _) => self.schema(&start, empty)?,
                (_, false) => self.skip()?,
                (_, true) => {}
            }
        }
    }

    /// `<Schema id name>` with its `<SimpleField name type>`s.
    fn schema(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<(), ImportError> {
        let keys = [self.attr(start, "id")?, self.attr(start, "name")?];
        let mut fields = HashMap::new();
        if !empty {
            loop {
                let (field, empty) = match self.next()? {
                    Event::Start(e) => (e.into_owned(), false),
                    Event::Empty(e) => (e.into_owned(), true),
                    Event::End(_) => break,
                    _ => continue,
                };
                if local(&field) == "SimpleField"
                    && let (Some(name), Some(kind)) =
                        (self.attr(&field, "name")?, self.attr(&field, "type")?)
                {
                    fields.insert(name, kind.trim().to_ascii_lowercase());
                }
                if !empty {
                    self.skip()?;
                }
            }
        }
        // A SchemaData names its schema by id; old writers used the name.
        for key in keys.into_iter().flatten() {
            self.doc
                .schemas
                .entry(key)
                .or_insert_with(|| fields.clone());
        }
        Ok(())
    }

    fn placemark(&mut self, container: Option<usize>) -> Result<Placemark, ImportError> {
        let mut name = None;
        let mut data = Vec::new();
        let mut geometry: Content<Option<RawGeometry>> = Ok(None);
        let mut fault = None;
        loop {
            let (start, empty) = match self.next()? {
                Event::Start(e) => (e.into_owned(), false),
                Event::Empty(e) => (e.into_owned(), true),
                Event::End(_) => break,
                _ => continue,
            };
            let tag = local(&start);
            match tag.as_str() {
                "name" if !empty => name = Some(self.text()?).filter(|n| !n.is_empty()),
                "ExtendedData" if !empty => {
                    if let Err(f) = self.extended_data(&mut data)? {
                        fault.get_or_insert(f);
                    }
                }
                "Point" | "Polygon" | "MultiGeometry" | "LineString" | "LinearRing" | "Track"
                | "MultiTrack" | "Model" => {
                    let shape = if empty {
                        Err(GeometryFault::Empty.into())
                    } else {
                        self.shape(&tag, "")?
                    };
                    geometry = match geometry {
                        Ok(None) => shape.map(|s| Some(raw(s))),
                        Ok(Some(_)) => Err(FeatureFault::MalformedGeometry(
                            "the placemark has more than one geometry (put them in one <MultiGeometry>)"
                                .into(),
                        )),
                        Err(f) => Err(f),
                    };
                }
                _ if !empty => self.skip()?,
                _ => {}
            }
        }
        Ok(Placemark {
            name,
            container,
            data,
            geometry: match fault {
                Some(f) => Err(f),
                None => geometry,
            },
        })
    }

    /// ExtendedData's `<Data>` and `<SchemaData>` fields, appended to `data`; other children
    /// (custom namespaced elements) are skipped.
    fn extended_data(&mut self, data: &mut Vec<Data>) -> Result<Content<()>, ImportError> {
        let mut result = Ok(());
        loop {
            let (start, empty) = match self.next()? {
                Event::Start(e) => (e.into_owned(), false),
                Event::Empty(e) => (e.into_owned(), true),
                Event::End(_) => return Ok(result),
                _ => continue,
            };
            match (local(&start).as_str(), empty) {
                ("Data", _) => {
                    let name = self.attr(&start, "name")?;
                    let mut value = String::new();
                    if !empty {
                        value = self.child_text("value")?;
                    }
                    match name {
                        Some(name) => data.push(Data {
                            name,
                            value,
                            schema: None,
                        }),
                        None => {
                            result = Err(FeatureFault::Rule(
                                "an ExtendedData <Data> without a name attribute".into(),
                            ));
                        }
                    }
                }
                ("SchemaData", false) => {
                    let schema = self
                        .attr(&start, "schemaUrl")?
                        .map(|url| url.rsplit('#').next().unwrap_or_default().to_string());
                    self.schema_data(schema, data, &mut result)?;
                }
                (_, false) => self.skip()?,
                (_, true) => {}
            }
        }
    }

    /// The text of the child `tag` of the element just started (other children skipped).
    fn child_text(&mut self, tag: &str) -> Result<String, ImportError> {
        let mut out = String::new();
        loop {
            match self.next()? {
                Event::Start(e) => {
                    if local(&e) == tag {
                        out = self.text()?;
                    } else {
                        self.skip()?;
                    }
                }
                Event::End(_) => return Ok(out),
                _ => {}
            }
        }
    }

    fn schema_data(
        &mut self,
        schema: Option<String>,
        data: &mut Vec<Data>,
        result: &mut Content<()>,
    ) -> Result<(), ImportError> {
        loop {
            let (start, empty) = match self.next()? {
                Event::Start(e) => (e.into_owned(), false),
                Event::Empty(e) => (e.into_owned(), true),
                Event::End(_) => return Ok(()),
                _ => continue,
            };
            if local(&start) != "SimpleData" {
                if !empty {
                    self.skip()?;
                }
                continue;
            }
            let name = self.attr(&start, "name")?;
            let value = if empty { String::new() } else { self.text()? };
            match name {
                Some(name) => data.push(Data {
                    name,
                    value,
                    schema: schema.clone(),
                }),
                None => {
                    *result = Err(FeatureFault::Rule(
                        "an ExtendedData <SimpleData> without a name attribute".into(),
                    ));
                }
            }
        }
    }

    /// A geometry element whose start (`tag`) was just read; `at` names it in messages
    /// (`"polygon 2, "` inside a MultiGeometry).
    fn shape(&mut self, tag: &str, at: &str) -> Result<Content<Shape>, ImportError> {
        match tag {
            "Point" => {
                let coords = self.coordinates_of(&format!("{at}the point, "))?;
                Ok(coords.and_then(|c| match c.as_slice() {
                    [] => Err(GeometryFault::Empty.into()),
                    [one] => Ok(Shape::Point(*one)),
                    more => Err(FeatureFault::MalformedGeometry(format!(
                        "{at}the Point has {} positions, not one",
                        more.len()
                    ))),
                }))
            }
            "Polygon" => Ok(self.polygon(at)?.map(Shape::Polygon)),
            "MultiGeometry" => {
                let mut parts = Vec::new();
                let mut fault = None;
                loop {
                    let (start, empty) = match self.next()? {
                        Event::Start(e) => (e.into_owned(), false),
                        Event::Empty(e) => (e.into_owned(), true),
                        Event::End(_) => break,
                        _ => continue,
                    };
                    let tag = local(&start);
                    let is_geometry = matches!(
                        tag.as_str(),
                        "Point"
                            | "Polygon"
                            | "MultiGeometry"
                            | "LineString"
                            | "LinearRing"
                            | "Track"
                            | "MultiTrack"
                            | "Model"
                    );
                    if !is_geometry || empty {
                        if !empty {
                            self.skip()?;
                        }
                        continue;
                    }
                    let at = format!("{at}{} {}, ", tag.to_ascii_lowercase(), parts.len());
                    match self.shape(&tag, &at)? {
                        Ok(s) => parts.push(s),
                        Err(f) => {
                            fault.get_or_insert(f);
                            parts.push(Shape::Other(tag));
                        }
                    }
                }
                Ok(match fault {
                    Some(f) => Err(f),
                    None => Ok(Shape::Multi(parts)),
                })
            }
            other => {
                self.skip()?;
                Ok(Ok(Shape::Other(other.to_string())))
            }
        }
    }

    /// `<Polygon>`: the outer ring, then the inner rings, as written.
    fn polygon(&mut self, at: &str) -> Result<Content<Vec<Vec<Coord<f64>>>>, ImportError> {
        let mut outer: Option<Vec<Coord<f64>>> = None;
        let mut inner = Vec::new();
        let mut fault = None;
        let mut outers = 0;
        loop {
            let start = match self.next()? {
                Event::Start(e) => e.into_owned(),
                Event::End(_) => break,
                _ => continue,
            };
            let boundary = local(&start);
            if boundary != "outerBoundaryIs" && boundary != "innerBoundaryIs" {
                self.skip()?;
                continue;
            }
            // A boundary holds LinearRings (one for the outer, one or more for the inner).
            loop {
                let ring = match self.next()? {
                    Event::Start(e) => e.into_owned(),
                    Event::End(_) => break,
                    _ => continue,
                };
                if local(&ring) != "LinearRing" {
                    self.skip()?;
                    continue;
                }
                let what = if boundary == "outerBoundaryIs" {
                    format!("{at}outer ring, ")
                } else {
                    format!("{at}inner ring {}, ", inner.len())
                };
                let coords = match self.coordinates_of(&what)? {
                    Ok(c) => c,
                    Err(f) => {
                        fault.get_or_insert(f);
                        Vec::new()
                    }
                };
                if boundary == "outerBoundaryIs" {
                    outers += 1;
                    outer = Some(coords);
                } else {
                    inner.push(coords);
                }
            }
        }
        if let Some(f) = fault {
            return Ok(Err(f));
        }
        let Some(outer) = outer.filter(|_| outers == 1) else {
            return Ok(Err(FeatureFault::MalformedGeometry(format!(
                "{at}the Polygon has {outers} outer rings (outerBoundaryIs), not one"
            ))));
        };
        let mut rings = vec![outer];
        rings.extend(inner);
        Ok(Ok(rings))
    }

    /// The positions in the `<coordinates>` child of the element just started (Point,
    /// LinearRing); none when it has none.
    fn coordinates_of(&mut self, at: &str) -> Result<Content<Vec<Coord<f64>>>, ImportError> {
        let mut coords = Ok(Vec::new());
        loop {
            match self.next()? {
                Event::Start(e) => {
                    if local(&e) == "coordinates" {
                        let text = self.text()?;
                        coords = positions(&text, at);
                    } else {
                        self.skip()?;
                    }
                }
                Event::End(_) => return Ok(coords),
                _ => {}
            }
        }
    }
}

/// `lon,lat[,alt]` tuples separated by white space (altitudes dropped). White space next to a
/// comma is tolerated, as Google Earth does.
pub fn positions(text: &str, at: &str) -> Content<Vec<Coord<f64>>> {
    let mut joined = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            while joined.ends_with(char::is_whitespace) {
                joined.pop();
            }
            joined.push(',');
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            joined.push(c);
        }
    }
    joined
        .split_whitespace()
        .enumerate()
        .map(|(i, tuple)| {
            let numbers: Option<Vec<f64>> = tuple.split(',').map(|n| n.parse().ok()).collect();
            match numbers.as_deref() {
                Some([x, y] | [x, y, _]) => Ok(Coord { x: *x, y: *y }),
                _ => Err(FeatureFault::MalformedGeometry(format!(
                    "{at}position {i}: {tuple:?} is not longitude,latitude[,altitude]"
                ))),
            }
        })
        .collect()
}

/// A geometry element as a [`RawGeometry`]: a MultiGeometry of polygons is a MultiPolygon, of
/// one point a Point; any other MultiGeometry is kept by the kinds it holds, for the layer check
/// to refuse.
fn raw(shape: Shape) -> RawGeometry {
    match shape {
        Shape::Point(c) => RawGeometry::Point(c),
        Shape::Polygon(rings) => RawGeometry::Polygon(rings),
        Shape::Other(name) => RawGeometry::Other(name),
        Shape::Multi(parts) => {
            let mut flat = Vec::new();
            flatten(parts, &mut flat);
            if flat.iter().all(|s| matches!(s, Shape::Polygon(_))) {
                let polygons = flat
                    .into_iter()
                    .filter_map(|s| match s {
                        Shape::Polygon(rings) => Some(rings),
                        _ => None,
                    })
                    .collect();
                return RawGeometry::MultiPolygon(polygons);
            }
            if let [Shape::Point(c)] = flat.as_slice() {
                return RawGeometry::Point(*c);
            }
            let mut kinds: Vec<&str> = Vec::new();
            for s in &flat {
                let kind = match s {
                    Shape::Point(_) => "Point",
                    Shape::Polygon(_) => "Polygon",
                    Shape::Other(name) => name.as_str(),
                    Shape::Multi(_) => "MultiGeometry",
                };
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            RawGeometry::Other(format!("MultiGeometry of {}", kinds.join(" and ")))
        }
    }
}

fn flatten(parts: Vec<Shape>, out: &mut Vec<Shape>) {
    for p in parts {
        match p {
            Shape::Multi(inner) => flatten(inner, out),
            other => out.push(other),
        }
    }
}
