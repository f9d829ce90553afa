//! `syndemic community`: a community defines its place (a named set of small
//! areas, from a list of LSOA codes, ward codes and postcodes) and lists the
//! places held.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use syndemic_model::date::unix_now as now;
use syndemic_model::AreaCode;
use syndemic_store::hub::AuditEntry;
use syndemic_store::partnership::Removal;
use syndemic_store::prelude::*;
use syndemic_voice::{define_place, PlaceDefinition};

use crate::evidence::{open, runtime, DbArgs};

#[derive(Args)]
pub struct CommunityArgs {
    #[command(subcommand)]
    command: CommunityCommand,
}

#[derive(Subcommand)]
enum CommunityCommand {
    /// Define a community place: a name and a list of its small areas (LSOA
    /// codes), wards (all their small areas) or postcodes (their small area),
    /// one per line, all within `--place`. Nothing is kept unless every entry
    /// can be used; every problem is listed by line. Its values appear at the
    /// next `syndemic compute` of each indicator and `syndemic survey compute`.
    Define {
        /// Its name, as its residents call it.
        #[arg(long)]
        name: String,
        /// The list file (text or CSV, one entry per line).
        #[arg(long)]
        areas: PathBuf,
        /// The area it must lie in, by code (the partnership's place).
        #[arg(long)]
        place: String,
        /// What it is, in the community's words.
        #[arg(long, default_value = "")]
        description: String,
        /// The partnership defining it, by id.
        #[arg(long)]
        partnership: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a community place defined by mistake: its small areas and every
    /// value computed or published for it go; its code is never given again.
    /// Refused while a commitment is measured on it or a survey or partnership
    /// covers it.
    Remove {
        /// Its code (E99…).
        code: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The community places held, with their small areas and the area each lies within.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Record community assets from a sheet (CSV or XLSX; loose headers): name,
    /// kind (community-group, meeting-place, green-space, business, faith,
    /// sport-and-leisure — or their names), run by, description, postcode,
    /// latitude and longitude (or a postcode in the directory), url. They join
    /// the directory as Open Referral UK services of the asset taxonomy; nothing
    /// is kept unless every row can be, every problem listed by line and column.
    Assets {
        /// The sheet.
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(args: &CommunityArgs) -> Result<()> {
    runtime()?.block_on(async {
        match &args.command {
            CommunityCommand::Define {
                name,
                areas,
                place,
                description,
                partnership,
                db,
            } => {
                let list = std::fs::read_to_string(areas)
                    .with_context(|| format!("cannot read {}", areas.display()))?;
                let place =
                    AreaCode::parse(place).map_err(|e| anyhow::anyhow!("--place {place}: {e}"))?;
                let store = open(db).await?;
                let audit = AuditEntry {
                    at: now(),
                    actor: "command line".into(),
                    org: String::new(),
                    action: "create".into(),
                    subject: "community place".into(),
                    record: String::new(),
                    reason: name.clone(),
                };
                let definition = PlaceDefinition {
                    name,
                    description,
                    list: &list,
                    chosen_by: "list",
                    place,
                    partnership_id: partnership.as_deref(),
                };
                let result = define_place(&store, &definition, &audit, now()).await;
                store.close().await;
                match result {
                    Ok(code) => {
                        println!("defined community place {code} ({name})");
                        Ok(())
                    }
                    Err(syndemic_voice::VoiceError::Community(problems)) => bail!(
                        "{}: the community place was not kept; fix:\n  {}",
                        areas.display(),
                        problems.join("\n  ")
                    ),
                    Err(e) => Err(e.into()),
                }
            }
            CommunityCommand::Assets { file, db } => assets(file, db).await,
            CommunityCommand::Remove { code, db } => {
                let parsed = AreaCode::parse(code).map_err(|e| anyhow::anyhow!("{code}: {e}"))?;
                if parsed.area_type() != syndemic_model::AreaType::Community {
                    bail!("{code} is not a community place's code (E99…)");
                }
                let store = open(db).await?;
                let audit = AuditEntry {
                    at: now(),
                    actor: "command line".into(),
                    org: String::new(),
                    action: "erase".into(),
                    subject: "community place".into(),
                    record: String::new(),
                    reason: "removed".into(),
                };
                let result = store.remove_place(parsed, &audit).await;
                store.close().await;
                match result? {
                    Removal::Removed => {
                        println!("removed community place {parsed}");
                        Ok(())
                    }
                    Removal::NotFound => bail!("{parsed}: no such community place"),
                    Removal::InUse(what) => {
                        bail!("{parsed} was not removed: {what}; change that first")
                    }
                }
            }
            CommunityCommand::List { db } => {
                let store = open(db).await?;
                let places = store.community_places().await?;
                store.close().await;
                if places.is_empty() {
                    println!("no community places: define one with `syndemic community define`");
                }
                for p in places {
                    println!(
                        "{}\t{}\t{} small areas\twithin {}\tchosen by {}",
                        p.code,
                        p.name,
                        p.areas.len(),
                        p.within,
                        p.chosen_by
                    );
                }
                Ok(())
            }
        }
    })
}

/// The sheet's headings each column may have, by field.
const ASSET_COLUMNS: [(&str, &[&str]); 8] = [
    ("name", &["name", "asset", "asset name"]),
    ("kind", &["kind", "type", "category"]),
    (
        "organisation",
        &["run by", "organisation", "organization", "owner", "group"],
    ),
    ("description", &["description", "what it offers", "offer"]),
    ("postcode", &["postcode", "post code"]),
    ("latitude", &["latitude", "lat"]),
    ("longitude", &["longitude", "lon", "long", "lng"]),
    ("url", &["url", "website", "web"]),
];

async fn assets(file: &PathBuf, db: &DbArgs) -> Result<()> {
    use syndemic_hub::assets::{to_feed, Asset, KINDS};
    use syndemic_partnership::layout::{column_letter, LayoutError, Problem, Sheet, MAX_PROBLEMS};

    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let sheet = Sheet::read(&name, &bytes)?;
    let column = |field: &str| -> Option<usize> {
        let names = ASSET_COLUMNS.iter().find(|c| c.0 == field)?.1;
        sheet
            .header
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let mut problems: Vec<Problem> = Vec::new();
    for required in ["name", "kind", "organisation"] {
        if column(required).is_none() {
            problems.push(Problem {
                line: sheet.header_line,
                column: None,
                field: required.into(),
                message: format!("no `{required}` column: the sheet needs name, kind and run by"),
            });
        }
    }
    if !problems.is_empty() {
        return Err(LayoutError {
            file: name,
            problems,
            more: 0,
        }
        .into());
    }
    let store = open(db).await?;
    let mut out: Vec<Asset> = Vec::new();
    for (i, row) in sheet.rows.iter().enumerate() {
        let line = sheet.header_line + 1 + i;
        let cell = |field: &str| -> String {
            column(field)
                .and_then(|c| row.get(c))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        if row.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut fail = |field: &str, message: String| {
            problems.push(Problem {
                line,
                column: column(field).map(column_letter),
                field: field.into(),
                message,
            })
        };
        let asset_name = cell("name");
        if asset_name.is_empty() || asset_name.chars().count() > 200 {
            fail(
                "name",
                "give the asset a name of 1 to 200 characters".into(),
            );
        }
        let kind_text = cell("kind").to_lowercase();
        let kind = KINDS
            .iter()
            .find(|k| k.0 == kind_text || k.1.to_lowercase() == kind_text)
            .map(|k| k.0);
        if kind.is_none() {
            fail(
                "kind",
                format!(
                    "`{}` is not a kind of asset: one of {}",
                    cell("kind"),
                    KINDS.map(|k| k.0).join(", ")
                ),
            );
        }
        let organisation = cell("organisation");
        if organisation.is_empty() {
            fail("organisation", "say who runs it".into());
        }
        let postcode = syndemic_model::normalise_postcode(&cell("postcode"));
        if !cell("postcode").is_empty() && postcode.is_none() {
            fail(
                "postcode",
                format!("`{}` is not a postcode", cell("postcode")),
            );
        }
        let (lat, lon) = (cell("latitude"), cell("longitude"));
        let point = if !lat.is_empty() || !lon.is_empty() {
            match (lat.parse::<f64>(), lon.parse::<f64>()) {
                (Ok(la), Ok(lo)) if (49.0..=61.0).contains(&la) && (-9.0..=2.5).contains(&lo) => {
                    Some((la, lo))
                }
                _ => {
                    fail(
                        "latitude",
                        format!(
                            "`{lat}, {lon}` is not a place in Great Britain (latitude, longitude)"
                        ),
                    );
                    None
                }
            }
        } else if let Some(p) = &postcode {
            match store.postcode(p).await? {
                Some(r) if r.latitude.is_some() && r.longitude.is_some() => Some((
                    r.latitude.unwrap_or_default(),
                    r.longitude.unwrap_or_default(),
                )),
                Some(_) => {
                    fail("postcode", format!("{p} has no coordinates in the postcode directory: give latitude and longitude"));
                    None
                }
                None => {
                    fail("postcode", format!("{p} is not in the postcode directory: check it, or give latitude and longitude"));
                    None
                }
            }
        } else {
            fail(
                "postcode",
                "give a postcode, or latitude and longitude, to put it on the map".into(),
            );
            None
        };
        let url = cell("url");
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            fail("url", format!("`{url}` is not a web address (https://…)"));
        }
        let id = format!(
            "asset-{}",
            syndemic_hub::assets::slug(&format!("{organisation} {asset_name}"))
        );
        if out.iter().any(|a| a.id == id) {
            fail(
                "name",
                format!("{asset_name} of {organisation} is listed twice"),
            );
        }
        if let (Some(kind), Some((latitude, longitude))) = (kind, point) {
            out.push(Asset {
                id,
                name: asset_name,
                description: cell("description"),
                kind: kind.into(),
                organisation,
                latitude,
                longitude,
                postcode,
                url: (!url.is_empty()).then_some(url),
            });
        }
    }
    if !problems.is_empty() {
        store.close().await;
        let more = problems.len().saturating_sub(MAX_PROBLEMS);
        problems.truncate(MAX_PROBLEMS);
        return Err(LayoutError {
            file: name,
            problems,
            more,
        }
        .into());
    }
    if out.is_empty() {
        store.close().await;
        bail!("{name}: no assets in the sheet");
    }
    let feed = to_feed(&out).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    store.put_directory(&feed).await?;
    store.close().await;
    println!("recorded {} community assets in the directory", out.len());
    Ok(())
}
