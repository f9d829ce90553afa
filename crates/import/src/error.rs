use std::fmt;

/// An import or export that could not be done: what, where, and how to fix it.
#[derive(Debug)]
pub struct ImportError {
    pub file: String,
    /// 1-based line of the file (the header is line 1).
    pub line: Option<u64>,
    /// The column's header name.
    pub column: Option<String>,
    pub problem: String,
}

impl ImportError {
    pub fn file(file: &str, problem: impl Into<String>) -> ImportError {
        ImportError {
            file: file.to_owned(),
            line: None,
            column: None,
            problem: problem.into(),
        }
    }

    pub fn at(
        file: &str,
        line: u64,
        column: Option<&str>,
        problem: impl Into<String>,
    ) -> ImportError {
        ImportError {
            file: file.to_owned(),
            line: Some(line),
            column: column.map(str::to_owned),
            problem: problem.into(),
        }
    }

    pub(crate) fn store(file: &str, error: syndemic_store::StoreError) -> ImportError {
        ImportError::file(file, format!("{error}; nothing from this file was kept"))
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for ImportError {}
