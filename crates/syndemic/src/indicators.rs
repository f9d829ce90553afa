//! `syndemic indicators`: list, show, describe and import what each indicator is —
//! name, definition, unit, value type, polarity, domain, source, interval method,
//! year type — and its small-number rule.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use syndemic_import::{
    import_indicator_metadata, judge_against_england, read_fingertips_metadata,
    read_metadata_table, read_polarity,
};
use syndemic_partnership::layout::Sheet;
use syndemic_store::{Disclosure, Indicator, Store};

use crate::evidence::{open, runtime, DbArgs};

#[derive(Args)]
pub struct IndicatorsArgs {
    #[command(subcommand)]
    command: IndicatorsCommand,
}

#[derive(Subcommand)]
enum IndicatorsCommand {
    /// Every indicator in the store: id, name, unit, polarity, disclosure rule.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Everything the store says about one indicator.
    Show {
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Describe an indicator; only the fields given change.
    Set(Box<SetArgs>),
    /// Import metadata: the Fingertips API's indicator metadata JSON as served, or
    /// a CSV or XLSX with an id column and any of name, definition, unit, value
    /// type, polarity, domain, source, ci method, year type, disclosure, multiplier.
    Import {
        file: PathBuf,
        /// Also add indicators the store does not hold yet (by default only the
        /// store's own indicators are described).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args)]
struct SetArgs {
    id: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    definition: Option<String>,
    /// e.g. `%`, `per 100,000`, `years`.
    #[arg(long)]
    unit: Option<String>,
    /// e.g. `Directly standardised rate`, `Proportion`, `Life expectancy`.
    #[arg(long)]
    value_type: Option<String>,
    /// higher-is-better, lower-is-better or no-judgement.
    #[arg(long)]
    polarity: Option<String>,
    /// The policy objective it is grouped under (e.g. a Marmot objective).
    #[arg(long)]
    domain: Option<String>,
    #[arg(long)]
    source: Option<String>,
    /// How its confidence intervals are computed.
    #[arg(long)]
    ci_method: Option<String>,
    /// Calendar, Financial, Academic…
    #[arg(long)]
    year_type: Option<String>,
    /// Counts to withhold, as MIN-MAX (default 1-4), or `none` to publish every count.
    #[arg(long, value_name = "1-4|none")]
    disclosure: Option<String>,
    #[command(flatten)]
    db: DbArgs,
}

pub fn run(args: &IndicatorsArgs) -> Result<()> {
    runtime()?.block_on(async {
        match &args.command {
            IndicatorsCommand::List { db } => {
                let store = open(db).await?;
                let indicators = store.indicators().await?;
                store.close().await;
                list(&indicators, &mut std::io::stdout().lock())?;
            }
            IndicatorsCommand::Show { id, db } => {
                let store = open(db).await?;
                let found = store.indicator(id).await?;
                let runs = store.compute_runs(id).await;
                store.close().await;
                let Some(i) = found else {
                    bail!("no indicator `{id}` in the store: `syndemic indicators list` shows them");
                };
                let mut out = std::io::stdout().lock();
                show(&i, &mut out)?;
                // A computed indicator: how, and what it covered.
                if let Some(run) = runs?.last() {
                    writeln!(out, "  Computed: {}", run.method)?;
                    if !run.coverage.is_empty() {
                        writeln!(out, "  Coverage: {}", run.coverage)?;
                    }
                }
            }
            IndicatorsCommand::Set(set) => {
                let store = open(&set.db).await?;
                let Some(mut i) = store.indicator(&set.id).await? else {
                    bail!(
                        "no indicator `{}` in the store: import or compute it first",
                        set.id
                    );
                };
                apply(&mut i, set)?;
                let mut tx = store.begin().await?;
                tx.put_indicator(&i).await?;
                tx.commit().await?;
                let judged = if set.polarity.is_some() {
                    judge_against_england(&store, &i).await
                } else {
                    Ok(0)
                };
                store.close().await;
                let judged = judged?;
                show(&i, &mut std::io::stdout().lock())?;
                if judged > 0 {
                    eprintln!("{judged} values compared with England afresh by the polarity");
                }
            }
            IndicatorsCommand::Import { file, all, db } => {
                let name = file.display().to_string();
                let described = if is_json(file)? {
                    read_fingertips_metadata(file)?
                } else {
                    let bytes = std::fs::read(file)
                        .with_context(|| format!("{name}: cannot read the file"))?;
                    let sheet = Sheet::read(&name, &bytes)?;
                    read_metadata_table(&name, sheet.header_line as u64, &sheet.header, &sheet.rows)?
                };
                let store = open(db).await?;
                let result = import_indicator_metadata(&store, &name, described, *all).await;
                store.close().await;
                let s = result?;
                eprintln!(
                    "{name}: {} indicators described; {} in the store updated ({} values compared with England by their polarity){}",
                    s.described,
                    s.updated,
                    s.judged,
                    if *all {
                        format!(", {} added", s.added)
                    } else {
                        format!(
                            ", {} not in the store left out (--all adds them)",
                            s.not_in_store
                        )
                    }
                );
            }
        }
        Ok(())
    })
}

fn is_json(path: &std::path::Path) -> Result<bool> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return Ok(true);
    }
    let mut head = [0u8; 64];
    let n = std::io::Read::read(
        &mut std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open the file", path.display()))?,
        &mut head,
    )?;
    Ok(matches!(
        head[..n].iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    ))
}

fn apply(i: &mut Indicator, set: &SetArgs) -> Result<()> {
    let given = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_owned());
    if let Some(name) = given(&set.name) {
        if name.is_empty() {
            bail!("--name: an indicator needs a name");
        }
        i.name = name;
    }
    for (field, value) in [
        (&mut i.definition, &set.definition),
        (&mut i.unit, &set.unit),
        (&mut i.value_type, &set.value_type),
        (&mut i.domain, &set.domain),
        (&mut i.source, &set.source),
        (&mut i.ci_method, &set.ci_method),
        (&mut i.year_type, &set.year_type),
    ] {
        if let Some(v) = given(value) {
            *field = Some(v);
        }
    }
    if let Some(p) = &set.polarity {
        i.polarity = Some(read_polarity(p).with_context(|| {
            format!("--polarity {p}: write higher-is-better, lower-is-better or no-judgement")
        })?);
    }
    if let Some(d) = &set.disclosure {
        i.disclosure =
            Some(Disclosure::parse(d).map_err(|e| anyhow::anyhow!("--disclosure: {e}"))?);
    }
    Ok(())
}

