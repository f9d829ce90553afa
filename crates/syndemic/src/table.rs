//! Reading a CSV table into the columns a method needs, and writing results.
//!
//! The whole file is read into memory. Files without quote characters take a fast
//! path: split into one block per core at line boundaries and parsed in parallel;
//! files with quotes go through the `csv` crate. Both give the same [`Parsed`].

use std::path::Path;

use anyhow::Context;
use rayon::prelude::*;

mod output;
pub use output::*;

/// A problem in the input, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{file}: line {line}, column {column} ('{name}'): {message}")]
pub struct InputError {
    pub file: String,
    pub line: u64,
    pub column: usize,
    pub name: String,
    pub message: String,
}

/// Which columns to extract. Names are resolved against the header.
#[derive(Debug, Default, Clone)]
pub struct Wanted {
    /// Columns parsed as numbers (empty or `NA` = missing).
    pub numeric: Vec<String>,
    /// Sets of columns whose combined text is turned into dense ids (group-by keys,
    /// age-band labels, polarity flags). An empty set gives every row id 0.
    pub keys: Vec<Vec<String>>,
    /// Keep each row's text, for methods that write every input column back.
    pub keep_rows: bool,
}

/// Distinct keys in order of first appearance, their bytes kept in one arena so that
/// a new key costs no allocation of its own.
#[derive(Default)]
pub struct KeyTable {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    table: hashbrown::HashTable<u32>,
}

/// Equality of short byte strings without a call into `memcmp`.
#[inline]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if n >= 8 {
        let word =
            |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.finish()
}

impl KeyTable {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of key `id`.
    pub fn get(&self, id: usize) -> &[u8] {
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[start..self.ends[id]]
    }

    /// The id of `key`, if it is in the table.
    pub fn find(&self, key: &[u8]) -> Option<u32> {
        self.table
            .find(hash_bytes(key), |&id| bytes_eq(self.get(id as usize), key))
            .copied()
    }

    /// The id of `key`, added at the end if new.
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let hash = hash_bytes(key);
        let KeyTable { bytes, ends, table } = self;
        let slice = |id: u32| {
            let id = id as usize;
            let start = if id == 0 { 0 } else { ends[id - 1] };
            &bytes[start..ends[id]]
        };
        if let Some(&id) = table.find(hash, |&id| bytes_eq(slice(id), key)) {
            return id;
        }
        let id = ends.len() as u32;
        bytes.extend_from_slice(key);
        ends.push(bytes.len());
        let (bytes, ends) = (&*bytes, &*ends);
        table.insert_unique(hash, id, |&id| {
            let id = id as usize;
            let start = if id == 0 { 0 } else { ends[id - 1] };
            hash_bytes(&bytes[start..ends[id]])
        });
        id
    }
}

/// Dense ids for one key set, and each id's field values.
#[derive(Default)]
pub struct Keys {
    pub ids: Vec<u32>,
    /// Per id, the raw values of the key's columns joined by [`SEP`].
    pub table: KeyTable,
}

impl Keys {
    /// The joined values of key `id`.
    pub fn value(&self, id: usize) -> &[u8] {
        self.table.get(id)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }
}

/// Separates the fields of a multi-column key.
pub const SEP: u8 = 0x1f;

/// The bytes of an input: a memory-mapped file, or what standard input gave.
pub enum Input {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Owned(v) => v,
        }
    }
}

/// A parsed table.
pub struct Parsed {
    pub headers: Vec<String>,
    pub numeric: Vec<Vec<Option<f64>>>,
    pub keys: Vec<Keys>,
    /// Byte span of each row's text in `data` (when `keep_rows`).
    pub rows: Vec<(usize, usize)>,
    pub data: Input,
    /// Where the table starts in `data` (after a byte-order mark).
    start: usize,
    pub n_rows: usize,
    /// Where the input came from, for messages.
    pub source: String,
    quoted: bool,
}

impl Parsed {
    /// The 1-based line of row `row` (0-based data row), for messages.
    pub fn line_of(&self, row: usize) -> u64 {
        line_of_row(&self.data, self.start, self.quoted, row)
    }

