//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN...).

use super::Server;

#[derive(Default)]
pub struct Blocking {}

impl Blocking {
    pub fn signal(&self, _db: usize, _key: &[u8]) {}
    pub fn signal_db(&self, _srv: &Server, _db: usize) {}
}

pub fn serve_ready(_srv: &Server) {}
