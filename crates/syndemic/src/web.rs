//! `syndemic demo` and `syndemic serve`: the web application, on the built-in demo
//! place or on a store of real data.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use syndemic_access::seal::SealKey;
use syndemic_store::{SqlStore, StoreUrl};
use syndemic_web::AppState;
use syndemic_web::Mail;
use syndemic_web::PseudonymKey;
use syndemic_web::Security;

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
    /// The address people use, e.g. https://health.example.gov.uk: cookies are
    /// marked Secure when it is HTTPS (or $SYNDEMIC_PUBLIC_URL).
    #[arg(long)]
    public_url: Option<String>,
    /// A file holding the key (64 hex digits, `openssl rand -hex 32`) that seals
    /// second-factor secrets at rest (or the key itself in $SYNDEMIC_SECRET_KEY).
    /// Without either, a SQLite store keeps its own key in FILE.key beside it.
    #[arg(long)]
    secret_key_file: Option<PathBuf>,
    /// A reverse proxy whose X-Forwarded-For names the client (repeat for more).
    #[arg(long)]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// A file holding the key (64 hex digits, `openssl rand -hex 32`) of the
    /// pseudonyms in the hub's record download (or the key itself in
    /// $SYNDEMIC_PSEUDONYM_KEY). Without either the store keeps its own.
    #[arg(long)]
    pseudonym_key_file: Option<PathBuf>,
    /// Append the access and security logs to this file (created 0600) rather
    /// than standard error; levels by $RUST_LOG (or $SYNDEMIC_LOG).
    #[arg(long)]
    pub(crate) log_file: Option<PathBuf>,
    /// The SMTP relay notifications are e-mailed through (or $SYNDEMIC_SMTP_URL):
    /// smtp://host:25, smtp://host:587?tls=required (STARTTLS) or
    /// smtps://user:password@host:465. Needs --public-url for the links.
    #[arg(long)]
    smtp_url: Option<String>,
    /// The sender of those e-mails (or $SYNDEMIC_MAIL_FROM), e.g.
    /// "Hartmoor referral hub <hub@hartmoor.gov.uk>".
    #[arg(long)]
    mail_from: Option<String>,
}

/// The mail relay, if one is configured, checked now rather than at the first e-mail.
fn mail(args: &ServeArgs, security: &Security) -> Result<Option<Mail>> {
    let Some(url) = args
        .smtp_url
        .clone()
        .or_else(|| std::env::var("SYNDEMIC_SMTP_URL").ok())
    else {
        return Ok(None);
    };
    let from = args
        .mail_from
        .clone()
        .or_else(|| std::env::var("SYNDEMIC_MAIL_FROM").ok())
        .context(
            "--smtp-url needs --mail-from (or $SYNDEMIC_MAIL_FROM): the address e-mails come from",
        )?;
    if security.public_url.is_none() {
        anyhow::bail!(
            "--smtp-url needs --public-url: the e-mails link to the address people sign in at"
        );
    }
    Ok(Some(
        Mail::new(&url, &from).map_err(|e| anyhow::anyhow!("{e}"))?,
    ))
}

/// The key of the hub's pseudonyms: from `file`, from `$SYNDEMIC_PSEUDONYM_KEY`,
/// or none (the store then keeps one of its own).
fn pseudonym_key(file: Option<&std::path::Path>) -> Result<Option<PseudonymKey>> {
    let text =
        match file {
            Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the pseudonym key file {}", path.display())
            })?),
            None => std::env::var("SYNDEMIC_PSEUDONYM_KEY").ok(),
        };
    text.map(|t| PseudonymKey::from_hex(&t).map_err(|e| anyhow::anyhow!("the pseudonym key: {e}")))
        .transpose()
}

/// The key that seals second-factor secrets: from `file`, from
/// `$SYNDEMIC_SECRET_KEY`, or for a SQLite store from (or newly made, 0600, in)
/// the file beside it.
fn seal_key(file: Option<&std::path::Path>, url: &StoreUrl) -> Result<SealKey> {
    let read = |path: &std::path::Path| -> Result<SealKey> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the secret key file {}", path.display()))?;
        SealKey::from_hex(&text).with_context(|| format!("{}", path.display()))
    };
    if let Some(path) = file {
        return read(path);
    }
    if let Ok(hex) = std::env::var("SYNDEMIC_SECRET_KEY") {
        return SealKey::from_hex(&hex).context("$SYNDEMIC_SECRET_KEY");
    }
    let StoreUrl::Sqlite(db) = url else {
        anyhow::bail!(
            "a PostgreSQL store needs a secret key to seal second-factor secrets: \
             give --secret-key-file FILE (64 hex digits, e.g. from `openssl rand -hex 32`) \
             or set SYNDEMIC_SECRET_KEY"
        );
    };
    let path = PathBuf::from(format!("{db}.key"));
    if path.exists() {
        return read(&path);
    }
    let key = SealKey::random()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(&path)
        .with_context(|| format!("cannot create the secret key file {}", path.display()))?;
    std::io::Write::write_all(&mut f, format!("{}\n", key.to_hex()).as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write the secret key file {}", path.display()))?;
    eprintln!(
        "made a secret key in {} to seal second-factor secrets: in production keep it \
         apart from the database (--secret-key-file, SECURITY.md)",
        path.display()
    );
    Ok(key)
}

/// The deployment's security settings, saying what is missing.
fn security(
    public_url: Option<String>,
    key_file: Option<&std::path::Path>,
    url: &StoreUrl,
    proxies: Vec<std::net::IpAddr>,
) -> Result<Security> {
    let public_url = public_url.or_else(|| std::env::var("SYNDEMIC_PUBLIC_URL").ok());
    if let Some(u) = &public_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            anyhow::bail!(
                "--public-url {u}: give the whole address, such as https://health.example.gov.uk"
            );
        }
    }
    if !public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        eprintln!(
            "cookies are not marked Secure: behind HTTPS, give --public-url https://… (SECURITY.md)"
        );
    }
    Security::new(public_url, seal_key(key_file, url)?, proxies).map_err(|e| anyhow::anyhow!("{e}"))
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
        )
        .with_security(
            Security::new(None, seal_key(None, &url)?, Vec::new())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
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
        let url = StoreUrl::parse(&args.db)?;
        let security = security(
            args.public_url.clone(),
            args.secret_key_file.as_deref(),
            &url,
            args.trusted_proxy.clone(),
        )?;
        let security = match pseudonym_key(args.pseudonym_key_file.as_deref())? {
            Some(key) => security.with_pseudonym_key(key),
            None => security,
        };
        let mail = mail(args, &security)?;
        let store = SqlStore::connect(&url).await?;
        let mut state = AppState::new(Arc::new(store), &args.place, Some(&args.population))
            .with_security(security);
        if let Some(mail) = mail {
            println!("Notifications are e-mailed through the SMTP relay");
            state = state.with_mail(mail);
        }
        println!(
            "Serving {} at http://{}:{}/ (Ctrl-C to stop)",
            args.db, args.host, args.port
        );
        syndemic_web::serve(state, listener).await?;
        Ok(())
    })
}