    /// An error at row `row`, column `col` (header index).
    pub fn error_at(&self, row: usize, col: usize, message: impl Into<String>) -> InputError {
        InputError {
            file: self.source.clone(),
            line: self.line_of(row),
            column: col + 1,
            name: self.headers.get(col).cloned().unwrap_or_default(),
            message: message.into(),
        }
    }

    /// Header index of a column.
    pub fn column(&self, name: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == name)
            .expect("column resolved at parse time")
    }
}

/// The 1-based line of data row `row` in a table starting at `data[start..]`.
fn line_of_row(data: &[u8], start: usize, quoted: bool, row: usize) -> u64 {
    let body = &data[start..];
    if quoted {
        // Flexible, and skipping blank records, as the parser reads: a row with
        // too few fields is the row an error names, never the end of the count.
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
        let mut record = csv::ByteRecord::new();
        let mut i = 0;
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            if blank_record(&record, body, reader.position().byte()) {
                continue;
            }
            if i == row {
                // With CRLF line ends the csv crate counts a record's line before
                // the `\n` that ends the one before: one short.
                let crlf =
                    memchr::memchr(b'\n', body).is_some_and(|e| e > 0 && body[e - 1] == b'\r');
                return record.position().map_or(0, |p| p.line() + u64::from(crlf));
            }
            i += 1;
        }
        0
    } else {
        // Count lines up to the row, skipping blank lines as the parser does.
        let mut line = 1u64;
        let mut seen = 0usize;
        let mut rest = &body[first_line_end(body)..];
        while !rest.is_empty() {
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |e| e + 1);
            line += 1;
            if !trim_cr(&rest[..end]).is_empty() {
                if seen == row {
                    return line;
                }
                seen += 1;
            }
            rest = &rest[end..];
        }
        line
    }
}

/// Whether a record the `csv` crate read is a blank line: one empty field whose
/// text is only line ends. A lone `"` (a file cut just after a row's opening
/// quote) is also one empty field, but not a blank line: it is a row cut short.
fn blank_record(record: &csv::ByteRecord, data: &[u8], end: u64) -> bool {
    if record.len() != 1 || !record[0].is_empty() {
        return false;
    }
    let start = record.position().map_or(0, |p| p.byte() as usize);
    let end = (end as usize).min(data.len());
    data.get(start..end)
        .unwrap_or_default()
        .iter()
        .all(|&b| b == b'\r' || b == b'\n')
}

