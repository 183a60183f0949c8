//! One client connection: read -> decode every complete request -> execute -> write all
//! replies with one write.
//!
//! The code is generic over the stream, so plain TCP and TLS connections are served by
//! the same code; each is monomorphized, so the plain path pays nothing for TLS.
//! Every write is followed by a flush: a no-op on TCP, while TLS may hold the last
//! records of a write until flushed.

use super::client::{cflags, Block, Client, ClientInfo, ReplyMode, UNBLOCK_ERROR};
use super::Server;
use crate::commands::dispatch;
use crate::protocol::decode::{Args, Decoded, Decoder, Limits};
use crate::protocol::Reply;
use bytes::{Buf, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, info};

/// Replies are flushed mid-batch past this size, so a client pipelining many large
/// reads does not make the server buffer them all.
const FLUSH_AT: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

const DENIED: &str = "-DENIED Running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers, you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to the server from the same host the server is running, however MAKE SURE it's not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Serves one accepted connection, plain or TLS (`fd` is the socket's, for CLIENT
/// LIST; `local` the listening address it came in on).
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    srv: Arc<Server>,
    mut sock: S,
    peer: SocketAddr,
    local: SocketAddr,
    fd: i64,
) {
    if srv.clients.len() >= srv.config.hot.maxclients.load(Relaxed) {
        srv.stats.rejected_connections.fetch_add(1, Relaxed);
        let _ = sock
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        let _ = sock.flush().await;
        return;
    }
    if srv.protected_mode_denies(&peer) {
        srv.stats.rejected_connections.fetch_add(1, Relaxed);
        let _ = sock.write_all(DENIED.as_bytes()).await;
        let _ = sock.flush().await;
        return;
    }
    let id = srv.clients.next_id();
    let info = Arc::new(ClientInfo::new(id, peer.to_string(), local.to_string(), fd));
    srv.clients.add(info.clone());
    let authenticated = !srv.config.hot.has_password.load(Relaxed);
    let mut client = Client::new(info.clone(), authenticated);
    debug!(id, %peer, "client connected");
    let r = run(&srv, &mut sock, &mut client).await;
    if let Err(e) = r {
        debug!(id, error = %e, "client connection ended with an error");
    }
    crate::commands::transactions::reset(&srv, &mut client);
    srv.pubsub.client_gone(&info);
    srv.remove_monitor(id);
    srv.clients.remove(id);
    debug!(id, "client disconnected");
}

