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

pub fn demo(args: &DemoArgs) -> Result<()> {
    runtime()?.block_on(async {
        let listener = listen("127.0.0.1", args.port).await?;
        let url = StoreUrl::parse(&args.db.display().to_string())?;
        let mut store = SqlStore::connect(&url).await?;
        if !syndemic_demo::is_built(&store).await? {
            // Built aside and moved into place, so a killed build leaves no half
            // demo behind.
            store.close().await;
            let building = args.db.with_extension("building");
            let _ = std::fs::remove_file(&building);
            let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
            let aside =
                SqlStore::connect(&StoreUrl::parse(&building.display().to_string())?).await?;
            let progress = Progress::spinner(args.quiet);
            let mut say = |stage: &str| progress.say(format!("building the demo place: {stage}"));
            let built = syndemic_demo::build(&aside, scratch.path(), &mut say).await;
            progress.finish();
            aside.close().await;
            let summary = built?;
            eprintln!(
                "built Hartmoor: {} LSOAs, {} wards, {} districts, {} indicators, {} results",
                summary.lsoas,
                summary.wards,
                summary.districts,
                summary.indicators,
                summary.observations
            );
            for suffix in ["", "-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", building.display()));
                if from.exists() {
                    std::fs::rename(&from, format!("{}{suffix}", args.db.display())).with_context(
                        || format!("cannot move the demo into {}", args.db.display()),
                    )?;
                }
            }
            store = SqlStore::connect(&url).await?;
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