fn first_line_end(data: &[u8]) -> usize {
    memchr::memchr(b'\n', data).map_or(data.len(), |e| e + 1)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True when `path` names a Parquet file (by its extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Opens `path` (memory-mapped; a `.parquet` file is converted to CSV text), or reads
/// standard input for `None` or `-`.
pub fn read_input(path: Option<&Path>) -> anyhow::Result<(Input, String)> {
    use std::io::Read;
    match path {
        Some(p) if is_parquet(p) => Ok((
            Input::Owned(syndemic_parquet::parquet_to_csv(p)?),
            p.display().to_string(),
        )),
        Some(p) if p != Path::new("-") => {
            let file = std::fs::File::open(p)
                .with_context(|| format!("cannot read input file {}", p.display()))?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let data = if len == 0 {
                Input::Owned(Vec::new())
            } else {
                // SAFETY: the map is read-only and lives as long as the parse; a file
                // changed by another process while we read it is the caller's error,
                // as with any reader.
                // Populated: the pages are mapped in one go, not faulted in one by one.
                Input::Mapped(
                    unsafe { memmap2::MmapOptions::new().populate().map(&file) }
                        .with_context(|| format!("cannot read input file {}", p.display()))?,
                )
            };
            Ok((data, p.display().to_string()))
        }
        _ => {
            let mut data = Vec::new();
            std::io::stdin()
                .read_to_end(&mut data)
                .context("cannot read standard input")?;
            Ok((Input::Owned(data), "<stdin>".into()))
        }
    }
}

/// Bytes of input per parallel block.
const BLOCK_BYTES: usize = 1 << 20;

/// A file whose header has been read and whose body is split into one block per core,
/// ready to be parsed into columns ([`parse`]) or streamed ([`visit_rows`]).
pub struct Prepared {
    pub data: Input,
    pub source: String,
    pub headers: Vec<String>,
    /// Where the table starts (after a byte-order mark).
    pub start: usize,
    /// Whether the file has quote characters (then only [`parse`] may read it).
    pub quoted: bool,
    /// The body split at line boundaries, one range per worker.
    pub blocks: Vec<std::ops::Range<usize>>,
}

impl Prepared {
    /// The blocks cut into pieces of about `bytes` each, for a caller that streams
    /// rows and adds nothing up (so block size cannot change a result): its
    /// output buffers then stay small enough to be reused warm in the cache.
    pub fn split_blocks(&mut self, bytes: usize) {
        let data: &[u8] = &self.data;
        self.blocks = self
            .blocks
            .iter()
            .flat_map(|b| split_range(data, b.clone(), b.len().div_ceil(bytes).max(1)))
            .collect();
    }

    /// Header index of a column, or an error listing the columns.
    pub fn column(&self, name: &str) -> anyhow::Result<usize> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: line 1: there is no column '{name}'; the columns are: {}",
                self.source,
                self.headers.join(", ")
            )
        })
    }

    /// Turns an error in block `b` into one naming the file's line and column.
    pub fn block_error(&self, b: usize, err: BlockError) -> InputError {
        let before: usize = self.blocks[..b]
            .iter()
            .map(|r| {
                visit_rows(&self.data, r.clone(), self.headers.len(), |_, _| Ok(())).unwrap_or(0)
            })
            .sum();
        InputError {
            file: self.source.clone(),
            line: line_of_row(&self.data, self.start, self.quoted, before + err.row),
            column: err.col + 1,
            name: self.headers.get(err.col).cloned().unwrap_or_default(),
            message: err.message,
        }
    }
}

/// A file whose lines end in a carriage return alone (old Mac style) gets line
/// feeds instead, one for one, so that line numbers stay the same; any other file is
/// kept as it is. A CR-only file is recognised by its first line end being a lone
/// `\r`.
fn with_line_feeds(data: Input) -> Input {
    let Some(cr) = memchr::memchr(b'\r', &data) else {
        return data;
    };
    if memchr::memchr(b'\n', &data[..cr]).is_some() || data.get(cr + 1) == Some(&b'\n') {
        return data;
    }
    let mut owned = data.to_vec();
    for i in 0..owned.len() {
        if owned[i] == b'\r' && owned.get(i + 1) != Some(&b'\n') {
            owned[i] = b'\n';
        }
    }
    Input::Owned(owned)
}

/// Reads the header and splits the body; refuses an empty file.
pub fn prepare(data: Input, source: String) -> anyhow::Result<Prepared> {
    let data = with_line_feeds(data);
    let start = if data.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let quoted = memchr::memchr(b'"', &data).is_some();
    let headers: Vec<String> = {
        let mut reader = csv::ReaderBuilder::new().from_reader(&data[start..]);
        reader
            .headers()
            .with_context(|| format!("{source}: cannot read the header row"))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect()
    };
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        anyhow::bail!("{source}: the file is empty; it needs a header row naming its columns");
    }
    for (i, h) in headers.iter().enumerate() {
        if let Some(first) = headers[..i].iter().position(|o| o == h && !h.is_empty()) {
            anyhow::bail!(
                "{source}: line 1, column {} ('{h}'): the header names this column twice (columns {} and {}); which one to read would be a guess, so rename or remove one",
                i + 1,
                first + 1,
                i + 1
            );
        }
    }
    let blocks = if quoted {
        Vec::new()
    } else {
        let body_start = start + first_line_end(&data[start..]);
        // Blocks of a fixed size, not one per core: sums are then added in the same
        // order on every machine, so results do not depend on the number of cores.
        let parts = (data.len() - body_start).div_ceil(BLOCK_BYTES).max(1);
        split_lines(&data, body_start, parts)
    };
    Ok(Prepared {
        data,
        source,
        headers,
        start,
        quoted,
        blocks,
    })
}

