//! A server and one client in the same process, without a network: requests take the
//! same path a connection gives them (dispatch, then the after-command work), and the
//! replies come back as RESP bytes. The fuzz targets drive the command table with it.

use crate::commands::{after_command, dispatch};
use crate::config::Config;
use crate::protocol::Reply;
use crate::server::{Client, ClientInfo, ReplyMode, Server};
use std::sync::Arc;

pub struct Harness {
    pub srv: Arc<Server>,
    pub client: Client,
    out: Reply,
}

impl Harness {
    /// A server with the default configuration plus `directives` (config-file lines),
    /// and one authenticated client connected to it from the loopback interface.
    pub fn new(directives: &str) -> Result<Harness, String> {
        let config = Config::new();
        config.load_text(directives, "(harness)")?;
        let srv = Server::new(config, None);
        // process-wide state follows this server's config: eviction settings, and
        // the ACL users (only `default`, as at start without an aclfile)
        crate::store::evict::configure(&srv.config);
        crate::acl::set_pubsub_default(&srv.config.get("acl-pubsub-default").unwrap_or_default());
        let mut users = std::collections::BTreeMap::new();
        users.insert(
            "default".to_string(),
            Arc::new(crate::acl::User::default_user()),
        );
        crate::acl::store().replace_all(users);
        crate::acl::set_requirepass(&srv.config.get("requirepass").unwrap_or_default());
        let id = srv.clients.next_id();
        let info = Arc::new(ClientInfo::new(
            id,
            "127.0.0.1:40000".into(),
            "127.0.0.1:6379".into(),
            -1,
        ));
        srv.clients.add(info.clone());
        let client = Client::new(info, true);
        Ok(Harness {
            srv,
            client,
            out: Reply::new(false),
        })
    }

    /// Runs one request as a connection would and returns its reply (empty when the
    /// client turned replies off). A command that suspends the client (blocking pops,
    /// WAIT, DEBUG SLEEP) gets its answer at once, as if its timeout had expired.
    pub fn run(&mut self, args: &[&[u8]]) -> &[u8] {
        self.out.clear();
        let client = &mut self.client;
        if client.reply_mode == ReplyMode::SkipNext {
            client.reply_mode = ReplyMode::Skip;
        }
        self.out.set_resp3(client.resp == 3);
        dispatch(&self.srv, client, &mut self.out, args);
        after_command(&self.srv);
        if let Some(b) = client.block.take() {
            if let Some(w) = &b.waiter {
                if let Some(served) = self.srv.blocking.finish(w) {
                    self.out.clear();
                    self.out.raw(&served);
                }
            }
        }
        match client.reply_mode {
            ReplyMode::Off => self.out.clear(),
            ReplyMode::Skip => {
                self.out.clear();
                client.reply_mode = ReplyMode::On;
            }
            _ => {}
        }
        self.out.as_bytes()
    }
}

impl Drop for Harness {
    /// What a connection does when it goes away: its transaction, subscriptions and
    /// registrations end with it.
    fn drop(&mut self) {
        crate::commands::transactions::reset(&self.srv, &mut self.client);
        self.srv.pubsub.client_gone(&self.client.info);
        self.srv.remove_monitor(self.client.id);
        self.srv.clients.remove(self.client.id);
    }
}

#[cfg(test)]
mod tests {
    use super::Harness;

    #[test]
    fn runs_requests_and_answers_blocking_ones_at_once() {
        let mut h = Harness::new("").expect("default config");
        assert_eq!(h.run(&[b"PING"]), b"+PONG\r\n");
        assert_eq!(h.run(&[b"RPUSH", b"l", b"a"]), b":1\r\n");
        assert_eq!(
            h.run(&[b"BLPOP", b"l", b"0"]),
            b"*2\r\n$1\r\nl\r\n$1\r\na\r\n"
        );
        // nothing to pop: the timeout's reply, without waiting for it
        assert_eq!(h.run(&[b"BLPOP", b"l", b"0"]), b"*-1\r\n");
        assert_eq!(h.run(&[b"CLIENT", b"REPLY", b"OFF"]), b"");
        assert_eq!(h.run(&[b"PING"]), b"");
    }
}
