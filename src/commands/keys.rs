//! Generic keyspace commands.

use super::flags::*;
use super::{acl, CmdResult, Command, Ctx};

const KS: u64 = acl::KEYSPACE;

pub static COMMANDS: &[Command] = &[
    Command::new("del", -2, WRITE, del)
        .keys(1, -1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed."),
    Command::new("exists", -2, READONLY | FAST, exists)
        .keys(1, -1, 1)
        .acl(KS)
        .doc("generic", "1.0.0", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check."),
];

fn del(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = &args[1..];
    let mut n = 0;
    {
        let db = ctx.db();
        let mut locks = db.lock_keys(keys.iter().copied());
        for k in keys {
            if locks.shard(k).delete(k, ctx.now).is_some() {
                n += 1;
            }
        }
    }
    ctx.dirty += n;
    ctx.out.int(n as i64);
    Ok(())
}

fn exists(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let keys = &args[1..];
    let mut n = 0;
    {
        let db = ctx.db();
        let mut locks = db.lock_keys(keys.iter().copied());
        for k in keys {
            if locks.shard(k).contains(k, ctx.now) {
                n += 1;
            }
        }
    }
    ctx.out.int(n);
    Ok(())
}