/// Parses `data` (a CSV file's bytes) for the wanted columns.
pub fn parse(data: Input, source: String, wanted: &Wanted) -> anyhow::Result<Parsed> {
    let prepared = prepare(data, source)?;
    let find = |name: &String| prepared.column(name);
    let numeric_idx: Vec<usize> = wanted.numeric.iter().map(find).collect::<Result<_, _>>()?;
    let key_idx: Vec<Vec<usize>> = wanted
        .keys
        .iter()
        .map(|set| set.iter().map(find).collect::<Result<Vec<_>, _>>())
        .collect::<Result<_, _>>()?;
    let Prepared {
        data,
        source,
        headers,
        start,
        quoted,
        blocks: ranges,
    } = prepared;
    let spec = Spec {
        n_fields: headers.len(),
        numeric: numeric_idx,
        keys: key_idx,
        keep_rows: wanted.keep_rows,
    };
    let blocks: Vec<Result<Block, BlockError>> = if quoted {
        vec![parse_quoted(&data, start, &spec)]
    } else {
        ranges
            .into_par_iter()
            .map(|r| parse_block(&data, r, &spec))
            .collect()
    };
    // Merge blocks in order, remapping key ids to global first-appearance order.
    let mut parsed = Parsed {
        headers,
        numeric: vec![Vec::new(); spec.numeric.len()],
        keys: (0..spec.keys.len()).map(|_| Keys::default()).collect(),
        rows: Vec::new(),
        data: Input::Owned(Vec::new()),
        start,
        n_rows: 0,
        source,
        quoted,
    };
    for block in blocks {
        let block = match block {
            Ok(b) => b,
            Err(BlockError { row, col, message }) => {
                parsed.data = data;
                let row = parsed.n_rows + row;
                return Err(parsed.error_at(row, col, message).into());
            }
        };
        for (k, (ids, table)) in block.keys.into_iter().enumerate() {
            let global = &mut parsed.keys[k];
            if global.table.len() == 0 {
                // The first block's ids are already in first-appearance order.
                global.table = table;
                global.ids = ids;
                continue;
            }
            let map: Vec<u32> = (0..table.len())
                .map(|id| global.table.intern(table.get(id)))
                .collect();
            global.ids.extend(ids.into_iter().map(|i| map[i as usize]));
        }
        for (mine, mut theirs) in parsed.numeric.iter_mut().zip(block.numeric) {
            if mine.is_empty() {
                *mine = theirs;
            } else {
                mine.append(&mut theirs);
            }
        }
        if parsed.rows.is_empty() {
            parsed.rows = block.rows;
        } else {
            parsed.rows.extend(block.rows);
        }
        parsed.n_rows += block.n_rows;
    }
    for keys in &mut parsed.keys {
        if keys.table.len() == 0 && parsed.n_rows > 0 {
            keys.table.intern(b"");
        }
    }
    parsed.data = data;
    Ok(parsed)
}

struct Spec {
    n_fields: usize,
    numeric: Vec<usize>,
    keys: Vec<Vec<usize>>,
    keep_rows: bool,
}

struct Block {
    numeric: Vec<Vec<Option<f64>>>,
    keys: Vec<(Vec<u32>, KeyTable)>,
    rows: Vec<(usize, usize)>,
    n_rows: usize,
}

/// A problem found in a block: row within the block, header column, message.
#[derive(Debug)]
pub struct BlockError {
    pub row: usize,
    pub col: usize,
    pub message: String,
}

/// Splits `data[start..]` into about `parts` ranges ending at line boundaries.
fn split_lines(data: &[u8], start: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    split_range(data, start..data.len(), parts)
}

/// `range` of `data` cut at line ends into about `parts` pieces of equal size.
fn split_range(
    data: &[u8],
    range: std::ops::Range<usize>,
    parts: usize,
) -> Vec<std::ops::Range<usize>> {
    let (start, end) = (range.start, range.end);
    let len = end - start;
    let mut ranges = Vec::new();
    let mut from = start;
    for p in 1..parts {
        let target = start + len * p / parts;
        if target <= from {
            continue;
        }
        let cut = memchr::memchr(b'\n', &data[target..end]).map_or(end, |e| target + e + 1);
        if cut >= end {
            break;
        }
        ranges.push(from..cut);
        from = cut;
    }
    ranges.push(from..end);
    ranges
}

