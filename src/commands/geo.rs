//! Geospatial commands: points stored in a sorted set, each scored by its 52-bit
//! geohash (latitude bits interleaved with longitude bits over Web Mercator's latitude
//! range), exactly as Valkey encodes them, so sets written by either server read the
//! same through GEOPOS, GEODIST and ZSCORE.
//!
//! Searches decode every member and keep those inside the shape. Valkey narrows the
//! candidates to nine geohash boxes first; the members inside the shape are the same
//! either way, only the work differs (linear in the set's size here).

use super::flags::*;
use super::{acl, is, parse_i64, CmdError, CmdResult, Command, Ctx};
use crate::pubsub::class;
use crate::store::zset::{Limits, ZSet};
use crate::store::{NewValue, Object, ValueRef};
use std::sync::atomic::Ordering::Relaxed;

const GEO: u64 = acl::GEO;
const SEARCH_CX: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";
const SHAPE_CX: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    Command::new("geoadd", -5, WRITE | DENYOOM, geoadd)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "3.2.0", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    Command::new("geodist", -4, READONLY, geodist)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "3.2.0", "Returns the distance between two members of a geospatial index.", "O(1)"),
    Command::new("geohash", -2, READONLY, geohash)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "3.2.0", "Returns members from a geospatial index as geohash strings.", "O(1) for each member requested."),
    Command::new("geopos", -2, READONLY, geopos)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "3.2.0", "Returns the longitude and latitude of members from a geospatial index.", "O(1) for each member requested."),
    Command::new("georadius", -6, WRITE | DENYOOM | MOVABLEKEYS, georadius)
        .keys(1, 1, 1)
        .more_keys(store_after_6)
        .acl(GEO)
        .doc("geo", "3.2.0", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", SEARCH_CX),
    Command::new("georadius_ro", -6, READONLY, georadius_ro)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a coordinate.", SEARCH_CX),
    Command::new("georadiusbymember", -5, WRITE | DENYOOM | MOVABLEKEYS, georadiusbymember)
        .keys(1, 1, 1)
        .more_keys(store_after_5)
        .acl(GEO)
        .doc("geo", "3.2.0", "Queries a geospatial index for members within a distance from a member, optionally stores the result.", SEARCH_CX),
    Command::new("georadiusbymember_ro", -5, READONLY, georadiusbymember_ro)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a member.", SEARCH_CX),
    Command::new("geosearch", -7, READONLY, geosearch)
        .keys(1, 1, 1)
        .acl(GEO)
        .doc("geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle.", SHAPE_CX),
    Command::new("geosearchstore", -8, WRITE | DENYOOM, geosearchstore)
        .keys(1, 2, 1)
        .acl(GEO)
        .doc("geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", SHAPE_CX),
];

const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const STEP: u32 = 26;
const EARTH_RADIUS_M: f64 = 6372797.560856;

// ---------------------------------------------------------------- geohash

