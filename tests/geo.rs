//! Geospatial commands: the values below are what valkey-server answers for the same
//! commands (scores, coordinates to 17 decimals, distances to 4).

mod common;
use common::{assert_err, TestServer, R};

fn bulks(v: &[&str]) -> R {
    R::Array(v.iter().map(|s| R::bulk(s)).collect())
}

#[test]
fn add_position_distance_hash() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"),
        R::Int(2)
    );
    assert_eq!(c.cmd("ZSCORE Sicily Palermo"), R::bulk("3479099956230698"));
    assert_eq!(
        c.cmd("GEOADD Sicily NX CH 13.5 38.2 Palermo 12.5 37.8 Marsala"),
        R::Int(1)
    );
    assert_err(&c.cmd("GEOADD Sicily XX NX 1 1 a"), "ERR syntax error");
    assert_err(&c.cmd("GEOADD Sicily 1 1 2 3"), "ERR syntax error");
    assert_err(
        &c.cmd("GEOADD Sicily 200 1 a"),
        "ERR invalid longitude,latitude pair 200.000000,1.000000",
    );
    assert_eq!(
        c.cmd("GEODIST Sicily Palermo Catania"),
        R::bulk("166274.1516")
    );
    assert_eq!(
        c.cmd("GEODIST Sicily Palermo Catania km"),
        R::bulk("166.2742")
    );
    assert_eq!(c.cmd("GEODIST Sicily Palermo nope"), R::Nil);
    assert_err(
        &c.cmd("GEODIST Sicily Palermo Catania parsec"),
        "ERR unsupported unit provided",
    );
    assert_eq!(
        c.cmd("GEOPOS Sicily Palermo nope"),
        R::Array(vec![
            bulks(&["13.36138933897018433", "38.11555639549629859"]),
            R::NilArray
        ])
    );
    assert_eq!(
        c.cmd("GEOHASH Sicily Palermo Catania nope"),
        R::Array(vec![R::bulk("sqc8b49rny0"), R::bulk("sqdtr74hyu0"), R::Nil])
    );
    c.cmd("SET str x");
    assert_err(&c.cmd("GEOADD str 1 1 a"), "WRONGTYPE");
    // RESP3 sends coordinates as doubles in the same human form
    c.cmd("HELLO 3");
    assert_eq!(
        c.cmd("GEOPOS Sicily Palermo"),
        R::Array(vec![R::Array(vec![
            R::Double("13.36138933897018433".into()),
            R::Double("38.11555639549629859".into())
        ])])
    );
}

#[test]
fn searches_and_stores() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania");
    assert_eq!(
        c.cmd("GEORADIUS Sicily 15 37 200 km WITHDIST ASC"),
        R::Array(vec![
            bulks(&["Catania", "56.4413"]),
            bulks(&["Palermo", "190.4424"])
        ])
    );
    assert_eq!(
        c.cmd("GEORADIUS Sicily 15 37 200 km COUNT 1 DESC"),
        bulks(&["Palermo"])
    );
    assert_eq!(
        c.cmd("GEORADIUS_RO Sicily 15 37 100 km"),
        bulks(&["Catania"])
    );
    assert_eq!(
        c.cmd("GEORADIUSBYMEMBER_RO Sicily Palermo 1 km"),
        bulks(&["Palermo"])
    );
    assert_eq!(
        c.cmd("GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km ASC"),
        bulks(&["Palermo", "Catania"])
    );
    assert_eq!(
        c.cmd("GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC"),
        bulks(&["Palermo", "Catania"])
    );
    assert_eq!(c.cmd("GEORADIUS Sicily 15 37 200 km STORE dst"), R::Int(2));
    assert_eq!(c.cmd("ZCARD dst"), R::Int(2));
    assert_eq!(
        c.cmd("GEOSEARCHSTORE d3 Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST"),
        R::Int(2)
    );
    assert_eq!(c.cmd("ZSCORE d3 Catania"), R::bulk("56.4412578701582"));
    assert_eq!(
        c.cmd("GEOSEARCHSTORE d3 nokey FROMLONLAT 15 37 BYRADIUS 200 km"),
        R::Int(0)
    );
    assert_eq!(c.cmd("EXISTS d3"), R::Int(0));
    assert_err(
        &c.cmd("GEORADIUS Sicily 15 37 200 km WITHDIST STORE x"),
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
    );
    assert_err(
        &c.cmd("GEOSEARCH Sicily BYRADIUS 200 km ASC WITHDIST"),
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
    );
    assert_err(
        &c.cmd("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km ANY"),
        "ERR the ANY argument requires COUNT argument",
    );
    assert_err(
        &c.cmd("GEORADIUSBYMEMBER Sicily nope 200 km"),
        "ERR could not decode requested zset member",
    );
    assert_eq!(
        c.cmd("COMMAND GETKEYS GEORADIUS Sicily 15 37 200 km STORE dst"),
        bulks(&["Sicily", "dst"])
    );
}