/// Keys of the quoted path, where fields are not spans of the input.
struct KeyBuilder {
    ids: Vec<u32>,
    table: KeyTable,
    scratch: Vec<u8>,
}

impl KeyBuilder {
    fn new() -> Self {
        KeyBuilder {
            ids: Vec::new(),
            table: KeyTable::default(),
            scratch: Vec::new(),
        }
    }

    fn push<'a>(&mut self, fields: impl Iterator<Item = &'a [u8]>) {
        self.scratch.clear();
        for (i, f) in fields.enumerate() {
            if i > 0 {
                self.scratch.push(SEP);
            }
            self.scratch.extend_from_slice(f);
        }
        let id = self.table.intern(&self.scratch);
        self.ids.push(id);
    }
}

/// Keys of the fast path: fields are spans of the input, so a repeat of the previous
/// row's key is recognised without hashing or copying.
pub(crate) struct SpanKeys<'a> {
    data: &'a [u8],
    cols: Vec<usize>,
    ids: Vec<u32>,
    pub(crate) table: KeyTable,
    scratch: Vec<u8>,
    /// The previous row's id and key field spans (reused, not reallocated).
    last: Option<u32>,
    last_spans: Vec<(usize, usize)>,
    /// For each id, the id that followed it last time: keys that cycle (age bands)
    /// are then recognised with one comparison.
    next: Vec<u32>,
    /// The key columns are adjacent and in order: the whole key is one span of the line.
    adjacent: bool,
}

impl<'a> SpanKeys<'a> {
    pub(crate) fn new(data: &'a [u8], cols: Vec<usize>, capacity: usize) -> Self {
        let adjacent = !cols.is_empty() && cols.windows(2).all(|w| w[1] == w[0] + 1);
        SpanKeys {
            data,
            cols,
            ids: Vec::with_capacity(capacity),
            table: KeyTable::default(),
            scratch: Vec::new(),
            last: None,
            last_spans: Vec::new(),
            next: Vec::new(),
            adjacent,
        }
    }

    fn push(&mut self, fields: &[(usize, usize)]) {
        let id = self.key(fields);
        self.ids.push(id);
    }

    /// The id of the row's key (new ids in order of first appearance).
    pub(crate) fn key(&mut self, fields: &[(usize, usize)]) -> u32 {
        let data = self.data;
        if let Some(id) = self.last {
            let same = if self.adjacent {
                let (first, last) = (self.cols[0], self.cols[self.cols.len() - 1]);
                let now = &data[fields[first].0..fields[last].1];
                let then =
                    &data[self.last_spans[0].0..self.last_spans[self.last_spans.len() - 1].1];
                bytes_eq(now, then)
            } else {
                self.cols
                    .iter()
                    .zip(&self.last_spans)
                    .all(|(&c, &(s, e))| bytes_eq(&data[fields[c].0..fields[c].1], &data[s..e]))
            };
            if same {
                return id;
            }
        }
        let id = if self.cols.len() == 1 {
            let (s, e) = fields[self.cols[0]];
            let key = &data[s..e];
            let predicted = self
                .last
                .and_then(|l| self.next.get(l as usize).copied())
                .filter(|&p| p != u32::MAX && bytes_eq(self.table.get(p as usize), key));
            match predicted {
                Some(p) => p,
                None => self.table.intern(key),
            }
        } else {
            self.scratch.clear();
            for (i, &c) in self.cols.iter().enumerate() {
                if i > 0 {
                    self.scratch.push(SEP);
                }
                self.scratch
                    .extend_from_slice(&data[fields[c].0..fields[c].1]);
            }
            self.table.intern(&self.scratch)
        };
        if let Some(l) = self.last {
            if self.next.len() <= l as usize {
                self.next.resize(l as usize + 1, u32::MAX);
            }
            self.next[l as usize] = id;
        }
        self.last_spans.clear();
        self.last_spans.extend(self.cols.iter().map(|&c| fields[c]));
        self.last = Some(id);
        id
    }
}

