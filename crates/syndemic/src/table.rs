//! Reading a CSV table into the columns a method needs, and writing results.
//!
//! The whole file is read into memory. Files without quote characters take a fast
//! path: split into one block per core at line boundaries and parsed in parallel;
//! files with quotes go through the `csv` crate. Both give the same [`Parsed`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

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

/// Dense ids for one key set, and each id's field values.
#[derive(Debug, Default)]
pub struct Keys {
    pub ids: Vec<u32>,
    /// Per id, the raw values of the key's columns joined by `\x1f`.
    pub values: Vec<Vec<u8>>,
}

impl Keys {
    /// The values of key `id`, one per column.
    pub fn fields(&self, id: usize) -> impl Iterator<Item = &[u8]> {
        self.values[id].split(|&b| b == SEP)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }
}

const SEP: u8 = 0x1f;

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
        if self.quoted {
            let mut reader = csv::ReaderBuilder::new().from_reader(&self.data[self.start..]);
            let mut record = csv::ByteRecord::new();
            let mut i = 0;
            while reader.read_byte_record(&mut record).unwrap_or(false) {
                if i == row {
                    return record.position().map_or(0, |p| p.line());
                }
                i += 1;
            }
            0
        } else {
            // Count lines up to the row, skipping blank lines as the parser does.
            let mut line = 1u64;
            let mut seen = 0usize;
            let body = &self.data[self.start..];
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

fn first_line_end(data: &[u8]) -> usize {
    memchr::memchr(b'\n', data).map_or(data.len(), |e| e + 1)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Opens `path` (memory-mapped), or reads standard input for `None` or `-`.
pub fn read_input(path: Option<&Path>) -> anyhow::Result<(Input, String)> {
    use std::io::Read;
    match path {
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
                Input::Mapped(unsafe { memmap2::Mmap::map(&file) }.with_context(|| {
                    format!("cannot read input file {}", p.display())
                })?)
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

/// Parses `data` (a CSV file's bytes) for the wanted columns.
pub fn parse(data: Input, source: String, wanted: &Wanted) -> anyhow::Result<Parsed> {
    let start = if data.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
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
    let find = |name: &String| -> anyhow::Result<usize> {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            anyhow::anyhow!(
                "{source}: line 1: there is no column '{name}'; the columns are: {}",
                headers.join(", ")
            )
        })
    };
    let numeric_idx: Vec<usize> = wanted.numeric.iter().map(find).collect::<Result<_, _>>()?;
    let key_idx: Vec<Vec<usize>> = wanted
        .keys
        .iter()
        .map(|set| set.iter().map(find).collect::<Result<Vec<_>, _>>())
        .collect::<Result<_, _>>()?;
    let spec = Spec {
        n_fields: headers.len(),
        numeric: numeric_idx,
        keys: key_idx,
        keep_rows: wanted.keep_rows,
    };
    let blocks = if quoted {
        vec![parse_quoted(&data, start, &spec)]
    } else {
        let body_start = start + first_line_end(&data[start..]);
        let ranges = split_lines(&data, body_start, rayon::current_num_threads().max(1));
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
    let mut dicts: Vec<FxHashMap<Vec<u8>, u32>> = vec![FxHashMap::default(); spec.keys.len()];
    for block in blocks {
        let block = match block {
            Ok(b) => b,
            Err(BlockError { row, col, message }) => {
                parsed.data = data;
                let row = parsed.n_rows + row;
                return Err(parsed.error_at(row, col, message).into());
            }
        };
        for (k, (ids, values)) in block.keys.into_iter().enumerate() {
            let dict = &mut dicts[k];
            let global = &mut parsed.keys[k];
            if global.values.is_empty() {
                // The first block's ids are already in first-appearance order.
                for (id, v) in values.iter().enumerate() {
                    dict.insert(v.clone(), id as u32);
                }
                global.values = values;
                global.ids = ids;
                continue;
            }
            let map: Vec<u32> = values
                .into_iter()
                .map(|v| match dict.get(&v) {
                    Some(&id) => id,
                    None => {
                        let id = global.values.len() as u32;
                        dict.insert(v.clone(), id);
                        global.values.push(v);
                        id
                    }
                })
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
        if keys.values.is_empty() && parsed.n_rows > 0 {
            keys.values.push(Vec::new());
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
    keys: Vec<(Vec<u32>, Vec<Vec<u8>>)>,
    rows: Vec<(usize, usize)>,
    n_rows: usize,
}

struct BlockError {
    row: usize,
    col: usize,
    message: String,
}

/// Splits `data[start..]` into about `parts` ranges ending at line boundaries.
fn split_lines(data: &[u8], start: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let len = data.len() - start;
    let mut ranges = Vec::new();
    let mut from = start;
    for p in 1..parts {
        let target = start + len * p / parts;
        if target <= from {
            continue;
        }
        let cut = memchr::memchr(b'\n', &data[target..]).map_or(data.len(), |e| target + e + 1);
        ranges.push(from..cut);
        from = cut;
    }
    ranges.push(from..data.len());
    ranges
}

/// Keys of the quoted path, where fields are not spans of the input.
struct KeyBuilder {
    ids: Vec<u32>,
    values: Vec<Vec<u8>>,
    index: FxHashMap<Vec<u8>, u32>,
    scratch: Vec<u8>,
    last: Option<u32>,
}

impl KeyBuilder {
    fn new(capacity: usize) -> Self {
        KeyBuilder {
            ids: Vec::with_capacity(capacity),
            values: Vec::new(),
            index: FxHashMap::default(),
            scratch: Vec::new(),
            last: None,
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
        // Rows of a group usually come together: try the previous key first.
        if let Some(last) = self.last {
            if self.values[last as usize] == self.scratch {
                self.ids.push(last);
                return;
            }
        }
        let id = match self.index.get(self.scratch.as_slice()) {
            Some(&id) => id,
            None => {
                let id = self.values.len() as u32;
                self.values.push(self.scratch.clone());
                self.index.insert(self.scratch.clone(), id);
                id
            }
        };
        self.last = Some(id);
        self.ids.push(id);
    }
}

/// Keys of the fast path: fields are spans of the input, so a single-column key is
/// looked up without copying and a repeat of the previous row's key without hashing.
struct SpanKeys<'a> {
    data: &'a [u8],
    cols: Vec<usize>,
    ids: Vec<u32>,
    values: Vec<Vec<u8>>,
    single: FxHashMap<&'a [u8], u32>,
    joined: FxHashMap<Vec<u8>, u32>,
    scratch: Vec<u8>,
    /// The previous row's id and key field spans (reused, not reallocated).
    last: Option<u32>,
    last_spans: Vec<(usize, usize)>,
}

impl<'a> SpanKeys<'a> {
    fn new(data: &'a [u8], cols: Vec<usize>, capacity: usize) -> Self {
        SpanKeys {
            data,
            cols,
            ids: Vec::with_capacity(capacity),
            values: Vec::new(),
            single: FxHashMap::default(),
            joined: FxHashMap::default(),
            scratch: Vec::new(),
            last: None,
            last_spans: Vec::new(),
        }
    }

    fn push(&mut self, fields: &[(usize, usize)]) {
        let data = self.data;
        if let Some(id) = self.last {
            if self
                .cols
                .iter()
                .zip(&self.last_spans)
                .all(|(&c, &(s, e))| data[fields[c].0..fields[c].1] == data[s..e])
            {
                self.ids.push(id);
                return;
            }
        }
        let id = if self.cols.len() == 1 {
            let (s, e) = fields[self.cols[0]];
            let key = &data[s..e];
            let next = self.values.len() as u32;
            *self.single.entry(key).or_insert_with(|| {
                self.values.push(key.to_vec());
                next
            })
        } else {
            self.scratch.clear();
            for (i, &c) in self.cols.iter().enumerate() {
                if i > 0 {
                    self.scratch.push(SEP);
                }
                self.scratch.extend_from_slice(&data[fields[c].0..fields[c].1]);
            }
            match self.joined.get(self.scratch.as_slice()) {
                Some(&id) => id,
                None => {
                    let id = self.values.len() as u32;
                    self.values.push(self.scratch.clone());
                    self.joined.insert(self.scratch.clone(), id);
                    id
                }
            }
        };
        self.last_spans.clear();
        self.last_spans.extend(self.cols.iter().map(|&c| fields[c]));
        self.last = Some(id);
        self.ids.push(id);
    }
}

fn parse_block(data: &[u8], range: std::ops::Range<usize>, spec: &Spec) -> Result<Block, BlockError> {
    // Exact capacity: one row per line (blank lines are few).
    let capacity = memchr::memchr_iter(b'\n', &data[range.clone()]).count() + 1;
    let mut numeric: Vec<Vec<Option<f64>>> =
        spec.numeric.iter().map(|_| Vec::with_capacity(capacity)).collect();
    let mut keys: Vec<SpanKeys<'_>> = spec
        .keys
        .iter()
        .map(|cols| SpanKeys::new(data, cols.clone(), capacity))
        .collect();
    let mut rows = Vec::with_capacity(if spec.keep_rows { capacity } else { 0 });
    let mut fields: Vec<(usize, usize)> = Vec::with_capacity(spec.n_fields + 1);
    let mut pos = range.start;
    let mut n_rows = 0;
    while pos < range.end {
        let end = memchr::memchr(b'\n', &data[pos..range.end]).map_or(range.end, |e| pos + e);
        let mut line_end = end;
        if line_end > pos && data[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line_start = pos;
        pos = end + 1;
        if line_end == line_start {
            continue;
        }
        fields.clear();
        let mut f = line_start;
        for (k, &b) in data[line_start..line_end].iter().enumerate() {
            if b == b',' {
                fields.push((f, line_start + k));
                f = line_start + k + 1;
            }
        }
        fields.push((f, line_end));
        if fields.len() != spec.n_fields {
            return Err(BlockError {
                row: n_rows,
                col: fields.len().min(spec.n_fields).saturating_sub(1),
                message: format!(
                    "this row has {} fields but the header has {}; every row needs one value (or an empty cell) per column",
                    fields.len(),
                    spec.n_fields
                ),
            });
        }
        for (out, &col) in numeric.iter_mut().zip(&spec.numeric) {
            let (s, e) = fields[col];
            match parse_number(&data[s..e]) {
                Ok(v) => out.push(v),
                Err(()) => {
                    return Err(BlockError {
                        row: n_rows,
                        col,
                        message: not_a_number(&data[s..e]),
                    })
                }
            }
        }
        for k in keys.iter_mut() {
            k.push(&fields);
        }
        if spec.keep_rows {
            rows.push((line_start, line_end));
        }
        n_rows += 1;
    }
    Ok(Block {
        numeric,
        keys: keys.into_iter().map(|k| (k.ids, k.values)).collect(),
        rows,
        n_rows,
    })
}

fn parse_quoted(data: &[u8], offset: usize, spec: &Spec) -> Result<Block, BlockError> {
    let data_all = data;
    let data = &data[offset..];
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(data);
    let mut numeric: Vec<Vec<Option<f64>>> = spec.numeric.iter().map(|_| Vec::new()).collect();
    let mut keys: Vec<KeyBuilder> = spec.keys.iter().map(|_| KeyBuilder::new(0)).collect();
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
        if record.len() == 1 && record[0].is_empty() {
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
            debug_assert!(offset + start + text.len() <= data_all.len());
        }
        n_rows += 1;
    }
    Ok(Block {
        numeric,
        keys: keys.into_iter().map(|k| (k.ids, k.values)).collect(),
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
    if text.len() <= 15 && text.iter().all(u8::is_ascii_digit) {
        let mut v: u64 = 0;
        for &b in text {
            v = v * 10 + u64::from(b - b'0');
        }
        return Ok(Some(v as f64));
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

/// Appends a CSV field, quoting it if it needs it.
pub fn push_field(out: &mut Vec<u8>, text: &[u8]) {
    if text.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in text {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text);
    }
}

/// Appends a number at full precision (the shortest text that reads back as the same
/// `f64`), or nothing for a missing value.
pub fn push_number(out: &mut Vec<u8>, v: Option<f64>) {
    if let Some(v) = v {
        let mut buf = ryu::Buffer::new();
        let text = buf.format_finite(v);
        out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
    }
}

/// Where output goes: a file written whole or not at all, or standard output.
pub fn write_output(path: Option<&Path>, chunks: &[Vec<u8>]) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        Some(p) if p != Path::new("-") => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let tmp = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("cannot create a file in {}", dir.display()))?;
            write_blocks(tmp.as_file(), chunks)
                .with_context(|| format!("cannot write {}", p.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // Readable like any file the user writes (a temporary file is 0600).
                let _ = tmp
                    .as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644));
            }
            tmp.persist(p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            Ok(())
        }
        _ => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            for c in chunks {
                lock.write_all(c).context("cannot write to standard output")?;
            }
            lock.flush().context("cannot write to standard output")
        }
    }
}

/// Writes the blocks at their offsets from parallel threads, so that the kernel's
/// copying into the page cache is shared between cores.
#[cfg(unix)]
fn write_blocks(file: &std::fs::File, chunks: &[Vec<u8>]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut offsets = Vec::with_capacity(chunks.len());
    let mut total = 0u64;
    for c in chunks {
        offsets.push(total);
        total += c.len() as u64;
    }
    file.set_len(total)?;
    chunks
        .par_iter()
        .zip(offsets)
        .try_for_each(|(c, at)| file.write_all_at(c, at))
}

#[cfg(not(unix))]
fn write_blocks(mut file: &std::fs::File, chunks: &[Vec<u8>]) -> std::io::Result<()> {
    use std::io::Write;
    for c in chunks {
        file.write_all(c)?;
    }
    Ok(())
}

/// Formats `n` output rows in parallel blocks; `row(i, buf)` appends row `i` (without
/// the newline).
pub fn format_rows<F>(header: &[String], n: usize, row: F) -> Vec<Vec<u8>>
where
    F: Fn(usize, &mut Vec<u8>) + Sync,
{
    let mut head = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if i > 0 {
            head.push(b',');
        }
        push_field(&mut head, h.as_bytes());
    }
    head.push(b'\n');
    const BLOCK: usize = 64 * 1024;
    let mut blocks: Vec<Vec<u8>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut out = Vec::with_capacity(BLOCK * 64);
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                row(i, &mut out);
                out.push(b'\n');
            }
            out
        })
        .collect();
    blocks.insert(0, head);
    blocks
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
    fn errors_name_line_and_column() {
        let data = b"g,x\na,1\n\nb,oops\n".to_vec();
        let wanted = Wanted {
            numeric: vec!["x".into()],
            ..Wanted::default()
        };
        let err = parse(Input::Owned(data), "in.csv".into(), &wanted).err().unwrap().to_string();
        assert!(err.contains("in.csv: line 4, column 2 ('x')"), "{err}");
    }
}
