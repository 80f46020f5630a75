//! Tables written for people: Excel `.xlsx` (rust_xlsxwriter) and CSV that Chinese Excel opens
//! as written.
//!
//! A [`Sheet`] is columns and rows of typed [`Cell`]s. In `.xlsx` every sheet has its Chinese
//! headers in a bold, frozen first row with a filter, widths fitted to the text (a Chinese
//! character is two columns wide), codes written as text (so `419901001002` never becomes
//! `4.19901E+11` and Excel does not flag it as a number stored as text), counts as whole
//! numbers and measures with two decimals. A text cell in `.xlsx` is a string, never a formula,
//! whatever it starts with.
//!
//! CSV keeps the machine-readable column keys as its header (the API's field names, which
//! scripts read) and starts with a UTF-8 byte-order mark, without which Chinese Excel reads
//! UTF-8 as GBK and shows mojibake; or, for a client that asks with `Accept-Charset: gbk`, is
//! GBK itself (a character GBK lacks is written as an HTML numeric reference, `&#…;`). Text cells
//! pass through [`crate::io::csv::safe_cell`]. Codes in CSV stay plain: Excel shows long ones as
//! numbers, which is why the `.xlsx` exists.

use rust_xlsxwriter::{Color, Format, FormatAlign, IgnoreError, Workbook, XlsxError};

/// The media type of an `.xlsx` workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One cell's value and how it is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    /// Free text.
    Text(String),
    /// An identifier: text, even when it is all digits.
    Code(String),
    /// A count.
    Int(i64),
    /// A measure, shown with two decimals.
    Num(f64),
}

impl Cell {
    /// Text, or [`Cell::Empty`] for none.
    pub fn text(s: Option<&str>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
    }

    fn csv_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) | Cell::Code(s) => crate::io::csv::safe_cell(s.clone()),
            Cell::Int(i) => i.to_string(),
            Cell::Num(f) => format!("{f:.2}"),
        }
    }

    /// Display width in Excel's units (a CJK character counts twice).
    fn width(&self) -> usize {
        match self {
            Cell::Empty => 0,
            Cell::Text(s) | Cell::Code(s) => display_width(s),
            Cell::Int(i) => i.to_string().len(),
            Cell::Num(f) => format!("{f:.2}").len(),
        }
    }
}

fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// A column: its machine key (the CSV header) and its Chinese title (the `.xlsx` header).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub key: &'static str,
    pub title: &'static str,
}

/// Shorthand for a list of columns: `columns(&[("code", "编码"), …])`.
pub fn columns(list: &[(&'static str, &'static str)]) -> Vec<Column> {
    list.iter()
        .map(|&(key, title)| Column { key, title })
        .collect()
}

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The sheet's tab name in `.xlsx` (at most 31 characters, no `[]:*?/\`).
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// A CSV's character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UTF-8 with a byte-order mark: what Excel, LibreOffice and every script read.
    #[default]
    Utf8,
    Gbk,
}

impl Charset {
    /// The `charset` parameter of the answer's content type.
    pub fn label(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::Gbk => "gbk",
        }
    }

    /// From an `Accept-Charset` header: GBK (or GB2312 / GB18030, which Excel reads the same for
    /// Chinese text) only when the client prefers it to UTF-8, or does not take UTF-8 at all.
    pub fn negotiate(accept_charset: &str) -> Charset {
        let mut best = (Charset::Utf8, -1.0f32);
        for part in accept_charset.split(',') {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let charset = match name.as_str() {
                "gbk" | "gb2312" | "gb18030" | "cp936" => Charset::Gbk,
                "utf-8" | "utf8" | "*" => Charset::Utf8,
                _ => continue,
            };
            // Equal weights keep UTF-8.
            if q > best.1 || (q == best.1 && charset == Charset::Utf8) {
                best = (charset, q);
            }
        }
        best.0
    }
}

/// The sheet as CSV in `charset`: machine keys as the header, one line per row.
pub fn csv(sheet: &Sheet, charset: Charset) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record(sheet.columns.iter().map(|c| c.key));
    for row in &sheet.rows {
        let _ = w.write_record(row.iter().map(Cell::csv_text));
    }
    let text = w.into_inner().unwrap_or_default();
    encode(text, charset)
}

/// UTF-8 CSV bytes in `charset`, a byte-order mark first for UTF-8.
pub fn encode(text: Vec<u8>, charset: Charset) -> Vec<u8> {
    match charset {
        Charset::Utf8 => {
            let mut out = Vec::with_capacity(text.len() + 3);
            out.extend_from_slice(b"\xef\xbb\xbf");
            out.extend_from_slice(&text);
            out
        }
        Charset::Gbk => {
            let text = String::from_utf8_lossy(&text);
            encoding_rs::GBK.encode(&text).0.into_owned()
        }
    }
}