/// Calls `f(row, fields)` for every non-blank line of `data[range]` (CSV without
/// quotes), with each field's byte span; `row` counts from 0 within the range. Returns
/// the number of rows.
pub fn visit_rows<F>(
    data: &[u8],
    range: std::ops::Range<usize>,
    n_fields: usize,
    mut f: F,
) -> Result<usize, BlockError>
where
    F: FnMut(usize, &[(usize, usize)]) -> Result<(), BlockError>,
{
    let mut fields: Vec<(usize, usize)> = Vec::with_capacity(n_fields + 1);
    let mut n_rows = 0;
    let mut start = range.start;
    let mut line_start = range.start;
    // Separators are found eight bytes at a time (SWAR): fields are short, so a
    // search that starts afresh for each one costs more than it saves.
    let mut at = range.start;
    let end = range.end;
    let mut handle = |pos: usize,
                      fields: &mut Vec<(usize, usize)>,
                      start: &mut usize,
                      line_start: &mut usize|
     -> Result<(), BlockError> {
        if data[pos] == b',' {
            fields.push((*start, pos));
            *start = pos + 1;
            return Ok(());
        }
        let mut stop = pos;
        if stop > *start && data[stop - 1] == b'\r' {
            stop -= 1;
        }
        if !(fields.is_empty() && stop == *line_start) {
            fields.push((*start, stop));
            check_and_visit(fields, n_fields, n_rows, &mut f)?;
            n_rows += 1;
        }
        *start = pos + 1;
        *line_start = pos + 1;
        Ok(())
    };
    while at + 8 <= end {
        let word = u64::from_le_bytes(data[at..at + 8].try_into().unwrap_or([0; 8]));
        let mut mask = zero_bytes(word ^ COMMAS) | zero_bytes(word ^ NEWLINES);
        while mask != 0 {
            let pos = at + (mask.trailing_zeros() / 8) as usize;
            handle(pos, &mut fields, &mut start, &mut line_start)?;
            mask &= mask - 1;
        }
        at += 8;
    }
    while at < end {
        if matches!(data[at], b',' | b'\n') {
            handle(at, &mut fields, &mut start, &mut line_start)?;
        }
        at += 1;
    }
    // A last line without a newline.
    if start < end || !fields.is_empty() {
        let mut stop = end;
        if stop > start && data[stop - 1] == b'\r' {
            stop -= 1;
        }
        if !(fields.is_empty() && stop == line_start) {
            fields.push((start, stop));
            check_and_visit(&mut fields, n_fields, n_rows, &mut f)?;
            n_rows += 1;
        }
    }
    Ok(n_rows)
}

const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;

/// The high bit of each byte of `x` that is zero, exactly (no carries between bytes).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

/// Checks a line's field count, then visits it; clears the fields for the next line.
fn check_and_visit<F>(
    fields: &mut Vec<(usize, usize)>,
    n_fields: usize,
    row: usize,
    f: &mut F,
) -> Result<(), BlockError>
where
    F: FnMut(usize, &[(usize, usize)]) -> Result<(), BlockError>,
{
    if fields.len() != n_fields {
        return Err(BlockError {
            row,
            col: fields.len().min(n_fields).saturating_sub(1),
            message: format!(
                "this row has {} fields but the header has {n_fields}; every row needs one value (or an empty cell) per column",
                fields.len(),
            ),
        });
    }
    f(row, fields)?;
    fields.clear();
    Ok(())
}

/// A numeric field of a visited row, or the error naming it.
pub fn number_at(
    data: &[u8],
    fields: &[(usize, usize)],
    row: usize,
    col: usize,
) -> Result<Option<f64>, BlockError> {
    let (s, e) = fields[col];
    parse_number(&data[s..e]).map_err(|()| BlockError {
        row,
        col,
        message: not_a_number(&data[s..e]),
    })
}

