//! `syndemic community`: a community defines its place (a named set of small
//! areas, from a list of LSOA codes, ward codes and postcodes) and lists the
//! places held.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use syndemic_model::date::unix_now as now;
use syndemic_model::AreaCode;
use syndemic_store::hub::AuditEntry;
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
    /// The community places held, with their small areas and the area each lies within.
    List {
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
