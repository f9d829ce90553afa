//! `syndemic demo` and `syndemic serve`: the web application, on the built-in demo
//! place or on a store of real data.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use syndemic_store::{SqlStore, StoreUrl};
use syndemic_web::AppState;

use crate::progress::Progress;

#[derive(Args)]
pub struct DemoArgs {
    /// The port to serve on (on 127.0.0.1).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The demo's SQLite file (built on first use, reused after).
    #[arg(long, default_value = "syndemic-demo.db")]
    db: PathBuf,
    /// No progress spinner.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
pub struct ServeArgs {
    /// The store: a SQLite file path, sqlite:FILE, or postgres://…
    #[arg(long, default_value = crate::evidence::DEFAULT_DB)]
    db: String,
    /// The port to serve on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The place's name, shown on every page.
    #[arg(long, default_value = "England")]
    place: String,
    /// The population source that weights neighbourhood averages.
    #[arg(long, default_value = "IoD2019 File 6")]
    population: String,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn listen(host: &str, port: u16) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| {
            format!("cannot listen on {host}:{port}: is another server using the port? (--port N)")
        })
}

/// A SQLite file and its write-ahead log and shared-memory files.
fn sqlite_files(path: &std::path::Path) -> [PathBuf; 3] {
    let with = |suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
    [with(""), with("-wal"), with("-shm")]
}

pub fn demo(args: &DemoArgs) -> Result<()> {
    runtime()?.block_on(async {
        let listener = listen("127.0.0.1", args.port).await?;
        let url = StoreUrl::parse(&args.db.display().to_string())?;
        let built = if args.db.exists() {
            let store = SqlStore::connect(&url).await?;
            let built = match syndemic_demo::is_built(&store).await {
                Ok(true) => syndemic_demo::hub::is_seeded(&store).await,
                other => other,
            };
            store.close().await;
            built?
        } else {
            false
        };
        if !built {
            // Built aside and moved into place, so a killed build leaves no half
            // demo behind; no log file of an older store may outlive it.
            let building = args.db.with_extension("building");
            for file in sqlite_files(&args.db)
                .iter()
                .chain(&sqlite_files(&building))
            {
                let _ = std::fs::remove_file(file);
            }
            let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
            let aside =
                SqlStore::connect(&StoreUrl::parse(&building.display().to_string())?).await?;
            let progress = Progress::spinner(args.quiet);
            let mut say = |stage: &str| progress.say(format!("building the demo place: {stage}"));
            let mut result = syndemic_demo::build(&aside, scratch.path(), &mut say).await;
            if result.is_ok() {
                let now = syndemic_model::date::unix_now();
                if let Err(e) = syndemic_demo::hub::seed(&aside, now, &mut say).await {
                    result = Err(e);
                }
            }
            progress.finish();
            aside.close().await;
            let summary = result?;
            eprintln!(
                "built Hartmoor: {} LSOAs, {} wards, {} districts, {} indicators, {} results",
                summary.lsoas,
                summary.wards,
                summary.districts,
                summary.indicators,
                summary.observations
            );
            // The logs first, the database last: it is what `exists` looks for.
            let (from, to) = (sqlite_files(&building), sqlite_files(&args.db));
            for i in [1, 2, 0] {
                if from[i].exists() {
                    std::fs::rename(&from[i], &to[i]).with_context(|| {
                        format!("cannot move the demo into {}", to[i].display())
                    })?;
                }
            }
        }
        let store = SqlStore::connect(&url).await?;
        if !syndemic_demo::is_built(&store).await? || !syndemic_demo::hub::is_seeded(&store).await?
        {
            anyhow::bail!(
                "{}: the demo did not land whole; delete the file and start again",
                args.db.display()
            );
        }
        let state = AppState::new(
            Arc::new(store),
            "Hartmoor (demo)",
            Some(syndemic_demo::POPULATION),
        );
        println!(
            "Serving the Hartmoor demo at http://127.0.0.1:{}/ (Ctrl-C to stop)",
            args.port
        );
        println!(
            "Referral hub at http://127.0.0.1:{}/login — demo users (password \"{}\"):",
            args.port,
            syndemic_demo::hub::DEMO_PASSWORD
        );
        for (user, role, org) in syndemic_demo::hub::USERS {
            println!("  {user:<22} {:<20} {org}", role.label());
        }
        syndemic_web::serve(state, listener).await?;
        Ok(())
    })
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    runtime()?.block_on(async {
        let listener = listen(&args.host, args.port).await?;
        let store = SqlStore::connect(&StoreUrl::parse(&args.db)?).await?;
        let state = AppState::new(Arc::new(store), &args.place, Some(&args.population));
        println!(
            "Serving {} at http://{}:{}/ (Ctrl-C to stop)",
            args.db, args.host, args.port
        );
        syndemic_web::serve(state, listener).await?;
        Ok(())
    })
}
