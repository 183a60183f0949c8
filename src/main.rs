use clap::Parser;
use ferrokey::config::Config;
use ferrokey::server::Server;
use std::path::PathBuf;
use tracing::{error, info};

// mimalloc, counting what it hands out: `used_memory` and the maxmemory checks
#[global_allocator]
static GLOBAL: ferrokey::alloc::Counting = ferrokey::alloc::Counting;

/// An in-memory, RESP-compatible cache server that behaves like Valkey.
///
/// Usage is the same as valkey-server: an optional config file, then any directive as
/// `--name value [value ...]`, e.g. `ferrokey conf/ferrokey.conf --port 7000`.
#[derive(Parser, Debug)]
#[command(name = "ferrokey", version, about, long_about = None)]
struct Cli {
    /// [CONFIG_FILE] then directives overriding it: --port 7000 --appendonly no ...
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CONFIG_FILE] [--DIRECTIVE VALUE"
    )]
    args: Vec<String>,
}

/// Turns `--port 7000 --save "" --bind a b` into config-file lines, as valkey-server does.
fn directives_to_text(args: &[String]) -> Result<String, String> {
    let mut text = String::new();
    let mut first = true;
    for a in args {
        if let Some(name) = a.strip_prefix("--") {
            if name.is_empty() {
                return Err("empty directive name".into());
            }
            if !first {
                text.push('\n');
            }
            text.push_str(name);
            first = false;
        } else {
            if first {
                return Err(format!(
                    "unexpected argument '{a}': directives start with --"
                ));
            }
            text.push(' ');
            text.push('"');
            for c in a.chars() {
                if c == '"' || c == '\\' {
                    text.push('\\');
                }
                text.push(c);
            }
            text.push('"');
        }
    }
    text.push('\n');
    Ok(text)
}

fn main() {
    GLOBAL.mark_installed();
    let cli = Cli::parse();
    let (config_path, directives) = match cli.args.first() {
        Some(f) if !f.starts_with("--") => (Some(PathBuf::from(f)), &cli.args[1..]),
        _ => (None, &cli.args[..]),
    };
    let config = Config::new();
    if let Some(path) = &config_path {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "Fatal error, can't open config file '{}': {e}",
                    path.display()
                );
                std::process::exit(1);
            }
        };
        if let Err(e) = config.load_text(&text, &path.display().to_string()) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    match directives_to_text(directives) {
        Ok(text) => {
            if let Err(e) = config.load_text(&text, "(command line)") {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let level = match config.get("loglevel").as_deref() {
        Some("debug") => "debug",
        Some("verbose") => "info",
        Some("warning") => "warn",
        Some("nothing") => "off",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let dir = config.get("dir").unwrap_or_else(|| ".".into());
    if let Err(e) = std::env::set_current_dir(&dir) {
        error!(dir, error = %e, "can't chdir to the configured dir");
        std::process::exit(1);
    }
    let config_file = config_path
        .as_ref()
        .and_then(|p| std::fs::canonicalize(p).ok());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // the acceptor, cron and signal handling live on a small runtime of their own;
    // connections go to one single-threaded runtime per core
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "can't start the runtime");
            std::process::exit(1);
        }
    };
    let mut workers = Vec::with_capacity(threads);
    for i in 0..threads {
        let wrt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                error!(error = %e, "can't start a worker runtime");
                std::process::exit(1);
            }
        };
        workers.push(wrt.handle().clone());
        let spawned = std::thread::Builder::new()
            .name(format!("ferrokey-io-{i}"))
            .spawn(move || wrt.block_on(std::future::pending::<()>()));
        if let Err(e) = spawned {
            error!(error = %e, "can't start a worker thread");
            std::process::exit(1);
        }
    }
    let code = rt.block_on(async move {
        let port = config.get_i64("port") as u16;
        let bind = config.get("bind").unwrap_or_default();
        let srv = Server::new(config, config_file);
        // the AOF is replayed before the port is even bound: a client never sees a
        // half-loaded dataset, and a refused file leaves no listener behind
        if let Err(e) = ferrokey::persistence::boot(&srv) {
            error!("{e}");
            return 1;
        }
        // ACL users from the aclfile
        if let Err(e) = ferrokey::commands::acl_family::boot(&srv) {
            error!("{e}");
            return 1;
        }
        let host = bind
            .split_whitespace()
            .map(|b| b.trim_start_matches('-'))
            .next()
            .unwrap_or("0.0.0.0")
            .to_string();
        // port 0: no plain listener (TLS only, with tls-port)
        let listener = if port == 0 {
            None
        } else {
            match tokio::net::TcpListener::bind((host.as_str(), port)).await {
                Ok(l) => Some(l),
                Err(e) => {
                    error!(%host, port, error = %e, "can't bind the listening socket");
                    return 1;
                }
            }
        };
        info!(
            version = env!("CARGO_PKG_VERSION"),
            pid = std::process::id(),
            "ferrokey starting"
        );
        let srv2 = srv.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            info!("received SIGINT, shutting down");
            srv2.shutdown.notify_waiters();
        });
        #[cfg(unix)]
        {
            let srv3 = srv.clone();
            tokio::spawn(async move {
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                    info!("received SIGTERM, shutting down");
                    srv3.shutdown.notify_waiters();
                }
            });
        }
        let code = match srv.run(listener, workers).await {
            Ok(()) => 0,
            Err(e) => {
                error!(error = %e, "server failed");
                1
            }
        };
        // everything logged reaches the disk before exiting
        ferrokey::persistence::shutdown();
        code
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_directives() {
        let t = directives_to_text(&["--port".into(), "7000".into(), "--save".into(), "".into()])
            .unwrap();
        assert_eq!(t, "port \"7000\"\nsave \"\"\n");
        assert!(directives_to_text(&["7000".into()]).is_err());
    }
}
