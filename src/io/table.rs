//! Tables as a grid office makes them, read for import: CSV (UTF-8 with or without a byte-order
//! mark, else GBK, which is what Chinese Excel saves) and Excel `.xlsx` (the first sheet, with
//! calamine). Both become one [`Table`]: text cells by row, each row with the line a person sees
//! in the file (the CSV record's line, the sheet's row number), so every consumer reads both
//! formats the same way and names the same line in its errors.
//!
//! **Bounds.** An `.xlsx` is a zip: a small upload can unpack into gigabytes (a "zip bomb"), and
//! calamine reads the shared strings whole before the first cell. So the archive is unpacked once
//! into a counting sink first, refusing it past [`MAX_UNPACKED`] bytes, and the sheet is then read
//! cell by cell (calamine's cell reader, never a `Range` sized by the sheet's declared dimension)
//! into at most `max_rows` rows of at most [`MAX_COLUMNS`] columns.
//!
//! **Headers.** Spreadsheets often carry a title row ("XX社区网格信息表") above the header, so the
//! header is the first of the first [`HEADER_SEARCH`] rows that names one of the columns the
//! caller knows (in English or Chinese, see [`Table::column`]), else the first non-empty row.

use std::borrow::Cow;
use std::io::{Cursor, Read};

/// Unpacked size an `.xlsx` may reach, all entries together.
pub const MAX_UNPACKED: u64 = 256 << 20;
/// Columns a sheet may use (A to IV, as old Excel allowed; no table of ours comes near).
pub const MAX_COLUMNS: usize = 256;
/// How many rows from the top may hold the header.
pub const HEADER_SEARCH: usize = 10;

/// What kind of table a file holds, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csv,
    Xlsx,
}

impl Kind {
    /// A zip archive is taken for `.xlsx` (no other zip is a table); anything else for CSV text.
    pub fn sniff(bytes: &[u8]) -> Kind {
        if bytes.starts_with(b"PK\x03\x04") {
            Kind::Xlsx
        } else {
            Kind::Csv
        }
    }
}

/// Why a table cannot be read at all (faults in single rows are the caller's).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    #[error("the file is empty: no header row")]
    Empty,
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
    #[error("not a readable .xlsx workbook: {0}")]
    Xlsx(String),
    #[error("the workbook unpacks to more than {} MB; split it", MAX_UNPACKED >> 20)]
    TooLarge,
    #[error("row {row} uses column {column}; at most {MAX_COLUMNS} columns are read")]
    TooWide { row: usize, column: usize },
    /// More data rows than the caller takes (the number is the first one too many).
    #[error("more than {} rows", .0 - 1)]
    TooMany(usize),
}

/// One data row: its line in the file (the header's line is the table's `header_line`) and its
/// cells, as text, trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

impl Row {
    /// The cell in column `i`, `""` when the row is shorter.
    pub fn get(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", String::as_str)
    }

    /// The cell in column `i` when there is one and it is not blank.
    pub fn cell(&self, i: Option<usize>) -> Option<&str> {
        i.map(|i| self.get(i)).filter(|t| !t.is_empty())
    }

    /// True when every cell is blank (spreadsheets keep formatted but empty rows).
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(String::is_empty)
    }
}

/// A header and the data rows below it; blank rows are left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub header_line: usize,
    pub rows: Vec<Row>,
}

impl Table {
    /// Read `bytes` as the kind they are, taking the header as the module says (`known` are the
    /// names of every column the caller reads, any of which marks the header row).
    pub fn read(bytes: &[u8], known: &[&[&str]], max_rows: usize) -> Result<Table, TableError> {
        // Read a few rows more than the limit, for a title above the header; a file longer
        // still is refused by the caller's limit.
        let reading = max_rows.saturating_add(HEADER_SEARCH);
        let rows = match Kind::sniff(bytes) {
            Kind::Csv => csv_rows(&decode(bytes), reading),
            Kind::Xlsx => xlsx_rows(bytes, reading),
        }
        .map_err(|e| match e {
            TableError::TooMany(_) => TableError::TooMany(max_rows.saturating_add(1)),
            e => e,
        })?;
        Table::from_rows(rows, known, max_rows)
    }

    fn from_rows(rows: Vec<Row>, known: &[&[&str]], max_rows: usize) -> Result<Table, TableError> {
        let mut rows: Vec<Row> = rows.into_iter().filter(|r| !r.is_blank()).collect();
        let names_known = |r: &Row| {
            r.cells
                .iter()
                .any(|c| known.iter().any(|names| matches_name(c, names)))
        };
        let at = rows
            .iter()
            .take(HEADER_SEARCH)
            .position(names_known)
            .unwrap_or(0);
        if rows.len() <= at {
            return Err(TableError::Empty);
        }
        let header = rows.remove(at);
        let rows: Vec<Row> = rows.split_off(at);
        if rows.len() > max_rows {
            return Err(TableError::TooMany(max_rows.saturating_add(1)));
        }
        Ok(Table {
            header: header.cells,
            header_line: header.line,
            rows,
        })
    }

