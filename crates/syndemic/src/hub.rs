//! The referral hub's commands: `syndemic admin` (the first system admin),
//! `syndemic directory import|export` (Open Referral UK feeds), and `syndemic
//! backup` / `syndemic restore`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use syndemic_access::secret::random_hex;
use syndemic_access::Role;
use syndemic_hub::oruk::{Directory, Feed};
use syndemic_model::date::unix_now as now;
use syndemic_store::hub::{HubOrg, UserRecord};
use syndemic_store::prelude::*;
use syndemic_store::{SqlStore, StoreUrl};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[derive(Args)]
pub struct AdminArgs {
    /// The store: a SQLite file path, sqlite:FILE, or postgres://…
    #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
    db: String,
    /// The new system admin's user name.
    #[arg(long)]
    user: String,
    /// Their full name.
    #[arg(long, default_value = "System admin")]
    name: String,
    /// Their organisation's id (created, as a hub, if the store has none of that id).
    #[arg(long, default_value = "hub")]
    org: String,
    /// The organisation's name, when it is created.
    #[arg(long, default_value = "Referral hub")]
    org_name: String,
}

/// Creates the first system admin and prints a one-time link to set their password.
pub fn admin(args: &AdminArgs) -> Result<()> {
    runtime()?.block_on(async {
        let store = SqlStore::connect(&StoreUrl::parse(&args.db)?).await?;
        if !store.orgs().await?.iter().any(|o| o.id == args.org) {
            store
                .put_org(&HubOrg { id: args.org.clone(), name: args.org_name.clone(), sector: "council".into(), is_hub: true }, now())
                .await?;
        }
        let id = format!("admin-{}", random_hex(8)?);
        let user = UserRecord::new(&id, &args.org, &args.user, &args.name, Role::SystemAdmin, now());
        if !store.create_user(&user).await? {
            bail!("the user name `{}` is taken: choose another with --user", args.user);
        }
        let token = random_hex(32)?;
        store
            .create_reset(&syndemic_access::secret::hash_token(&token), &id, now() + 24 * 3600)
            .await?;
        println!("created system admin `{}` of `{}`", args.user, args.org);
        println!("set their password within 24 hours at: /reset/{token} (on the server, e.g. http://127.0.0.1:8080/reset/{token})");
        Ok(())
    })
}

#[derive(Args)]
pub struct DirectoryArgs {
    #[command(subcommand)]
    command: DirectoryCommand,
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Add an Open Referral UK / HSDS 3.0 feed (JSON) to the directory, all or nothing.
    Import {
        file: PathBuf,
        #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
        db: String,
    },
    /// Write the whole directory as one feed (JSON).
    Export {
        #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
        db: String,
        /// The file to write; standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn directory(args: &DirectoryArgs) -> Result<()> {
    runtime()?.block_on(async {
        match &args.command {
            DirectoryCommand::Import { file, db } => {
                let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
                let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!("{}: line {}, column {}: not JSON: {e}", file.display(), e.line(), e.column())
                })?;
                let feed = Feed::parse(&json).map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
                for w in &feed.warnings {
                    eprintln!("warning: {}: {w}", file.display());
                }
                let store = SqlStore::connect(&StoreUrl::parse(db)?).await?;
                store.put_directory(&feed).await?;
                println!(
                    "imported {}: {} services, {} organisations, {} taxonomies, {} terms ({} records read)",
                    file.display(),
                    feed.services.len(),
                    feed.organizations.len(),
                    feed.taxonomies.len(),
                    feed.taxonomy_terms.len(),
                    feed.records
                );
            }
            DirectoryCommand::Export { db, out } => {
                let store = SqlStore::connect(&StoreUrl::parse(db)?).await?;
                let text = serde_json::to_string_pretty(&Directory::new(store.directory().await?).export())?;
                match out {
                    Some(path) => crate::table::write_atomically(path, text.as_bytes())?,
                    None => println!("{text}"),
                }
            }
        }
        Ok(())
    })
}

#[derive(Args)]
pub struct BackupArgs {
    /// The SQLite store to back up (PostgreSQL: use pg_dump, see the README).
    #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
    db: String,
    /// The backup file to write (must not exist).
    #[arg(long)]
    out: PathBuf,
}

