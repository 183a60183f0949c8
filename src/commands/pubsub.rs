//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
//! SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB. The registry and delivery are in
//! [`crate::pubsub`].
//!
//! (Un)subscribe confirmations are pushes: a RESP2 array or a RESP3 `>` frame, one per
//! channel. As in Valkey they reach the client even under CLIENT REPLY OFF/SKIP, so
//! when this command's reply is to be discarded they go through the client's outbox
//! instead of the reply buffer.

use super::flags::*;
use super::spec::container;
use super::{CmdError, CmdResult, Command, Ctx};
use crate::protocol::Reply;
use crate::pubsub::{confirmation_count, Kind};
use crate::server::{Origin, ReplyMode};

// one line per declaration keeps the table readable
#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE | PUBSUB_CONTEXT, subscribe)
        .doc("pubsub", "2.0.0", "Listens for messages published to channels.", "O(N) where N is the number of channels to subscribe to."),
    Command::new("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE | PUBSUB_CONTEXT, unsubscribe)
        .doc("pubsub", "2.0.0", "Stops listening to messages posted to channels.", "O(N) where N is the number of channels to unsubscribe."),
    Command::new("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE | PUBSUB_CONTEXT, psubscribe)
        .doc("pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.", "O(N) where N is the number of patterns to subscribe to."),
    Command::new("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE | PUBSUB_CONTEXT, punsubscribe)
        .doc("pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", "O(N) where N is the number of patterns to unsubscribe."),
    Command::new("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE | PUBSUB_CONTEXT, ssubscribe)
        .keys(1, -1, 1)
        .doc("pubsub", "7.0.0", "Listens for messages published to shard channels.", "O(N) where N is the number of shard channels to subscribe to."),
    Command::new("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE | PUBSUB_CONTEXT, sunsubscribe)
        .keys(1, -1, 1)
        .doc("pubsub", "7.0.0", "Stops listening to messages posted to shard channels.", "O(N) where N is the number of shard channels to unsubscribe."),
    Command::new("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, publish)
        .doc("pubsub", "2.0.0", "Posts a message to a channel.", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    Command::new("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, spublish)
        .keys(1, 1, 1)
        .doc("pubsub", "7.0.0", "Post a message to a shard channel", "O(N) where N is the number of clients subscribed to the receiving shard channel."),
    Command::new("pubsub", -2, 0, container)
        .doc("pubsub", "2.8.0", "A container for Pub/Sub commands.", "Depends on subcommand.")
        .subs(&[
            Command::new("channels", -2, PUBSUB | LOADING | STALE, pubsub_channels)
                .doc("pubsub", "2.8.0", "Returns the active channels.", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
            Command::new("numsub", -2, PUBSUB | LOADING | STALE, pubsub_numsub)
                .doc("pubsub", "2.8.0", "Returns a count of subscribers to channels.", "O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
            Command::new("numpat", 2, PUBSUB | LOADING | STALE, pubsub_numpat)
                .doc("pubsub", "2.8.0", "Returns a count of unique pattern subscriptions.", "O(1)"),
            Command::new("shardchannels", -2, PUBSUB | LOADING | STALE, pubsub_shardchannels)
                .doc("pubsub", "7.0.0", "Returns the active shard channels.", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."),
            Command::new("shardnumsub", -2, PUBSUB | LOADING | STALE, pubsub_shardnumsub)
                .doc("pubsub", "7.0.0", "Returns the count of subscribers of shard channels.", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"),
            Command::new("help", 2, LOADING | STALE, pubsub_help)
                .doc("pubsub", "6.2.0", "Returns helpful text about the different subcommands.", "O(1)"),
        ]),
];

/// Writes one (un)subscribe confirmation: `[word, name or null, count]`.
fn confirm(ctx: &mut Ctx, word: &str, name: Option<&[u8]>, count: usize) {
    // a reply about to be discarded (CLIENT REPLY OFF/SKIP) must not take the push
    // with it; nested commands (EXEC) keep theirs inside the EXEC reply
    let discarded = ctx.client.origin == Origin::Client
        && matches!(ctx.client.reply_mode, ReplyMode::Off | ReplyMode::Skip);
    if discarded {
        let mut r = Reply::new(ctx.client.resp == 3);
        write_confirmation(&mut r, word, name, count);
        ctx.client.info.outbox.push(r.take(), 0);
    } else {
        write_confirmation(ctx.out, word, name, count);
    }
}

fn write_confirmation(out: &mut Reply, word: &str, name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk_str(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_kind(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) -> CmdResult {
    // Valkey refuses clients that expect one reply per command (scripts; for shard
    // channels also MULTI/EXEC)
    let denied = match kind {
        Kind::Shard => ctx.client.nested(),
        _ => ctx.client.nested() && ctx.client.origin != Origin::Exec,
    };
    if denied {
        return Err(CmdError::err(format!(
            "{} isn't allowed for a DENY BLOCKING client",
            kind.subscribe_word().to_ascii_uppercase()
        )));
    }
    let info = ctx.client.info.clone();
    for name in &args[1..] {
        ctx.srv.pubsub.subscribe(&info, kind, name);
        let count = confirmation_count(&info, kind);
        confirm(ctx, kind.subscribe_word(), Some(name), count);
    }
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) -> CmdResult {
    let info = ctx.client.info.clone();
    let ps = &ctx.srv.pubsub;
    if args.len() == 1 {
        let before = confirmation_count(&info, kind);
        let names = ps.unsubscribe_all(&info, kind);
        if names.is_empty() {
            confirm(ctx, kind.unsubscribe_word(), None, before);
        }
        // each confirmation carries the count left after that one, as Valkey's
        for (i, n) in names.iter().enumerate() {
            confirm(
                ctx,
                kind.unsubscribe_word(),
                Some(n),
                before.saturating_sub(i + 1),
            );
        }
    } else {
        for name in &args[1..] {
            ps.unsubscribe(&info, kind, name);
            let count = confirmation_count(&info, kind);
            confirm(ctx, kind.unsubscribe_word(), Some(name), count);
        }
    }
    ctx.srv.pubsub.refresh_flag(&info);
    Ok(())
}

fn subscribe(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Shard)
}

fn publish(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let n = ctx.srv.pubsub.publish(ctx.srv, false, args[1], args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

fn spublish(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let n = ctx.srv.pubsub.publish(ctx.srv, true, args[1], args[2]);
    ctx.out.int(n as i64);
    Ok(())
}

fn channels(ctx: &mut Ctx, args: &[&[u8]], shard: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args));
    }
    let names = ctx.srv.pubsub.channel_names(shard, args.get(2).copied());
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn numsub(ctx: &mut Ctx, args: &[&[u8]], shard: bool) -> CmdResult {
    ctx.out.array((args.len() - 2) * 2);
    for ch in &args[2..] {
        ctx.out.bulk(ch);
        ctx.out.int(ctx.srv.pubsub.numsub(shard, ch) as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    channels(ctx, args, false)
}

fn pubsub_shardchannels(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    channels(ctx, args, true)
}

fn pubsub_numsub(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    numsub(ctx, args, false)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    numsub(ctx, args, true)
}

fn pubsub_numpat(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.srv.pubsub.pattern_count() as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx, _: &[&[u8]]) -> CmdResult {
    super::server::help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
