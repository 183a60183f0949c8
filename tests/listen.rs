//! CONFIG SET port: the server moves to the new port at once; a port in use refuses
//! the whole CONFIG SET and changes nothing.

mod common;
use common::{assert_err, Raw, TestServer, R};

#[test]
fn config_set_port_moves_the_listener() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let new_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    assert_eq!(c.cmd(&format!("CONFIG SET port {new_port}")), R::ok());
    // the connection that asked keeps working; new ones go to the new port
    assert_eq!(c.cmd("PING"), R::Simple("PONG".into()));
    let mut moved = Raw::connect(new_port);
    assert_eq!(moved.cmd("PING"), R::Simple("PONG".into()));
    assert!(moved
        .cmd("INFO server")
        .text()
        .contains(&format!("tcp_port:{new_port}")));
    assert!(std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err());

    // a port in use: refused, and the other parameters of the call are not applied
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert_err(
        &moved.cmd(&format!("CONFIG SET maxmemory 10000001 port {taken_port}")),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port: Address already in use",
    );
    assert_eq!(
        moved.cmd("CONFIG GET maxmemory"),
        R::Array(vec![R::bulk("maxmemory"), R::bulk("0")])
    );
    assert_eq!(
        moved.cmd("CONFIG GET port"),
        R::Array(vec![R::bulk("port"), R::bulk(&new_port.to_string())])
    );
}
