//! BGREWRITEAOF, SAVE and BGSAVE. There is no RDB format: a "save" is an AOF rewrite,
//! which makes the whole dataset durable in a compact BASE file when the AOF is on.

use super::{aof, rewrite};
use crate::commands::flags::*;
use crate::commands::{acl, is, CmdError, CmdResult, Command, Ctx};
use std::sync::atomic::Ordering::Relaxed;

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("bgrewriteaof", 1, ADMIN | NOSCRIPT, bgrewriteaof)
        .acl(acl::ADMIN | acl::SLOW | acl::DANGEROUS)
        .doc("server", "1.0.0", "Asynchronously rewrites the append-only file to disk.", "O(1)"),
    Command::new("save", 1, ADMIN | NOSCRIPT | NO_MULTI | EXCLUSIVE, save)
        .acl(acl::ADMIN | acl::SLOW | acl::DANGEROUS)
        .doc("server", "1.0.0", "Synchronously saves the database(s) to disk.", "O(N) where N is the total number of keys in all databases"),
    Command::new("bgsave", -1, ADMIN | NOSCRIPT, bgsave)
        .acl(acl::ADMIN | acl::SLOW | acl::DANGEROUS)
        .doc("server", "1.0.0", "Asynchronously saves the database(s) to disk.", "O(1)"),
];

fn server_arc(ctx: &Ctx) -> Option<std::sync::Arc<crate::server::Server>> {
    let s = aof().srv.get()?;
    std::ptr::eq(&**s, ctx.srv).then(|| s.clone())
}

fn bgrewriteaof(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let a = aof();
    if a.rewriting.load(Relaxed) {
        return Err(CmdError::err(
            "Background append only file rewriting already in progress",
        ));
    }
    let Some(srv) = server_arc(ctx) else {
        return Err(CmdError::err(
            "Can't execute an AOF background rewriting. Please check the server logs for more information.",
        ));
    };
    if ctx.client.info.has_flag(crate::server::cflags::MULTI) {
        // inside a transaction the rewrite starts once it is over, as Valkey does
        a.rw.lock().scheduled = true;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    if !rewrite::spawn(srv) {
        return Err(CmdError::err(
            "Background append only file rewriting already in progress",
        ));
    }
    ctx.out
        .simple("Background append only file rewriting started");
    Ok(())
}

fn save(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    let a = aof();
    if a.enabled() {
        if a.rewriting.load(Relaxed) {
            return Err(CmdError::err("Background save already in progress"));
        }
        // SAVE holds the gate exclusively (EXCLUSIVE): the rewrite runs right here
        rewrite::run_exclusive(ctx.srv).map_err(|e| {
            tracing::warn!(error = %e, "SAVE failed");
            CmdError::err("Background save already in progress")
        })?;
    }
    ctx.srv
        .lastsave
        .store(crate::store::now_ms() / 1000, Relaxed);
    ctx.out.ok();
    Ok(())
}

fn bgsave(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is(args[1], "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let a = aof();
    if a.enabled() {
        if a.rewriting.load(Relaxed) {
            if schedule {
                a.rw.lock().scheduled = true;
                ctx.out.simple("Background saving scheduled");
                return Ok(());
            }
            return Err(CmdError::err(
                "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
            ));
        }
        if let Some(srv) = server_arc(ctx) {
            rewrite::spawn(srv);
        }
    }
    ctx.srv
        .lastsave
        .store(crate::store::now_ms() / 1000, Relaxed);
    ctx.out.simple("Background saving started");
    Ok(())
}