/// Spreads the 32 bits of `v` over the even bits of a u64.
fn spread(v: u32) -> u64 {
    let mut x = v as u64;
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `x` into a u32.
fn squash(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// The 52-bit hash of a point for the given latitude range (Web Mercator's for
/// scores, the full -90..90 for GEOHASH strings).
fn encode(lon: f64, lat: f64, lat_min: f64, lat_max: f64) -> u64 {
    let scale = (1u64 << STEP) as f64;
    let lat_off = (lat - lat_min) / (lat_max - lat_min) * scale;
    let lon_off = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * scale;
    spread(lat_off as u32) | (spread(lon_off as u32) << 1)
}

/// The centre of a score's cell, clamped to the valid ranges.
fn decode(bits: u64) -> (f64, f64) {
    let scale = (1u64 << STEP) as f64;
    let ilat = squash(bits) as f64;
    let ilon = squash(bits >> 1) as f64;
    let lat_lo = LAT_MIN + ilat / scale * (LAT_MAX - LAT_MIN);
    let lat_hi = LAT_MIN + (ilat + 1.0) / scale * (LAT_MAX - LAT_MIN);
    let lon_lo = LONG_MIN + ilon / scale * (LONG_MAX - LONG_MIN);
    let lon_hi = LONG_MIN + (ilon + 1.0) / scale * (LONG_MAX - LONG_MIN);
    let lon = ((lon_lo + lon_hi) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((lat_lo + lat_hi) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

fn rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (rad(lat2) - rad(lat1)).abs()
}

/// Haversine distance in meters, as Valkey computes it.
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((rad(lon2) - rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let u = ((rad(lat2) - rad(lat1)) / 2.0).sin();
    let a = u * u + rad(lat1).cos() * rad(lat2).cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

// ---------------------------------------------------------------- arguments

fn lon_lat(a: &[u8], b: &[u8]) -> Result<(f64, f64), CmdError> {
    // getDoubleFromObject: hex floats accepted, out of range (1e400, 1e-400) refused
    let lon = super::zsets::double_arg(a).ok_or(CmdError::NotFloat)?;
    let lat = super::zsets::double_arg(b).ok_or(CmdError::NotFloat)?;
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// Meters per unit.
fn unit(a: &[u8]) -> Result<f64, CmdError> {
    if is(a, "m") {
        Ok(1.0)
    } else if is(a, "km") {
        Ok(1000.0)
    } else if is(a, "ft") {
        Ok(0.3048)
    } else if is(a, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

fn number(a: &[u8], what: &str) -> Result<f64, CmdError> {
    super::zsets::double_arg(a).ok_or_else(|| CmdError::err(format!("need numeric {what}")))
}

/// Valkey's "human" long double: 17 decimals, trailing zeros dropped.
fn human(v: f64) -> String {
    let s = format!("{v:.17}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// A coordinate as Valkey's addReplyHumanLongDouble sends it: the human form, as a
/// bulk string in RESP2 and as a double in RESP3.
fn coord(ctx: &mut Ctx, v: f64) {
    let text = human(v);
    if ctx.out.resp3() {
        ctx.out.raw(format!(",{text}\r\n").as_bytes());
    } else {
        ctx.out.bulk(text.as_bytes());
    }
}

/// The members and scores of the zset at `key` (None: absent); WRONGTYPE otherwise.
fn with_zset<T>(ctx: &Ctx, key: &[u8], f: impl FnOnce(&ZSet) -> T) -> Result<Option<T>, CmdError> {
    let db = ctx.db();
    let mut shard = db.lock(key);
    match shard.get(key, ctx.now).map(|n| n.value()) {
        None => Ok(None),
        Some(ValueRef::Obj(Object::ZSet(z))) => Ok(Some(f(z))),
        Some(_) => Err(CmdError::WrongType),
    }
}

// ---------------------------------------------------------------- GEOADD, GEOPOS, GEODIST, GEOHASH

fn geoadd(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut i = 2;
    let mut flags: Vec<&[u8]> = Vec::new();
    while i < args.len() {
        let a = args[i];
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if !is(a, "ch") {
            break;
        }
        flags.push(a);
        i += 1;
    }
    if !(args.len() - i).is_multiple_of(3) || (nx && xx) || i == args.len() {
        return Err(CmdError::Syntax);
    }
    let mut scores = Vec::with_capacity((args.len() - i) / 3);
    for t in args[i..].chunks(3) {
        let (lon, lat) = lon_lat(t[0], t[1])?;
        scores.push(encode(lon, lat, LAT_MIN, LAT_MAX).to_string());
    }
    // the points go in as ZADD would put them: same flags, same reply, same events
    let mut zargs: Vec<&[u8]> = vec![b"zadd", args[1]];
    zargs.extend(flags);
    for (t, s) in args[i..].chunks(3).zip(&scores) {
        zargs.push(s.as_bytes());
        zargs.push(t[2]);
    }
    super::zsets::zadd(ctx, &zargs)
}

fn geopos(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let members = &args[2..];
    let scores = with_zset(ctx, args[1], |z| {
        members.iter().map(|m| z.score(m)).collect::<Vec<_>>()
    })?
    .unwrap_or_else(|| vec![None; members.len()]);
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => {
                let (lon, lat) = decode(s as u64);
                ctx.out.array(2);
                coord(ctx, lon);
                coord(ctx, lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

fn geodist(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    let conversion = match args.len() {
        4 => 1.0,
        5 => unit(args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let scores = with_zset(ctx, args[1], |z| (z.score(args[2]), z.score(args[3])))?;
    match scores {
        Some((Some(a), Some(b))) => {
            let (lon1, lat1) = decode(a as u64);
            let (lon2, lat2) = decode(b as u64);
            let d = distance(lon1, lat1, lon2, lat2) / conversion;
            ctx.out.bulk(format!("{d:.4}").as_bytes());
        }
        _ => ctx.out.null(),
    }
    Ok(())
}

fn geohash(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let members = &args[2..];
    let scores = with_zset(ctx, args[1], |z| {
        members.iter().map(|m| z.score(m)).collect::<Vec<_>>()
    })?
    .unwrap_or_else(|| vec![None; members.len()]);
    ctx.out.array(scores.len());
    for s in scores {
        let Some(s) = s else {
            ctx.out.null();
            continue;
        };
        // re-encoded over the standard latitude range, as geohash.org expects
        let (lon, lat) = decode(s as u64);
        let bits = encode(lon, lat, -90.0, 90.0);
        let mut text = [0u8; 11];
        for (i, c) in text.iter_mut().enumerate() {
            let idx = if i == 10 {
                0
            } else {
                (bits >> (52 - (i + 1) * 5)) & 0x1f
            };
            *c = ALPHABET[idx as usize];
        }
        ctx.out.bulk(&text);
    }
    Ok(())
}

// ---------------------------------------------------------------- searches

#[derive(Clone, Copy)]
enum Shape {
    Radius(f64),
    Box(f64, f64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS[_RO]: key lon lat radius unit
    Coords,
    /// GEORADIUSBYMEMBER[_RO]: key member radius unit
    Member,
    /// GEOSEARCH key FROM... BY...
    Search,
    /// GEOSEARCHSTORE dst key FROM... BY...
    SearchStore,
}

fn georadius(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    search(ctx, args, Variant::Coords, true)
}

fn georadius_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    search(ctx, args, Variant::Coords, false)
}

fn georadiusbymember(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    search(ctx, args, Variant::Member, true)
}

fn georadiusbymember_ro(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    search(ctx, args, Variant::Member, false)
}

fn geosearch(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    search(ctx, args, Variant::Search, false)
}

fn geosearchstore(ctx: &mut Ctx, args: &[&[u8]]) -> CmdResult {
    search(ctx, args, Variant::SearchStore, false)
}

/// STORE/STOREDIST destinations of GEORADIUS (options start after `base` arguments).
fn store_keys(args: &[&[u8]], base: usize) -> Vec<usize> {
    let mut v = Vec::new();
    let mut i = base;
    while i < args.len() {
        if (is(args[i], "store") || is(args[i], "storedist")) && i + 1 < args.len() {
            v.clear();
            v.push(i + 1);
            i += 1;
        }
        i += 1;
    }
    v
}

fn store_after_6(args: &[&[u8]]) -> Vec<usize> {
    store_keys(args, 6)
}

fn store_after_5(args: &[&[u8]]) -> Vec<usize> {
    store_keys(args, 5)
}

struct Found {
    member: Vec<u8>,
    score: f64,
    dist: f64,
    lon: f64,
    lat: f64,
}

fn search(ctx: &mut Ctx, args: &[&[u8]], variant: Variant, may_store: bool) -> CmdResult {
    let src = if variant == Variant::SearchStore {
        args[2]
    } else {
        args[1]
    };
    // the whole set is read once: members, scores, and the centre's own score
    let members: Option<Vec<(Vec<u8>, f64)>> = with_zset(ctx, src, |z| {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    })?;
    let score_of = |m: &[u8]| {
        members
            .as_ref()
            .and_then(|v| v.iter().find(|(x, _)| x == m).map(|(_, s)| *s))
    };
    let no_member = || CmdError::err("could not decode requested zset member");
    let mut center: Option<(f64, f64)> = None;
    let mut shape: Option<(Shape, f64)> = None;
    let mut store: Option<&[u8]> = None;
    let mut storedist = false;
    let base = match variant {
        Variant::Coords => {
            center = Some(lon_lat(args[2], args[3])?);
            let r = number(args[4], "radius")?;
            if r < 0.0 {
                return Err(CmdError::err("radius cannot be negative"));
            }
            shape = Some((Shape::Radius(r), unit(args[5])?));
            6
        }
        Variant::Member => {
            if members.is_some() {
                let s = score_of(args[2]).ok_or_else(no_member)?;
                center = Some(decode(s as u64));
                let r = number(args[3], "radius")?;
                if r < 0.0 {
                    return Err(CmdError::err("radius cannot be negative"));
                }
                shape = Some((Shape::Radius(r), unit(args[4])?));
            }
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            store = Some(args[1]);
            3
        }
    };
    let searching = matches!(variant, Variant::Search | Variant::SearchStore);
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort: Option<bool> = None; // Some(true) = ascending
    let mut count: i64 = 0;
    let mut i = base;
    while i < args.len() {
        let a = args[i];
        let left = args.len() - i - 1;
        if is(a, "withdist") {
            withdist = true;
        } else if is(a, "withhash") {
            withhash = true;
        } else if is(a, "withcoord") {
            withcoord = true;
        } else if is(a, "any") {
            any = true;
        } else if is(a, "asc") {
            sort = Some(true);
        } else if is(a, "desc") {
            sort = Some(false);
        } else if is(a, "count") && left >= 1 {
            count = parse_i64(args[i + 1]).ok_or(CmdError::NotInteger)?;
            if count <= 0 {
                return Err(CmdError::err("COUNT must be > 0"));
            }
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && left >= 1 && may_store && !searching {
            store = Some(args[i + 1]);
            storedist = is(a, "storedist");
            i += 1;
        } else if is(a, "storedist") && variant == Variant::SearchStore {
            storedist = true;
        } else if is(a, "frommember") && left >= 1 && searching && !fromloc {
            if members.is_some() {
                let s = score_of(args[i + 1]).ok_or_else(no_member)?;
                center = Some(decode(s as u64));
            }
            frommember = true;
            i += 1;
        } else if is(a, "fromlonlat") && left >= 2 && searching && !frommember {
            center = Some(lon_lat(args[i + 1], args[i + 2])?);
            fromloc = true;
            i += 2;
        } else if is(a, "byradius") && left >= 2 && searching && !bybox {
            let r = number(args[i + 1], "radius")?;
            if r < 0.0 {
                return Err(CmdError::err("radius cannot be negative"));
            }
            shape = Some((Shape::Radius(r), unit(args[i + 2])?));
            byradius = true;
            i += 2;
        } else if is(a, "bybox") && left >= 3 && searching && !byradius {
            let w = number(args[i + 1], "width")?;
            let h = number(args[i + 2], "height")?;
            if w < 0.0 || h < 0.0 {
                return Err(CmdError::err("height or width cannot be negative"));
            }
            shape = Some((Shape::Box(w, h), unit(args[i + 3])?));
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let name = String::from_utf8_lossy(args[0]).into_owned();
    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if variant == Variant::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    if searching && !(frommember || fromloc) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if searching && !(byradius || bybox) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    let (Some(members), Some((cx, cy)), Some((shape, conversion))) = (members, center, shape)
    else {
        // no source set: nothing found (the destination, if any, is emptied)
        return finish_store_or_reply(ctx, store, Vec::new(), storedist, 1.0, variant);
    };
    // sizes are given in the unit; the tests are in meters
    let shape = match shape {
        Shape::Radius(r) => Shape::Radius(r * conversion),
        Shape::Box(w, h) => Shape::Box(w * conversion, h * conversion),
    };
    let mut found: Vec<Found> = Vec::new();
    for (member, score) in members {
        let (lon, lat) = decode(score as u64);
        let dist = match shape {
            Shape::Radius(r) => {
                let d = distance(cx, cy, lon, lat);
                if d > r {
                    continue;
                }
                d
            }
            Shape::Box(w, h) => {
                if lat_distance(lat, cy) > h / 2.0 || distance(lon, lat, cx, lat) > w / 2.0 {
                    continue;
                }
                distance(cx, cy, lon, lat)
            }
        };
        found.push(Found {
            member,
            score,
            dist,
            lon,
            lat,
        });
        if any && found.len() as i64 >= count {
            break;
        }
    }
    // COUNT alone means "the nearest N"
    if count > 0 && sort.is_none() && !any {
        sort = Some(true);
    }
    if let Some(asc) = sort {
        found.sort_by(|a, b| {
            let o = a
                .dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Equal);
            if asc {
                o
            } else {
                o.reverse()
            }
        });
    }
    if count > 0 {
        found.truncate(count as usize);
    }
    if store.is_some() {
        return finish_store_or_reply(ctx, store, found, storedist, conversion, variant);
    }
    let extra = withdist as usize + withhash as usize + withcoord as usize;
    ctx.out.array(found.len());
    for f in &found {
        if extra > 0 {
            ctx.out.array(extra + 1);
        }
        ctx.out.bulk(&f.member);
        if withdist {
            ctx.out
                .bulk(format!("{:.4}", f.dist / conversion).as_bytes());
        }
        if withhash {
            ctx.out.int(f.score as i64);
        }
        if withcoord {
            ctx.out.array(2);
            coord(ctx, f.lon);
            coord(ctx, f.lat);
        }
    }
    Ok(())
}

fn finish_store_or_reply(
    ctx: &mut Ctx,
    store: Option<&[u8]>,
    found: Vec<Found>,
    storedist: bool,
    conversion: f64,
    variant: Variant,
) -> CmdResult {
    let Some(dst) = store else {
        ctx.out.array(0);
        return Ok(());
    };
    let n = found.len();
    let k = &ctx.srv.config.hot.enc;
    let lim = Limits {
        entries: k.zset_entries.load(Relaxed).max(0) as usize,
        value: k.zset_value.load(Relaxed).max(0) as usize,
    };
    let changed = {
        let db = ctx.db();
        let mut shard = db.lock(dst);
        if n > 0 {
            let entries = found.into_iter().map(|f| {
                let score = if storedist {
                    f.dist / conversion
                } else {
                    f.score
                };
                (f.member, score)
            });
            let z = ZSet::from_entries(entries, lim);
            shard.set(dst, NewValue::Obj(Object::ZSet(z)), None, ctx.now);
            true
        } else {
            shard.delete(dst, ctx.now).is_some()
        }
    };
    if n > 0 {
        ctx.dirty += n as u64;
        let event = if variant == Variant::SearchStore {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.notify(class::ZSET, event, dst);
    } else if changed {
        ctx.dirty += 1;
        ctx.notify(class::GENERIC, "del", dst);
    }
    if n > 0 || changed {
        ctx.srv.key_modified(ctx.client.db, dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_hashes_match_valkey() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" scores 3479099956230698
        assert_eq!(
            encode(13.361389, 38.115556, LAT_MIN, LAT_MAX),
            3479099956230698
        );
        let (lon, lat) = decode(3479099956230698);
        assert_eq!(human(lon), "13.36138933897018433");
        assert_eq!(human(lat), "38.11555639549629859");
        let (lon2, lat2) = decode(encode(15.087269, 37.502669, LAT_MIN, LAT_MAX));
        assert_eq!(
            format!("{:.4}", distance(lon, lat, lon2, lat2)),
            "166274.1516"
        );
    }
}