/// A consistent copy of a live SQLite store.
pub fn backup(args: &BackupArgs) -> Result<()> {
    runtime()?.block_on(async {
        let url = StoreUrl::parse(&args.db)?;
        if let StoreUrl::Postgres(_) = url {
            bail!("a PostgreSQL store is backed up with its own tools: pg_dump --format=custom --file=BACKUP '<url>' (and pg_restore to bring it back)");
        }
        if args.out.exists() {
            bail!("{} exists already: back up to a new file", args.out.display());
        }
        let store = SqlStore::connect(&url).await?;
        // Into an empty temporary file beside the target (0600), renamed into place
        // only when complete: a failure (a full disk) leaves nothing, and a retry
        // works.
        let dir = crate::table::folder_of(&args.out);
        let tmp = tempfile::Builder::new()
            .prefix(".syndemic-backup-")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot write {}: cannot create a file in {}", args.out.display(), dir.display()))?;
        let tmp_name = tmp.path().display().to_string();
        let result = store.backup_to(&tmp_name).await;
        store.close().await;
        for suffix in ["-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{tmp_name}{suffix}"));
        }
        result.with_context(|| format!("cannot write the backup {}", args.out.display()))?;
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write the backup {}", args.out.display()))?;
        tmp.persist_noclobber(&args.out)
            .with_context(|| format!("cannot write the backup {}", args.out.display()))?;
        println!("backed up {} to {}", args.db, args.out.display());
        Ok(())
    })
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file written by `syndemic backup`.
    #[arg(long)]
    from: PathBuf,
    /// The SQLite store to bring back (must not exist: restore never overwrites).
    #[arg(long)]
    db: PathBuf,
    /// The store the backup is replacing: every erasure its audit log records is
    /// applied to the restored copy, so a restore never brings erased data back.
    #[arg(long)]
    erasures_from: Option<String>,
}

#[derive(Args)]
pub struct PurgeArgs {
    #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
    db: String,
    /// How long a finished (closed or declined) referral's personal data is kept.
    #[arg(long, default_value_t = 730)]
    retention_days: i64,
    /// A folder of backups: those older than the retention period are deleted too.
    #[arg(long)]
    backups: Option<PathBuf>,
}

/// Erases the personal data of referrals finished longer ago than the retention
/// period (their counts stay), and deletes backups as old.
pub fn purge(args: &PurgeArgs) -> Result<()> {
    if args.retention_days < 1 {
        bail!("--retention-days must be at least 1");
    }
    let cutoff = now() - args.retention_days * 86400;
    runtime()?.block_on(async {
        let store = SqlStore::connect(&StoreUrl::parse(&args.db)?).await?;
        let ids = store.past_retention(cutoff).await?;
        let by = syndemic_store::hub::Stamp { actor: "system", org: "system", at: now() };
        let n = store.erase(&ids, &by, &format!("retention: finished more than {} days ago", args.retention_days)).await?;
        println!("purged the personal data of {n} referrals finished more than {} days ago (their counts stay)", args.retention_days);
        anyhow::Ok(())
    })?;
    if let Some(dir) = &args.backups {
        let limit = std::time::SystemTime::now()
            - std::time::Duration::from_secs(args.retention_days as u64 * 86400);
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let entry = entry?;
            let old = entry.metadata()?.modified()? < limit;
            if old && entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                println!(
                    "deleted the backup {} (older than the retention period)",
                    entry.path().display()
                );
            }
        }
    }
    Ok(())
}

pub fn restore(args: &RestoreArgs) -> Result<()> {
    if args.db.exists() {
        bail!(
            "{} exists: restore into a new file, then swap it in while the server is stopped",
            args.db.display()
        );
    }
    let tmp = args.db.with_extension("restoring");
    std::fs::copy(&args.from, &tmp)
        .with_context(|| format!("cannot read {}", args.from.display()))?;
    runtime()?.block_on(async {
        // Opening it checks it and brings its schema up to date.
        let store = SqlStore::connect(&StoreUrl::Sqlite(tmp.display().to_string())).await?;
        match &args.erasures_from {
            Some(current) => {
                let current = SqlStore::connect(&StoreUrl::parse(current)?).await?;
                let erased: Vec<String> = current
                    .audit_log(None, i64::MAX)
                    .await?
                    .into_iter()
                    .filter(|e| e.action == "erase" && e.subject == "referral")
                    .map(|e| e.record)
                    .collect();
                let by = syndemic_store::hub::Stamp { actor: "system", org: "system", at: now() };
                let n = store.erase(&erased, &by, "re-applied on restore").await?;
                println!("re-applied {n} erasures made since the backup");
            }
            None => eprintln!("warning: erasures made after this backup was taken are not in it: restore with --erasures-from CURRENT_DB to re-apply them"),
        }
        let referrals = store.referrals(&Default::default()).await?.len();
        store.checkpoint().await?;
        store.close().await;
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
        }
        std::fs::rename(&tmp, &args.db)
            .with_context(|| format!("cannot write {}", args.db.display()))?;
        println!(
            "restored {} into {}: {referrals} referrals",
            args.from.display(),
            args.db.display()
        );
        Ok(())
    })
}