async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    srv: &Arc<Server>,
    sock: &mut S,
    client: &mut Client,
) -> std::io::Result<()> {
    let info = client.info.clone();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut decoder = Decoder::new();
    let mut reply = Reply::new(false);
    let mut need = 0usize;
    loop {
        if info.killed.load(Relaxed) {
            return Ok(());
        }
        rbuf.reserve(need.max(READ_CHUNK));
        let timeout = srv.config.hot.timeout.load(Relaxed);
        // a timer per read is only armed when idle clients are to be closed
        let idle = (timeout > 0
            && !info.has_flag(cflags::PUBSUB | cflags::MONITOR | cflags::BLOCKED))
        .then(|| Duration::from_secs(timeout as u64));
        let idle_timer = async {
            match idle {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let n = tokio::select! {
            r = sock.read_buf(&mut rbuf) => r?,
            _ = info.kill.notified() => return Ok(()),
            _ = info.outbox.notify.notified() => {
                let mut out = Vec::new();
                info.outbox.drain_into(&mut out);
                if !out.is_empty() {
                    write_killable(sock, &info, &out).await?;
                    srv.stats.net_io(0, out.len() as u64);
                }
                continue;
            }
            _ = idle_timer => {
                info!(id = client.id, "closing idle client");
                return Ok(());
            }
        };
        // a client killed (CLIENT KILL) while its next request was arriving runs
        // nothing more: select! may have picked the read over the kill
        if n == 0 || info.killed.load(Relaxed) {
            return Ok(());
        }
        srv.stats.net_io(n as u64, 0);
        info.tot_net_in.fetch_add(n, Relaxed);
        let limit = srv.config.hot.client_query_buffer_limit.load(Relaxed);
        let mut limits = Limits {
            max_bulk_len: srv.config.hot.proto_max_bulk_len.load(Relaxed),
            authenticated: client.authenticated,
        };
        let mut off = 0;
        let mut fatal = false;
        need = 0;
        loop {
            let input = &rbuf[off..];
            // an AUTH earlier in this same read lifts the unauthenticated limits at once
            limits.authenticated = client.authenticated;
            match decoder.decode(input, &limits) {
                Ok(Decoded::Request { consumed }) => {
                    let mut args = Args::new();
                    decoder.args(input, &mut args);
                    if srv.pause_until_ms.load(Relaxed) != 0
                        && crate::commands::connection::pause_holds(srv, client, &args)
                    {
                        if !reply.is_empty() {
                            flush(srv, sock, &mut reply, &info).await?;
                        }
                        if !wait_unpaused(srv, client, &args).await {
                            return Ok(());
                        }
                    }
                    match crate::scripting::script_key(client, &args) {
                        Some(key) => {
                            let took = if crate::scripting::runs_off_thread(key) {
                                execute_script(srv, client, &mut reply, &args).await
                            } else {
                                execute(srv, client, &mut reply, &args);
                                crate::scripting::take_last_run()
                            };
                            if let Some(t) = took {
                                crate::scripting::note_run(key, t);
                            }
                        }
                        None => execute(srv, client, &mut reply, &args),
                    }
                    drop(args);
                    off += consumed;
                    if let Some(b) = client.block.take() {
                        if !wait_blocked(srv, sock, &mut rbuf, &mut reply, &info, b).await? {
                            return Ok(());
                        }
                    }
                    if client.close_after_reply || info.killed.load(Relaxed) {
                        fatal = true;
                        break;
                    }
                    if reply.len() >= FLUSH_AT {
                        flush(srv, sock, &mut reply, &info).await?;
                    }
                }
                Ok(Decoded::Empty { consumed }) => off += consumed,
                Ok(Decoded::Incomplete { hint }) => {
                    need = hint;
                    break;
                }
                Err(e) => {
                    let msg = format!("ERR {e}");
                    srv.stats.error_reply(&msg);
                    reply.error(&msg);
                    info!(id = client.id, addr = %info.addr, error = %e, "protocol error, closing client");
                    fatal = true;
                    break;
                }
            }
        }
        rbuf.advance(off);
        info.qbuf.store(rbuf.len(), Relaxed);
        if !fatal && rbuf.len() + need > limit {
            info!(id = client.id, addr = %info.addr, "closing client that reached max query buffer length");
            return Ok(());
        }
        if !reply.is_empty() {
            flush(srv, sock, &mut reply, &info).await?;
        }
        if fatal {
            sock.shutdown().await.ok();
            return Ok(());
        }
        // a huge request left a huge buffer behind: give the memory back
        if rbuf.is_empty() && rbuf.capacity() > 4 * 1024 * 1024 {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        reply.shrink();
    }
}

/// Holds a request back while a client pause applies to it (CLIENT PAUSE). Returns
/// false if the client was killed meanwhile.
async fn wait_unpaused(srv: &Server, client: &Client, args: &[&[u8]]) -> bool {
    let info = &client.info;
    info.set_flag(cflags::BLOCKED | cflags::PAUSED, true);
    srv.blocked_clients.fetch_add(1, Relaxed);
    let alive = loop {
        // armed before the check, so an UNPAUSE in between is not missed
        let released = srv.pause_notify.notified();
        tokio::pin!(released);
        released.as_mut().enable();
        if info.killed.load(Relaxed) {
            break false;
        }
        if !crate::commands::connection::pause_holds(srv, client, args) {
            break true;
        }
        let left = (srv.pause_until_ms.load(Relaxed) - srv.mono_ms()).max(1) as u64;
        tokio::select! {
            _ = released => {}
            _ = tokio::time::sleep(Duration::from_millis(left)) => {}
            _ = info.kill.notified() => break false,
        }
    };
    info.set_flag(cflags::BLOCKED | cflags::PAUSED, false);
    srv.blocked_clients.fetch_sub(1, Relaxed);
    alive
}

/// Suspends the client as its last command asked (see [`Block`]): earlier replies go
/// out now, this command's reply when the wait ends. Returns false if the client was
/// killed or went away meanwhile. What the client sends while it waits is read into
/// `rbuf` (up to the query buffer limit), both to notice a closed connection and to
/// run it afterwards.
async fn wait_blocked<S: AsyncRead + AsyncWrite + Unpin>(
    srv: &Server,
    sock: &mut S,
    rbuf: &mut BytesMut,
    reply: &mut Reply,
    info: &ClientInfo,
    b: Block,
) -> std::io::Result<bool> {
    let at = b.reply_at.min(reply.len());
    if at > 0 {
        let held = reply.as_bytes()[at..].to_vec();
        reply.truncate(at);
        flush(srv, sock, reply, info).await?;
        reply.raw(&held);
    }
    if b.blocked {
        info.unblock_mode.store(0, Relaxed);
        info.set_flag(cflags::BLOCKED, true);
        srv.blocked_clients.fetch_add(1, Relaxed);
    }
    let deadline = b.timeout.map(|d| tokio::time::Instant::now() + d);
    enum End {
        Timeout,
        Killed,
        Unblocked(u8),
        Served,
    }
    let end = loop {
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let served = async {
            match &b.waiter {
                Some(w) => w.served.notified().await,
                None => std::future::pending().await,
            }
        };
        let room = rbuf.len() < srv.config.hot.client_query_buffer_limit.load(Relaxed);
        if room {
            rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            _ = served => break End::Served,
            _ = timer => break End::Timeout,
            // pushes (pub/sub messages, MONITOR lines) keep flowing while blocked
            _ = info.outbox.notify.notified() => {
                let mut out = Vec::new();
                info.outbox.drain_into(&mut out);
                if !out.is_empty() {
                    if write_killable(sock, info, &out).await.is_err() {
                        break End::Killed;
                    }
                    srv.stats.net_io(0, out.len() as u64);
                }
            }
            r = sock.read_buf(rbuf), if room => match r {
                Ok(0) | Err(_) => break End::Killed,
                Ok(n) => {
                    srv.stats.net_io(n as u64, 0);
                    info.tot_net_in.fetch_add(n, Relaxed);
                }
            },
            _ = info.kill.notified() => break End::Killed,
            _ = info.unblock.notified(), if b.blocked => {
                // a wake-up left over from an earlier block carries no reason
                let m = info.unblock_mode.swap(0, Relaxed);
                if m != 0 {
                    break End::Unblocked(m);
                }
            }
        }
    };
    // whatever ended the wait, a reply served meanwhile wins over a timeout
    let served = b.waiter.as_ref().and_then(|w| srv.blocking.finish(w));
    if b.waiter.is_some() {
        info.tot_cmds.fetch_add(1, Relaxed);
    }
    if b.blocked {
        info.set_flag(cflags::BLOCKED, false);
        srv.blocked_clients.fetch_sub(1, Relaxed);
    }
    if let Some(bytes) = served {
        reply.clear();
        reply.raw(&bytes);
        return Ok(!matches!(end, End::Killed));
    }
    match end {
        End::Killed => Ok(false),
        End::Unblocked(UNBLOCK_ERROR) => {
            let msg = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
            reply.clear();
            srv.stats.error_reply(msg);
            reply.error(msg);
            Ok(true)
        }
        _ => Ok(true),
    }
}

/// Writes everything unless the client is killed first: a client that stopped
/// reading (a subscriber over its output buffer limit, CLIENT KILL) must not keep
/// its connection, subscriptions and buffers alive by leaving the write pending.
async fn write_killable<S: AsyncWrite + Unpin>(
    sock: &mut S,
    info: &ClientInfo,
    bytes: &[u8],
) -> std::io::Result<()> {
    let write = async {
        sock.write_all(bytes).await?;
        sock.flush().await
    };
    tokio::select! {
        r = write => r,
        _ = info.kill.notified() => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "client killed while its output was pending",
        )),
    }
}

/// Writes a client's replies under the `normal` class of
/// `client-output-buffer-limit`, counted on what the socket has not taken yet (as
/// Valkey counts unsent reply bytes): over the hard limit, or over the soft one for
/// longer than its seconds, the client is closed instead of its output being held.
/// Subscribers are held to the `pubsub` class where messages are queued.
async fn write_limited<S: AsyncWrite + Unpin>(
    srv: &Server,
    sock: &mut S,
    info: &ClientInfo,
    bytes: &[u8],
) -> std::io::Result<()> {
    let h = &srv.config.hot;
    let hard = h.normal_obuf_hard.load(Relaxed);
    let soft = h.normal_obuf_soft.load(Relaxed);
    let unlimited = |l: usize| l == 0 || bytes.len() <= l;
    if (unlimited(hard) && unlimited(soft)) || info.has_flag(cflags::PUBSUB) {
        return write_killable(sock, info, bytes).await;
    }
    let soft_for = Duration::from_secs(h.normal_obuf_soft_secs.load(Relaxed).max(0) as u64);
    let mut soft_since: Option<tokio::time::Instant> = None;
    let mut off = 0;
    while off < bytes.len() {
        let left = bytes.len() - off;
        info.obuf.store(left, Relaxed);
        let over_soft = soft > 0 && left > soft;
        if !over_soft {
            soft_since = None;
        }
        let since = over_soft.then(|| *soft_since.get_or_insert_with(tokio::time::Instant::now));
        let over = (hard > 0 && left > hard) || since.is_some_and(|s| s.elapsed() >= soft_for);
        if over {
            srv.pubsub.obuf_disconnections.fetch_add(1, Relaxed);
            info!(
                id = info.id,
                addr = %info.addr,
                "client scheduled to be closed ASAP for overcoming of output buffer limits"
            );
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "client output buffer limit reached",
            ));
        }
        let soft_timer = async {
            match since {
                Some(s) => tokio::time::sleep_until(s + soft_for).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = sock.write(&bytes[off..]) => match r? {
                0 => return Err(std::io::ErrorKind::WriteZero.into()),
                w => off += w,
            },
            _ = info.kill.notified() => return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "client killed while its output was pending",
            )),
            _ = soft_timer => {}
        }
    }
    // what TLS still holds is within its own bounded buffer: no limit applies to it
    write_killable(sock, info, &[]).await
}

