//! Writing results: CSV fields and numbers, the non-finite note, and the sink a
//! table goes to (a file replaced whole, Parquet, or streamed standard output).

use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;

use super::is_parquet;

/// Appends a CSV field, quoting it if it needs it.
pub fn push_field(out: &mut Vec<u8>, text: &[u8]) {
    if text
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
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
/// An infinite or NaN result is written blank, and remembered (per thread) until
/// the row's note is written ([`take_non_finite`]), which then says why.
pub fn push_number(out: &mut Vec<u8>, v: Option<f64>) {
    if let Some(v) = v {
        if !v.is_finite() {
            NON_FINITE.set(true);
            return;
        }
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(v);
        out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
    }
}

thread_local! {
    static NON_FINITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a number written on this thread since the last call was infinite or NaN
/// (and so left blank); clears the mark.
pub fn take_non_finite() -> bool {
    NON_FINITE.replace(false)
}

/// The note of a row with a result left blank because it was not a finite number.
pub const NON_FINITE_NOTE: &str =
    "a result was not a finite number (infinite or undefined) and is left blank";

/// Where output goes: a file written whole or not at all (a temporary file beside it,
/// renamed over it on [`Sink::commit`] and removed if dropped before), or standard
/// output, streamed as it is written (memory stays flat however long the output;
/// a run that fails part-way has printed part of a table and exits non-zero).
pub enum Sink {
    File {
        tmp: std::io::BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
    },
    /// A `.parquet` output: the CSV text is held and converted on commit.
    Parquet {
        held: Vec<u8>,
        path: PathBuf,
    },
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

/// Writes `bytes` to `path` whole or not at all: a temporary file (0600) beside it,
/// synced and renamed over it; on failure the temporary file is removed and the
/// message names `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = folder_of(path);
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).with_context(|| {
        format!(
            "cannot write {}: cannot create a file in {}",
            path.display(),
            dir.display()
        )
    })?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The folder a file will be written in.
pub fn folder_of(p: &Path) -> PathBuf {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

impl Sink {
    /// A sink for `path`, or standard output for `None` or `-`.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Sink> {
        match path {
            Some(p) if is_parquet(p) => {
                let dir = folder_of(p);
                anyhow::ensure!(
                    dir.is_dir(),
                    "cannot write {}: no folder {}",
                    p.display(),
                    dir.display()
                );
                Ok(Sink::Parquet {
                    held: Vec::new(),
                    path: p.to_path_buf(),
                })
            }
            Some(p) if p != Path::new("-") => {
                let dir = folder_of(p);
                let tmp = tempfile::NamedTempFile::new_in(&dir)
                    .with_context(|| format!("cannot create a file in {}", dir.display()))?;
                Ok(Sink::File {
                    // Small, so that the large buffers the methods write go
                    // straight to the file instead of being copied through it.
                    tmp: std::io::BufWriter::with_capacity(64 << 10, tmp),
                    path: p.to_path_buf(),
                })
            }
            _ => Ok(Sink::Stdout(std::io::BufWriter::with_capacity(
                256 << 10,
                std::io::stdout(),
            ))),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        use std::io::Write;
        match self {
            Sink::File { tmp, path } => tmp
                .write_all(bytes)
                .with_context(|| format!("cannot write {}", path.display())),
            Sink::Stdout(out) => out
                .write_all(bytes)
                .context("cannot write to standard output"),
            Sink::Parquet { held, .. } => {
                held.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Finishes the output: renames the file into place, or prints what was held.
    pub fn commit(self) -> anyhow::Result<()> {
        use std::io::Write;
        match self {
            Sink::File { tmp, path } => {
                let tmp = tmp.into_inner().map_err(|e| {
                    anyhow::anyhow!("cannot write {}: {}", path.display(), e.error())
                })?;
                set_readable(tmp.as_file());
                tmp.persist(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(())
            }
            Sink::Parquet { held, path } => {
                let tmp = tempfile::NamedTempFile::new_in(folder_of(&path))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                syndemic_parquet::csv_to_parquet(&held, tmp.path())?;
                set_readable(tmp.as_file());
                tmp.persist(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(())
            }
            Sink::Stdout(mut out) => out.flush().context("cannot write to standard output"),
        }
    }
}

/// Makes a finished output readable like any file the user writes (a temporary file
/// is created 0600).
fn set_readable(file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Appends a header line.
pub fn push_header(out: &mut Vec<u8>, header: &[String]) {
    for (i, h) in header.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_field(out, h.as_bytes());
    }
    out.push(b'\n');
}

/// Formats `n` output rows in parallel blocks; `row(i, buf)` appends row `i` (without
/// the newline).
pub fn format_rows<F>(header: &[String], n: usize, row: F) -> Vec<Vec<u8>>
where
    F: Fn(usize, &mut Vec<u8>) + Sync,
{
    let mut head = Vec::new();
    push_header(&mut head, header);
    const BLOCK: usize = 64 * 1024;
    let mut blocks: Vec<Vec<u8>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut out = Vec::with_capacity(BLOCK * 64);
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                // A mark left by a row whose method writes no note must not move on.
                take_non_finite();
                row(i, &mut out);
                out.push(b'\n');
            }
            out
        })
        .collect();
    blocks.insert(0, head);
    blocks
}
