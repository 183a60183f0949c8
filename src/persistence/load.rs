//! Loading the AOF: every file the manifest names, in order, replayed through the
//! normal `dispatch` by a client of origin `Aof`.
//!
//! A last record cut short (a crash in the middle of a write) is dropped with a warning
//! and the file truncated to the last good record when `aof-load-truncated yes`, and
//! refused otherwise; anything else malformed refuses to start, naming file and offset.

use super::manifest::{self, Entry, Manifest};
use super::resp::{parse_into, Step};
use super::{aof, paths};
use crate::protocol::Reply;
use crate::server::{Client, ClientInfo, Origin, Server};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// Why loading failed; the text is what the log says.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const CHUNK: usize = 1 << 20;

/// What the loader needs to know of a command's name: MULTI and EXEC delimit a
/// transaction that must not be half applied.
#[derive(Clone, Copy)]
enum Kind {
    Multi,
    Exec,
    Other,
}

/// Startup: reads the manifest (upgrading an old single-file AOF the way Valkey does)
/// and loads the files. Returns the manifest to append to.
pub fn boot_load(srv: &Server) -> Result<Manifest, String> {
    let (dir, prefix) = paths(srv);
    let mpath = dir.join(manifest::manifest_name(&prefix));
    let m = match std::fs::read_to_string(&mpath) {
        Ok(text) => Manifest::parse(&text).map_err(|e| {
            format!(
                "*** FATAL AOF MANIFEST FILE ERROR *** {}: {e}",
                mpath.display()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let old = Path::new(&prefix);
            if old.is_file() {
                upgrade(&dir, &prefix).map_err(|e| {
                    format!(
                        "Error trying to move the old AOF file {prefix} into dir {}: {e}",
                        dir.display()
                    )
                })?
            } else {
                return Ok(Manifest::default());
            }
        }
        Err(e) => {
            return Err(format!(
                "Can't open the AOF manifest file {}: {e}",
                mpath.display()
            ))
        }
    };
    load_dir(srv, &dir, &m).map_err(|e| e.0)?;
    Ok(m)
}

/// An `appendonly.aof` from before multi-part AOF becomes the BASE of a new directory.
fn upgrade(dir: &Path, prefix: &str) -> std::io::Result<Manifest> {
    std::fs::create_dir_all(dir)?;
    let m = Manifest {
        base: Some(Entry {
            name: prefix.to_string(),
            seq: 1,
            kind: 'b',
        }),
        ..Default::default()
    };
    std::fs::rename(prefix, dir.join(prefix))?;
    manifest::write_atomic(dir, &manifest::manifest_name(prefix), &m.to_text())?;
    info!(
        file = prefix,
        "Successfully migrated an old-style AOF file into the AOF directory"
    );
    Ok(m)
}

/// Loads every file of `m` from `dir` into the keyspace.
pub fn load_dir(srv: &Server, dir: &Path, m: &Manifest) -> Result<(), LoadError> {
    let files = m.load_order();
    let total: u64 = files
        .iter()
        .map(|e| std::fs::metadata(dir.join(&e.name)).map_or(0, |md| md.len()))
        .sum();
    let truncated_ok = srv.config.get_bool("aof-load-truncated");
    let started = Instant::now();
    let mut done = 0u64;
    for (i, e) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = dir.join(&e.name);
        if !path.is_file() {
            return Err(LoadError(format!(
                "The append log file {} doesn't exist: No such file or directory",
                e.name
            )));
        }
        let t = Instant::now();
        let n = load_file(
            srv,
            &path,
            &e.name,
            last,
            truncated_ok,
            &mut done,
            total,
            started,
        )?;
        info!(
            file = %e.name,
            commands = n,
            secs = format!("{:.3}", t.elapsed().as_secs_f64()),
            "DB loaded from {} file",
            if e.kind == 'b' { "base" } else { "incr" }
        );
    }
    let keys: usize = srv.keyspace.dbs().iter().map(|d| d.len()).sum();
    let secs = started.elapsed().as_secs_f64();
    info!(
        keys,
        mb = format!("{:.1}", total as f64 / 1e6),
        secs = format!("{secs:.3}"),
        "DB loaded from append only file"
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn load_file(
    srv: &Server,
    path: &Path,
    name: &str,
    last: bool,
    truncated_ok: bool,
    done: &mut u64,
    total: u64,
    started: Instant,
) -> Result<u64, LoadError> {
    let io_err = |e: std::io::Error| {
        LoadError(format!(
            "Unrecoverable error reading the append only file {name}: {e}"
        ))
    };
    let mut f = std::fs::File::open(path).map_err(io_err)?;
    super::set_replaying(true);
    let r = replay(
        srv,
        &mut f,
        path,
        name,
        last,
        truncated_ok,
        done,
        total,
        started,
    );
    super::set_replaying(false);
    r
}

#[allow(clippy::too_many_arguments)]
fn replay(
    srv: &Server,
    f: &mut std::fs::File,
    path: &Path,
    name: &str,
    last: bool,
    truncated_ok: bool,
    done: &mut u64,
    total: u64,
    started: Instant,
) -> Result<u64, LoadError> {
    let io_err = |e: std::io::Error| {
        LoadError(format!(
            "Unrecoverable error reading the append only file {name}: {e}"
        ))
    };
    let info = Arc::new(ClientInfo::new(0, "aof".into(), String::new(), -1));
    let mut client = Client::new(info, true);
    client.origin = Origin::Aof;
    let mut out = Reply::new(false);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut pos = 0usize;
    // offset in the file of buf[0]
    let mut base_off = 0u64;
    let mut eof = false;
    let mut commands = 0u64;
    // offset of the MULTI of a transaction whose EXEC was not seen yet
    let mut multi_at: Option<u64> = None;
    let mut last_report = Instant::now();
    // reused for every record: argument spans, and the last command name seen with
    // what it is (an AOF is mostly one command after another of the same name, so
    // the table is searched only when the name changes)
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(16);
    let mut last_name: Vec<u8> = Vec::new();
    let mut last_kind = Kind::Other;
    loop {
        match parse_into(&buf[pos..], &mut spans) {
            Step::Command { consumed } => {
                let rec = &buf[pos..pos + consumed];
                let args: smallvec::SmallVec<[&[u8]; 8]> =
                    spans.iter().map(|&(s, e)| &rec[s..e]).collect();
                let at = base_off + pos as u64;
                if args[0] != last_name.as_slice() {
                    let Some(cmd) = crate::commands::table::lookup(args[0]) else {
                        return Err(LoadError(format!(
                            "Error reading the append only file {name} at offset {at}: unknown command '{}'",
                            String::from_utf8_lossy(args[0])
                        )));
                    };
                    last_kind = match cmd.name {
                        "multi" => Kind::Multi,
                        "exec" => Kind::Exec,
                        _ => Kind::Other,
                    };
                    last_name.clear();
                    last_name.extend_from_slice(args[0]);
                }
                match last_kind {
                    Kind::Multi => multi_at = Some(at),
                    Kind::Exec => multi_at = None,
                    Kind::Other => {}
                }
                out.clear();
                crate::commands::dispatch(srv, &mut client, &mut out, &args);
                // expired keys met while loading are gone; nothing to report
                if crate::store::has_expired() {
                    let _ = crate::store::take_expired();
                }
                commands += 1;
                pos += consumed;
            }
            Step::Annotation { consumed } => pos += consumed,
            Step::Bad { .. } if base_off == 0 && pos == 0 && buf.starts_with(b"REDIS") => {
                return Err(LoadError(format!(
                    "The AOF file {name} starts with an RDB preamble, which this server does not read: rewrite it with 'aof-use-rdb-preamble no' (BGREWRITEAOF) on the server that wrote it"
                )));
            }
            Step::Bad { at, why } => {
                return Err(LoadError(format!(
                    "Bad file format reading the append only file {name} at offset {}: {why}. Make a backup of your AOF file, then use valkey-check-aof --fix <filename.manifest>",
                    base_off + (pos + at) as u64
                )));
            }
            Step::Incomplete => {
                if eof {
                    break;
                }
                // keep the unparsed tail, read more after it
                buf.drain(..pos);
                base_off += pos as u64;
                *done += pos as u64;
                pos = 0;
                let have = buf.len();
                buf.resize(have + CHUNK.max(have), 0);
                let n = f.read(&mut buf[have..]).map_err(io_err)?;
                buf.truncate(have + n);
                if n == 0 {
                    eof = true;
                }
                if last_report.elapsed().as_secs() >= 2 && total > 0 {
                    last_report = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    info!(
                        progress = format!("{:.1}%", *done as f64 * 100.0 / total as f64),
                        mb_per_sec = format!("{:.1}", *done as f64 / 1e6 / secs),
                        "Loading the append only file"
                    );
                }
            }
        }
    }
    *done += pos as u64;
    let good = match multi_at {
        Some(m) => {
            warn!(
                file = name,
                "Revert incomplete MULTI/EXEC transaction in AOF file"
            );
            m
        }
        None => base_off + pos as u64,
    };
    let size = base_off + buf.len() as u64;
    if good < size {
        if !last || !truncated_ok {
            let why = if !last {
                "the truncated file is not the last file"
            } else {
                "aof-load-truncated is no"
            };
            return Err(LoadError(format!(
                "Unexpected end of file reading the append only file {name}: the last valid record ends at offset {good} of {size} ({why}). You can: 1) Make a backup of your AOF file, then use valkey-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            )));
        }
        warn!(
            file = name,
            "!!! Warning: short read while loading the AOF file !!!"
        );
        warn!(
            file = name,
            offset = good,
            "!!! Truncating the AOF at offset !!!"
        );
        let fw = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err)?;
        fw.set_len(good).map_err(io_err)?;
        fw.sync_all().map_err(io_err)?;
        warn!(
            file = name,
            "AOF loaded anyway because aof-load-truncated is enabled"
        );
    }
    // a transaction left open at the end is discarded with the client
    crate::commands::transactions::reset(srv, &mut client);
    Ok(commands)
}

/// DEBUG RELOAD (`from_disk` false) and DEBUG LOADAOF (true): the log is flushed, the
/// keyspace emptied and loaded back from the files. RELOAD with the AOF off keeps the
/// data as it is (there is no RDB to go through); LOADAOF loads whatever the manifest
/// on disk names, as Valkey does.
pub fn reload(srv: &Server, from_disk: bool) -> Result<(), String> {
    let a = aof();
    if !a.enabled() && !from_disk {
        return Ok(());
    }
    if a.enabled() {
        a.flush_sync().map_err(|e| e.to_string())?;
    }
    let (dir, prefix) = paths(srv);
    let m = if a.enabled() {
        a.st.lock().manifest.clone()
    } else {
        super::rewrite::read_manifest(&dir, &prefix).unwrap_or_default()
    };
    for d in srv.keyspace.dbs() {
        drop(d.flush());
    }
    a.loading.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = load_dir(srv, &dir, &m);
    a.loading.store(false, std::sync::atomic::Ordering::SeqCst);
    r.map_err(|e| {
        warn!(error = %e, "DEBUG LOADAOF failed");
        "Error trying to load the AOF files, check server logs.".to_string()
    })
}