fn parse_block(
    data: &[u8],
    range: std::ops::Range<usize>,
    spec: &Spec,
) -> Result<Block, BlockError> {
    // Exact capacity: one row per line (blank lines are few).
    let capacity = memchr::memchr_iter(b'\n', &data[range.clone()]).count() + 1;
    let mut numeric: Vec<Vec<Option<f64>>> = spec
        .numeric
        .iter()
        .map(|_| Vec::with_capacity(capacity))
        .collect();
    let mut keys: Vec<SpanKeys<'_>> = spec
        .keys
        .iter()
        .map(|cols| SpanKeys::new(data, cols.clone(), capacity))
        .collect();
    let mut rows = Vec::with_capacity(if spec.keep_rows { capacity } else { 0 });
    let n_rows = visit_rows(data, range, spec.n_fields, |row, fields| {
        for (out, &col) in numeric.iter_mut().zip(&spec.numeric) {
            out.push(number_at(data, fields, row, col)?);
        }
        for k in keys.iter_mut() {
            k.push(fields);
        }
        if spec.keep_rows {
            rows.push((fields[0].0, fields[fields.len() - 1].1));
        }
        Ok(())
    })?;
    Ok(Block {
        numeric,
        keys: keys.into_iter().map(|k| (k.ids, k.table)).collect(),
        rows,
        n_rows,
    })
}

fn parse_quoted(data: &[u8], offset: usize, spec: &Spec) -> Result<Block, BlockError> {
    let data = &data[offset..];
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let mut numeric: Vec<Vec<Option<f64>>> = spec.numeric.iter().map(|_| Vec::new()).collect();
    let mut keys: Vec<KeyBuilder> = spec.keys.iter().map(|_| KeyBuilder::new()).collect();
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut n_rows = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(BlockError {
                    row: n_rows,
                    col: 0,
                    message: format!("cannot read this row as CSV: {e}"),
                })
            }
        }
        if blank_record(&record, data, reader.position().byte()) {
            continue;
        }
        if record.len() != spec.n_fields {
            return Err(BlockError {
                row: n_rows,
                col: record.len().min(spec.n_fields).saturating_sub(1),
                message: format!(
                    "this row has {} fields but the header has {}",
                    record.len(),
                    spec.n_fields
                ),
            });
        }
        for (out, &col) in numeric.iter_mut().zip(&spec.numeric) {
            match parse_number(&record[col]) {
                Ok(v) => out.push(v),
                Err(()) => {
                    return Err(BlockError {
                        row: n_rows,
                        col,
                        message: not_a_number(&record[col]),
                    })
                }
            }
        }
        for (builder, cols) in keys.iter_mut().zip(&spec.keys) {
            builder.push(cols.iter().map(|&c| &record[c]));
        }
        if spec.keep_rows {
            let start = record.position().map_or(0, |p| p.byte() as usize);
            let end = reader.position().byte() as usize;
            let text = trim_cr(&data[start..end.min(data.len())]);
            rows.push((offset + start, offset + start + text.len()));
        }
        n_rows += 1;
    }
    Ok(Block {
        numeric,
        keys: keys.into_iter().map(|k| (k.ids, k.table)).collect(),
        rows,
        n_rows,
    })
}

fn not_a_number(text: &[u8]) -> String {
    format!(
        "'{}' is not a number; write a number such as 12 or 3.5, or leave the cell empty (or NA) if it is missing",
        String::from_utf8_lossy(text)
    )
}