async fn flush<S: AsyncWrite + Unpin>(
    srv: &Server,
    sock: &mut S,
    reply: &mut Reply,
    info: &ClientInfo,
) -> std::io::Result<()> {
    // appendfsync always: replies to writes go out only once their records are on disk
    crate::persistence::wait_durable().await;
    let n = reply.len();
    info.obuf.store(n, Relaxed);
    write_limited(srv, sock, info, reply.as_bytes()).await?;
    reply.clear();
    info.obuf.store(0, Relaxed);
    info.tot_net_out.fetch_add(n, Relaxed);
    srv.stats.net_io(0, n as u64);
    Ok(())
}

/// Runs a script (EVAL*, FCALL*) on a blocking thread: a script may run for long,
/// and this worker must keep serving its other connections meanwhile (they get BUSY
/// once it runs past busy-reply-threshold, and may SCRIPT KILL it).
async fn execute_script(
    srv: &Arc<Server>,
    client: &mut Client,
    reply: &mut Reply,
    args: &[&[u8]],
) -> Option<std::time::Duration> {
    let srv2 = srv.clone();
    let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    let stand_in = Client::new(client.info.clone(), client.authenticated);
    let mut c = std::mem::replace(client, stand_in);
    let mut r = std::mem::take(reply);
    let job = tokio::task::spawn_blocking(move || {
        let a: Args = owned.iter().map(|a| a.as_slice()).collect();
        execute(&srv2, &mut c, &mut r, &a);
        (c, r, crate::scripting::take_last_run())
    });
    match job.await {
        Ok((c, r, took)) => {
            *client = c;
            *reply = r;
            took
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

/// Runs one request and applies CLIENT REPLY OFF/SKIP to its reply.
fn execute(srv: &Server, client: &mut Client, reply: &mut Reply, args: &[&[u8]]) {
    if client.reply_mode == ReplyMode::SkipNext {
        client.reply_mode = ReplyMode::Skip;
    }
    let start = reply.len();
    reply.set_resp3(client.resp == 3);
    dispatch(srv, client, reply, args);
    crate::commands::after_command(srv);
    match client.reply_mode {
        ReplyMode::Off => reply.truncate(start),
        ReplyMode::Skip => {
            reply.truncate(start);
            client.reply_mode = ReplyMode::On;
        }
        _ => {}
    }
}
