//! Parquet files for `syndemic calc`, converted to and from CSV text so that one
//! parser and one writer serve both formats.
//!
//! Reading: every column becomes text, numbers at full precision (the shortest text
//! that reads back as the same number), nulls as empty cells. Writing: a column whose
//! non-empty cells are all whole numbers becomes `Int64`, all numbers `Float64`,
//! anything else `Utf8`; empty cells become nulls.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

/// A Parquet file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

fn err(path: &Path, message: impl std::fmt::Display) -> ParquetError {
    ParquetError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Reads a Parquet file as CSV text with a header row.
pub fn parquet_to_csv(path: &Path) -> Result<Vec<u8>, ParquetError> {
    parquet_to_csv_into(path, Vec::new())
}

/// Writes a Parquet file as CSV text with a header row to `out`, one record batch
/// at a time (memory stays that of a batch, whatever the file's size); returns the
/// writer.
pub fn parquet_to_csv_into<W: std::io::Write>(path: &Path, out: W) -> Result<W, ParquetError> {
    let file = File::open(path).map_err(|e| err(path, format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(path, format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let reader = builder
        .build()
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    let mut out = csv::Writer::from_writer(out);
    out.write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(|e| err(path, e))?;
    let mut record: Vec<String> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(path, format!("cannot read: {e}")))?;
        let columns: Vec<Column> = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| Column::new(c, f.name()))
            .collect::<Result<_, String>>()
            .map_err(|e| err(path, e))?;
        for row in 0..batch.num_rows() {
            record.clear();
            record.extend(columns.iter().map(|c| c.text(row)));
            out.write_record(&record).map_err(|e| err(path, e))?;
        }
    }
    out.into_inner().map_err(|e| err(path, e.error()))
}

/// A column ready to be written as text.
enum Column {
    F64(Float64Array),
    F32(Float32Array),
    Text(StringArray),
}

impl Column {
    fn new(array: &ArrayRef, name: &str) -> Result<Column, String> {
        Ok(match array.data_type() {
            DataType::Float64 => Column::F64(
                array
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .cloned()
                    .ok_or("Float64")?,
            ),
            DataType::Float32 => Column::F32(
                array
                    .as_any()
                    .downcast_ref::<Float32Array>()
                    .cloned()
                    .ok_or("Float32")?,
            ),
            _ => {
                let text = arrow_cast::cast(array, &DataType::Utf8).map_err(|e| {
                    format!(
                        "column '{name}' of type {} cannot be read as text: {e}",
                        array.data_type()
                    )
                })?;
                Column::Text(
                    text.as_any()
                        .downcast_ref::<StringArray>()
                        .cloned()
                        .ok_or("Utf8")?,
                )
            }
        })
    }

    fn text(&self, row: usize) -> String {
        let mut buf = zmij::Buffer::new();
        match self {
            Column::F64(a) if a.is_valid(row) => shortest(buf.format(a.value(row))),
            Column::F32(a) if a.is_valid(row) => shortest(buf.format(a.value(row))),
            Column::Text(a) if a.is_valid(row) => a.value(row).to_string(),
            _ => String::new(),
        }
    }
}

fn shortest(text: &str) -> String {
    text.strip_suffix(".0").unwrap_or(text).to_string()
}

/// The type a column of text cells is written as.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Text,
}

fn kind_of(cell: &str) -> Option<Kind> {
    let cell = cell.trim();
    if cell.is_empty() || cell == "NA" {
        None
    } else if cell.parse::<i64>().is_ok() {
        Some(Kind::Int)
    } else if cell.parse::<f64>().is_ok_and(f64::is_finite)
        && cell
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        Some(Kind::Float)
    } else {
        Some(Kind::Text)
    }
}

/// Writes CSV text (header row first) as a Parquet file at `path`.
pub fn csv_to_parquet(csv_text: &[u8], path: &Path) -> Result<(), ParquetError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(csv_text);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| err(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
    for record in reader.records() {
        let record = record.map_err(|e| err(path, e))?;
        for (col, cell) in cells.iter_mut().zip(record.iter()) {
            col.push(cell.to_string());
        }
    }
    let mut fields = Vec::with_capacity(headers.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(headers.len());
    for (name, col) in headers.iter().zip(&cells) {
        let kind = col.iter().filter_map(|c| kind_of(c)).fold(None, |acc, k| {
            Some(match (acc, k) {
                (None, k) => k,
                (Some(Kind::Text), _) | (_, Kind::Text) => Kind::Text,
                (Some(Kind::Float), _) | (_, Kind::Float) => Kind::Float,
                _ => Kind::Int,
            })
        });
        let missing = |c: &String| c.trim().is_empty() || c.trim() == "NA";
        let (dtype, array): (DataType, ArrayRef) = match kind.unwrap_or(Kind::Text) {
            Kind::Int => (
                DataType::Int64,
                Arc::new(Int64Array::from_iter(
                    col.iter()
                        .map(|c| (!missing(c)).then(|| c.trim().parse().unwrap_or(0))),
                )),
            ),
            Kind::Float => (
                DataType::Float64,
                Arc::new(Float64Array::from_iter(col.iter().map(|c| {
                    (!missing(c)).then(|| c.trim().parse().unwrap_or(f64::NAN))
                }))),
            ),
            Kind::Text => (
                DataType::Utf8,
                Arc::new(StringArray::from_iter(
                    col.iter().map(|c| (!c.is_empty()).then_some(c.as_str())),
                )),
            ),
        };
        fields.push(Field::new(name, dtype, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| err(path, e))?;
    let file = File::create(path).map_err(|e| err(path, format!("cannot create: {e}")))?;
    let mut writer = ArrowWriter::try_new(file, schema, None).map_err(|e| err(path, e))?;
    writer.write(&batch).map_err(|e| err(path, e))?;
    writer.close().map_err(|e| err(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_survives_a_round_trip_through_parquet() {
        let csv_text = "area,year,value,note\nE01000001,2019,0.1234567890123,\n\"Area, with comma\",2020,,missing input\nE01000003,2021,1e-7,\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        csv_to_parquet(csv_text.as_bytes(), &path).unwrap();
        let back = String::from_utf8(parquet_to_csv(&path).unwrap()).unwrap();
        assert_eq!(
            back,
            "area,year,value,note\nE01000001,2019,0.1234567890123,\n\"Area, with comma\",2020,,missing input\nE01000003,2021,1e-7,\n"
        );
    }

    #[test]
    fn a_file_that_is_not_parquet_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.parquet");
        std::fs::write(&path, "area,x\nA,1\n").unwrap();
        let e = parquet_to_csv(&path).unwrap_err().to_string();
        assert!(
            e.contains("bad.parquet") && e.contains("not a readable Parquet file"),
            "{e}"
        );
    }
}