/// A numeric cell: empty or `NA` is missing; whole numbers take a fast path; other
/// text must be a finite decimal number.
pub fn parse_number(text: &[u8]) -> Result<Option<f64>, ()> {
    let text = text.trim_ascii();
    if text.is_empty() || text == b"NA" {
        return Ok(None);
    }
    if text.len() <= 15 {
        let mut v: u64 = 0;
        let mut digits = true;
        for &b in text {
            let d = b.wrapping_sub(b'0');
            digits &= d < 10;
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        if digits {
            return Ok(Some(v as f64));
        }
    }
    let s = std::str::from_utf8(text).map_err(|_| ())?;
    // Only plain decimal notation: refuse "inf", "NaN" and the like.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return Err(());
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_or_are_refused() {
        assert_eq!(parse_number(b"12"), Ok(Some(12.0)));
        assert_eq!(parse_number(b" 3.5 "), Ok(Some(3.5)));
        assert_eq!(parse_number(b"-1e3"), Ok(Some(-1000.0)));
        assert_eq!(parse_number(b""), Ok(None));
        assert_eq!(parse_number(b"NA"), Ok(None));
        assert!(parse_number(b"abc").is_err());
        assert!(parse_number(b"NaN").is_err());
        assert!(parse_number(b"inf").is_err());
        assert!(parse_number(b"1,000").is_err());
    }

    #[test]
    fn numbers_print_at_full_precision() {
        for v in [0.1 + 0.2, 1000.0, 1e-7, 123456.789, -2.5] {
            let mut out = Vec::new();
            push_number(&mut out, Some(v));
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert_eq!(back, v);
        }
        let mut out = Vec::new();
        push_number(&mut out, Some(1000.0));
        assert_eq!(out, b"1000");
    }

    #[test]
    fn pieces_cover_their_block_and_end_at_line_ends() {
        let mut text = String::from("a,b\n");
        for i in 0..5000 {
            text.push_str(&format!("{i},{}\n", i * 7));
        }
        let prep = prepare(Input::Owned(text.into_bytes()), "t.csv".into()).unwrap();
        let mut fine = prepare(Input::Owned(prep.data.to_vec()), "t.csv".into()).unwrap();
        fine.split_blocks(1000);
        assert!(fine.blocks.len() > 40);
        assert_eq!(fine.blocks.first().unwrap().start, prep.blocks[0].start);
        assert_eq!(
            fine.blocks.last().unwrap().end,
            prep.blocks.last().unwrap().end
        );
        for pair in fine.blocks.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "no gap, no overlap");
            assert_eq!(
                fine.data[pair[0].end - 1],
                b'\n',
                "a piece ends at a line end"
            );
        }
        // An error in a late piece still names its line in the file.
        let err = fine.block_error(
            fine.blocks.len() - 1,
            BlockError {
                row: 0,
                col: 1,
                message: "bad".into(),
            },
        );
        let first_row = fine.data[..fine.blocks.last().unwrap().start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        assert_eq!(err.line, first_row as u64 + 1);
    }

    #[test]
    fn fast_and_quoted_paths_agree() {
        let plain = b"g,x\na,1\nb,2\na,3\n".to_vec();
        let quoted = b"g,x\n\"a\",1\nb,2\n\"a\",3\n".to_vec();
        let wanted = Wanted {
            numeric: vec!["x".into()],
            keys: vec![vec!["g".into()]],
            keep_rows: true,
        };
        let p = parse(Input::Owned(plain), "p".into(), &wanted).unwrap();
        let q = parse(Input::Owned(quoted), "q".into(), &wanted).unwrap();
        assert_eq!(p.numeric, q.numeric);
        assert_eq!(p.keys[0].ids, vec![0, 1, 0]);
        assert_eq!(p.keys[0].ids, q.keys[0].ids);
        assert_eq!(q.line_of(2), 4);
        assert_eq!(p.line_of(2), 4);
    }

    #[test]
    fn a_lone_quote_at_the_end_is_a_row_cut_short_not_a_blank_line() {
        let wanted = Wanted {
            numeric: vec!["x".into()],
            ..Wanted::default()
        };
        let data = b"g,x\n\"a\",1\n\"".to_vec();
        let err = parse(Input::Owned(data), "cut.csv".into(), &wanted)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("cut.csv: line 3"), "{err}");
        let data = b"g,x\n\"a\",1\n\n\"b\",2\n".to_vec();
        let p = parse(Input::Owned(data), "blank.csv".into(), &wanted).unwrap();
        assert_eq!(p.n_rows, 2);
    }

    #[test]
    fn errors_name_line_and_column() {
        let data = b"g,x\na,1\n\nb,oops\n".to_vec();
        let wanted = Wanted {
            numeric: vec!["x".into()],
            ..Wanted::default()
        };
        let err = parse(Input::Owned(data), "in.csv".into(), &wanted)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("in.csv: line 4, column 2 ('x')"), "{err}");
    }
}