    /// The column whose header is one of `names` (English names match case-insensitively; a
    /// byte-order mark or spaces around the header are ignored).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| matches_name(h, names))
    }
}

fn matches_name(header: &str, names: &[&str]) -> bool {
    let h = header.trim().trim_start_matches('\u{feff}').trim();
    names.iter().any(|n| h.eq_ignore_ascii_case(n))
}

/// CSV text: UTF-8 (a byte-order mark dropped), or GBK when it is not UTF-8 (GBK is a superset
/// of GB2312, so both read). Borrowed when no conversion was needed.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::GBK.decode_without_bom_handling(bytes).0,
    }
}

fn csv_rows(text: &str, max_rows: usize) -> Result<Vec<Row>, TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The line a person sees: counted from the record's byte offset, since the csv crate's own
    // line count skips blank lines.
    let (mut counted_to, mut line_at) = (0usize, 1usize);
    for record in reader.records() {
        let record = record.map_err(|e| TableError::Csv {
            line: e.position().map_or(0, |p| p.line() as usize),
            message: e.to_string(),
        })?;
        if rows.len() > max_rows {
            return Err(TableError::TooMany(max_rows.saturating_add(1)));
        }
        // The offset names where the reader started, before any blank lines it skipped.
        let bytes = text.as_bytes();
        let mut byte = record.position().map_or(counted_to, |p| p.byte() as usize);
        while matches!(bytes.get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        if let Some(skipped) = bytes.get(counted_to..byte) {
            line_at += line_breaks(skipped);
            counted_to = byte;
        }
        let line = line_at;
        if record.len() > MAX_COLUMNS {
            return Err(TableError::TooWide {
                row: line,
                column: record.len(),
            });
        }
        rows.push(Row {
            line,
            cells: record.iter().map(str::to_string).collect(),
        });
    }
    Ok(rows)
}

/// Line breaks in `bytes` as the csv crate reads them: CR LF, a lone CR or a lone LF, each one.
fn line_breaks(bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut it = bytes.iter().peekable();
    while let Some(&b) = it.next() {
        if b == b'\r' {
            // CR LF is one break.
            it.next_if_eq(&&b'\n');
            n += 1;
        } else if b == b'\n' {
            n += 1;
        }
    }
    n
}

/// Unpack every entry into a counting sink: the real size, whatever the archive declares.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), TableError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    let mut left = MAX_UNPACKED;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| TableError::Xlsx(e.to_string()))?;
        let read = std::io::copy(&mut entry.take(left + 1), &mut std::io::sink())
            .map_err(|e| TableError::Xlsx(e.to_string()))?;
        if read > left {
            return Err(TableError::TooLarge);
        }
        left -= read;
    }
    Ok(())
}

fn xlsx_rows(bytes: &[u8], max_rows: usize) -> Result<Vec<Row>, TableError> {
    use calamine::{DataRef, Reader, Xlsx};
    check_unpacked_size(bytes)?;
    let bad = |e: calamine::XlsxError| TableError::Xlsx(e.to_string());
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let Some(sheet) = book.sheet_names().into_iter().next() else {
        return Err(TableError::Xlsx("the workbook has no sheet".into()));
    };
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(bad)?;
    // Rows in the order the sheet stores them (ascending, as the format requires); a row number
    // seen again or going back starts a new row rather than being trusted to sort.
    let mut rows: Vec<Row> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (r, c) = cell.get_position();
        let (line, column) = (r as usize + 1, c as usize);
        if column >= MAX_COLUMNS {
            return Err(TableError::TooWide {
                row: line,
                column: column + 1,
            });
        }
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) => s.trim().to_string(),
            DataRef::SharedString(s) => s.trim().to_string(),
            DataRef::Int(i) => i.to_string(),
            DataRef::Float(f) => number_text(*f),
            DataRef::Bool(b) => b.to_string(),
            DataRef::DateTime(d) => excel_date_text(d.as_f64(), d.is_duration()),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
            DataRef::Error(e) => format!("#{e:?}"),
        };
        if rows.last().is_none_or(|last| last.line != line) {
            if rows.len() > max_rows {
                return Err(TableError::TooMany(max_rows.saturating_add(1)));
            }
            rows.push(Row {
                line,
                cells: Vec::new(),
            });
        }
        let row = &mut rows.last_mut().expect("pushed above").cells;
        if row.len() <= column {
            row.resize(column + 1, String::new());
        }
        row[column] = text;
    }
    Ok(rows)
}