/// Every sheet as one `.xlsx` workbook.
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDE7F3))
        .set_align(FormatAlign::Center);
    let code = Format::new().set_num_format("@");
    let int = Format::new().set_num_format("0");
    let num = Format::new().set_num_format("0.00");
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(sheet_name(&sheet.name))?;
        let mut widths: Vec<usize> = sheet
            .columns
            .iter()
            .map(|c| display_width(c.title))
            .collect();
        for (c, column) in sheet.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, column.title, &head)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate().take(sheet.columns.len()) {
                let col = c as u16;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        ws.write_string(r, col, s)?;
                    }
                    Cell::Code(s) => {
                        ws.write_string_with_format(r, col, s, &code)?;
                    }
                    Cell::Int(i) => {
                        ws.write_number_with_format(r, col, *i as f64, &int)?;
                    }
                    Cell::Num(f) => {
                        ws.write_number_with_format(r, col, *f, &num)?;
                    }
                }
                widths[c] = widths[c].max(cell.width());
            }
        }
        for (c, w) in widths.iter().enumerate() {
            // A little air, and no column so wide that the sheet cannot be read on a screen.
            ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 60.0))?;
        }
        if !sheet.columns.is_empty() {
            let last_col = sheet.columns.len() as u16 - 1;
            let last_row = sheet.rows.len() as u32;
            ws.set_freeze_panes(1, 0)?;
            ws.autofilter(0, 0, last_row, last_col)?;
            if last_row > 0 {
                ws.ignore_error_range(1, 0, last_row, last_col, IgnoreError::NumberStoredAsText)?;
            }
        }
    }
    book.save_to_buffer()
}

/// A name Excel accepts for a tab: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if clean.trim().is_empty() {
        "Sheet".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sheet {
        Sheet {
            name: "网格".into(),
            columns: columns(&[("code", "编码"), ("name", "名称"), ("households", "户数")]),
            rows: vec![
                vec![
                    Cell::Code("419901001002".into()),
                    Cell::Text("=1+1 第一网格".into()),
                    Cell::Int(120),
                ],
                vec![Cell::Code("A-2".into()), Cell::Empty, Cell::Int(0)],
            ],
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_neutralises_formulas() {
        let bytes = csv(&sample(), Charset::Utf8);
        assert!(bytes.starts_with(b"\xef\xbb\xbfcode,name,households\n"));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.contains("419901001002,'=1+1 第一网格,120\n"), "{text}");
    }

    #[test]
    fn gbk_csv_reads_back_as_gbk() {
        let bytes = csv(&sample(), Charset::Gbk);
        let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
        assert!(!bad);
        assert!(text.contains("第一网格"));
        assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
    }

    #[test]
    fn accept_charset_prefers_utf8_unless_gbk_weighs_more() {
        assert_eq!(Charset::negotiate(""), Charset::Utf8);
        assert_eq!(Charset::negotiate("gbk"), Charset::Gbk);
        assert_eq!(Charset::negotiate("GB2312, utf-8;q=0.5"), Charset::Gbk);
        assert_eq!(Charset::negotiate("gbk, utf-8"), Charset::Utf8);
        assert_eq!(Charset::negotiate("utf-8;q=0.9, gbk;q=0.3"), Charset::Utf8);
        assert_eq!(Charset::negotiate("iso-8859-1"), Charset::Utf8);
    }

    #[test]
    fn sheet_names_excel_accepts() {
        assert_eq!(sheet_name("a/b:c"), "a_b_c");
        assert_eq!(sheet_name(""), "Sheet");
        assert_eq!(sheet_name(&"网".repeat(40)).chars().count(), 31);
    }

    #[test]
    fn workbook_writes() {
        let bytes = xlsx(&[
            sample(),
            Sheet {
                name: "空".into(),
                columns: vec![],
                rows: vec![],
            },
        ])
        .unwrap();
        assert!(bytes.starts_with(b"PK\x03\x04"));
        // Read back with calamine through the import path: the code stays text.
        let t = crate::io::table::Table::read(&bytes, &[&["编码"]], 10).unwrap();
        assert_eq!(t.header, ["编码", "名称", "户数"]);
        assert_eq!(t.rows[0].cells, ["419901001002", "=1+1 第一网格", "120"]);
    }
}