fn rule(i: &Indicator) -> String {
    match (i.disclosure, i.disclosure_rule()) {
        (None, Some(r)) => format!("{r} (the default)"),
        (_, Some(r)) => r.to_string(),
        (_, None) => Disclosure::NONE.to_string(),
    }
}

fn list(indicators: &[Indicator], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "id\tname\tunit\tpolarity\tdisclosure")?;
    for i in indicators {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            i.id,
            i.name,
            i.unit.as_deref().unwrap_or("-"),
            i.polarity.map_or("-", |p| p.key()),
            rule(i)
        )?;
    }
    Ok(())
}

fn show(i: &Indicator, out: &mut dyn Write) -> std::io::Result<()> {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not given)".into());
    writeln!(out, "{} — {}", i.id, i.name)?;
    writeln!(out, "  Definition: {}", or_none(&i.definition))?;
    writeln!(out, "  Unit: {}", or_none(&i.unit))?;
    writeln!(out, "  Value type: {}", or_none(&i.value_type))?;
    writeln!(
        out,
        "  Polarity: {}",
        i.polarity
            .map_or("(not given: values are not judged)", |p| p.key())
    )?;
    writeln!(out, "  Domain: {}", or_none(&i.domain))?;
    writeln!(out, "  Source: {}", or_none(&i.source))?;
    writeln!(out, "  Confidence intervals: {}", or_none(&i.ci_method))?;
    writeln!(out, "  Year type: {}", or_none(&i.year_type))?;
    if let Some(m) = i.multiplier {
        writeln!(out, "  Multiplier: {m}")?;
    }
    writeln!(out, "  Disclosure: {}", rule(i))
}