/// A spreadsheet number as a person typed it: whole numbers without `.0` (codes and counts often
/// arrive as numbers), others in the shortest form that reads back the same.
pub fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// An Excel date serial (days since 1899-12-30, the 1900 system) as ISO 8601 text.
fn excel_date_text(serial: f64, duration: bool) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .expect("a valid date")
        .and_hms_opt(0, 0, 0)
        .expect("a valid time");
    let ms = (serial * 86_400_000.0).round();
    match (duration, chrono::TimeDelta::try_milliseconds(ms as i64)) {
        (false, Some(d)) if ms.abs() < 1e15 => {
            let t = epoch + d;
            if t.time() == chrono::NaiveTime::MIN {
                t.date().to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S").to_string()
            }
        }
        _ => number_text(serial),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&[&str]] = &[&["code", "编码"], &["households", "户数"]];

    #[test]
    fn csv_in_gbk_with_a_title_row_reads_like_utf8() {
        let text =
            "某某社区网格信息表,,\n编码,名称,户数\n4199001,第一网格,120\n\n4199002,第二网格,80\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let from_gbk = Table::read(&gbk, KNOWN, 10).unwrap();
        let with_bom = [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat();
        assert_eq!(Table::read(&with_bom, KNOWN, 10).unwrap(), from_gbk);
        assert_eq!(from_gbk.header, ["编码", "名称", "户数"]);
        assert_eq!(from_gbk.header_line, 2);
        assert_eq!(from_gbk.rows.len(), 2);
        assert_eq!(from_gbk.rows[1].line, 5);
        assert_eq!(from_gbk.rows[1].get(1), "第二网格");
        assert_eq!(from_gbk.column(&["households", "户数"]), Some(2));
    }

    /// Old Mac files end lines with a lone CR, Windows with CR LF: each is one line.
    #[test]
    fn lines_are_counted_whatever_ends_them() {
        for text in ["code\r1\r\r2\r", "code\r\n1\r\n\r\n2\r\n", "code\n1\n\n2\n"] {
            let t = Table::read(text.as_bytes(), KNOWN, 10).unwrap();
            assert_eq!(t.header_line, 1, "{text:?}");
            let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 4], "{text:?}");
        }
    }

    #[test]
    fn too_many_rows_are_refused_with_the_limit() {
        let text = "code\n1\n2\n3\n";
        assert_eq!(
            Table::read(text.as_bytes(), KNOWN, 2),
            Err(TableError::TooMany(3))
        );
        assert_eq!(Table::read(b"", KNOWN, 2), Err(TableError::Empty));
        // Far more rows than the limit: stopped while reading, still named by the caller's limit.
        let many = format!("code\n{}", "1\n".repeat(40));
        assert_eq!(
            Table::read(many.as_bytes(), KNOWN, 2),
            Err(TableError::TooMany(3))
        );
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(number_text(419_901_001_002.0), "419901001002");
        assert_eq!(number_text(113.62), "113.62");
        assert_eq!(number_text(-5.0), "-5");
        assert_eq!(number_text(1e300).parse::<f64>(), Ok(1e300));
        assert_eq!(excel_date_text(46_000.0, false), "2025-12-09");
        assert_eq!(excel_date_text(46_000.5, false), "2025-12-09T12:00:00");
    }

    /// A workbook written by rust_xlsxwriter, read back: numbers typed as numbers come back as
    /// their digits, strings as strings, the row numbers Excel shows.
    #[test]
    fn xlsx_cells_come_back_as_text_with_their_row_numbers() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "网格信息").unwrap();
        sheet.write(2, 0, "编码").unwrap();
        sheet.write(2, 2, "户数").unwrap();
        sheet.write(3, 0, 419_901_001_002_f64).unwrap();
        sheet.write(3, 2, 120).unwrap();
        sheet.write(4, 0, "A-2").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let t = Table::read(&bytes, KNOWN, 10).unwrap();
        assert_eq!(t.header, ["编码", "", "户数"]);
        assert_eq!(t.header_line, 3);
        assert_eq!(t.rows[0].cells, ["419901001002", "", "120"]);
        assert_eq!(t.rows[0].line, 4);
        assert_eq!(t.rows[1].get(0), "A-2");
        assert_eq!(t.rows[1].get(2), "");
    }

    /// 300 MB of zeros compress to a few hundred kilobytes: refused before calamine sees them.
    #[test]
    fn a_workbook_that_unpacks_too_far_is_refused() {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/sharedStrings.xml", opts).unwrap();
        let block = vec![b' '; 1 << 20];
        for _ in 0..300 {
            zip.write_all(&block).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        assert!(bytes.len() < 2 << 20, "{} bytes", bytes.len());
        assert_eq!(Table::read(&bytes, KNOWN, 10), Err(TableError::TooLarge));
    }

    #[test]
    fn a_broken_workbook_is_an_error_not_a_panic() {
        let e = Table::read(b"PK\x03\x04garbage", KNOWN, 10).unwrap_err();
        assert!(matches!(e, TableError::Xlsx(_)), "{e:?}");
    }
}
