//! ACL users: who may authenticate, and which commands, keys and channels each user may
//! touch. Valkey's model (src/acl.c): a user has flags, password hashes and selectors;
//! each selector holds a set of allowed commands, key patterns with read/write
//! permissions, and channel patterns. The root selector holds the rules given outside
//! parentheses, `(...)` adds another, and a command line is allowed when any one
//! selector allows all of it.
//!
//! The user store is process-wide (like Valkey's `Users` rax), because the `requirepass`
//! directive mirrors into the default user from the config layer, which has no server
//! at hand. A client caches an `Arc<User>` and refreshes it only when [`epoch`] moves, so
//! the check on the command path costs one atomic load for an unrestricted user.

pub mod keys;
mod keyspecs;
pub mod log;

use crate::commands::{acl as cat, flags, glob_match, table, Command};
use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};

use keys::KeyRefs;

/// Key permission bits of a key pattern.
pub const KEY_READ: u8 = 1;
pub const KEY_WRITE: u8 = 2;
const KEY_ALL: u8 = KEY_READ | KEY_WRITE;

/// Why a command was refused (the ACL LOG `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    Command,
    /// The argument at this position is a key the user may not access.
    Key(usize),
    /// The argument at this position is a channel the user may not access.
    Channel(usize),
}

/// Why an ACL rule could not be applied; the text is Valkey's `ACLSetUserStringError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    UnknownName,
    Syntax,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSub,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::UnknownName => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSub => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// A key pattern of a selector with its [`KEY_READ`]/[`KEY_WRITE`] permissions. The
/// pattern's shape is worked out once, when the rule is given, so the common forms
/// (`~*` with a permission, `~name`, `~prefix*`) never run the glob matcher.
#[derive(Clone, Debug)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub perm: u8,
    shape: Shape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// No glob characters: the key must be equal.
    Exact,
    /// Literal characters then one final `*`: the key must start with them (and, as
    /// in `stringmatchlen`, `*` alone matches no empty key).
    Prefix,
    Glob,
}

impl KeyPattern {
    fn new(pattern: &[u8], perm: u8) -> KeyPattern {
        let special = |c: &u8| matches!(c, b'*' | b'?' | b'[' | b'\\');
        let shape = match pattern.split_last() {
            _ if !pattern.iter().any(special) => Shape::Exact,
            Some((b'*', lit)) if !lit.iter().any(special) => Shape::Prefix,
            _ => Shape::Glob,
        };
        KeyPattern {
            pattern: pattern.to_vec(),
            perm,
            shape,
        }
    }

    #[inline]
    fn matches(&self, key: &[u8]) -> bool {
        match self.shape {
            Shape::Exact => key == self.pattern.as_slice(),
            Shape::Prefix => {
                !key.is_empty() && key.starts_with(&self.pattern[..self.pattern.len() - 1])
            }
            Shape::Glob => glob_match(&self.pattern, key, false),
        }
    }
}

/// What a user may run and touch: commands, key patterns, channel patterns. Every
/// user has a root selector (the rules given outside parentheses) and any number of
/// further selectors `(...)`; a command line is allowed when one of them allows all
/// of it (Valkey's `aclSelector`).
#[derive(Clone, Debug)]
pub struct Selector {
    /// Set by +@all: the selector also allows commands that did not exist when the
    /// rule was given (Valkey's reserved "future commands" bit).
    future: bool,
    /// Every command allowed, nothing cleared since +@all: the bitmap is not consulted.
    all_commands: bool,
    /// Allowed flags indexed by the command table's index.
    allowed: Vec<bool>,
    /// The command rules as given, in order, for ACL LIST / GETUSER.
    rules: Vec<String>,
    /// Allowed first arguments of an otherwise denied command (+select|0).
    first_args: HashMap<usize, Vec<Vec<u8>>>,
    pub all_keys: bool,
    pub keys: Vec<KeyPattern>,
    pub all_channels: bool,
    pub channels: Vec<Vec<u8>>,
}

/// One ACL user. Immutable once published: a change builds a new value and swaps it
/// into the store, so a client's cached `Arc` is always a consistent snapshot.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    pub skip_sanitize: bool,
    /// SHA-256 hex digests (lower case), in the order added.
    pub passwords: Vec<String>,
    /// The rules given outside parentheses.
    pub root: Selector,
    /// The `(...)` selectors, in the order added.
    pub selectors: Vec<Selector>,
}

/// SHA-256 of a password as lower-case hex, the form Valkey stores and shows.
pub fn hash_password(p: &[u8]) -> String {
    hex::encode(Sha256::digest(p))
}

/// Compares two equal-purpose strings without an early exit, so the time taken does
/// not reveal how much of a hash matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| c.is_ascii_whitespace() || c == 0)
}

/// Finds a command by "name" or "container|sub".
fn lookup_command(name: &[u8]) -> Option<&'static Command> {
    match name.iter().position(|&c| c == b'|') {
        None => table::lookup_original(name),
        Some(i) => {
            let top = table::lookup_original(&name[..i])?;
            let sub = &name[i + 1..];
            top.subcommands
                .iter()
                .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
        }
    }
}

/// A category's bit from its name (without '@'); `None` for an unknown name.
pub fn category(name: &[u8]) -> Option<u64> {
    cat::NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|&(b, _)| b)
}

impl Denied {
    /// Which denial a user with several selectors reports: a key or channel that no
    /// selector could match beats the command, a channel beats a key, and among
    /// equals the later argument wins (Valkey's `ACLCheckAllUserCommandPerm`).
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }
}

impl Selector {
    /// An empty selector: no commands, no keys, channels per `acl-pubsub-default`.
    pub fn new() -> Selector {
        Selector {
            future: false,
            all_commands: false,
            allowed: vec![false; table::all().len()],
            rules: Vec::new(),
            first_args: HashMap::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: default_all_channels(),
            channels: Vec::new(),
        }
    }

    /// A selector from the inside of `(...)`: its rules split as `sdssplitargs` does
    /// (unbalanced quotes give an empty selector, as in Valkey).
    fn from_opset(inner: &[u8]) -> Result<Selector, RuleError> {
        let mut s = Selector::new();
        let (mut buf, mut spans) = (Vec::new(), Vec::new());
        if crate::protocol::decode::split_args(inner, &mut buf, &mut spans) {
            for &(a, b) in &spans {
                s.apply(&buf[a..b])?;
            }
        }
        Ok(s)
    }

    /// Applies one command, key or channel rule (Valkey's `ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.allowed.iter_mut().for_each(|a| *a = true);
            self.future = true;
            self.all_commands = true;
            self.rules.clear();
            self.first_args.clear();
        } else if is("nocommands") || is("-@all") {
            self.allowed.iter_mut().for_each(|a| *a = false);
            self.future = false;
            self.all_commands = false;
            self.rules.clear();
            self.first_args.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(RuleError::KeysAfterAll);
            }
            let (perm, pat) = parse_key_pattern(op)?;
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|k| k.pattern == pat) {
                Some(k) => k.perm |= perm,
                None => self.keys.push(KeyPattern::new(pat, perm)),
            }
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let allow = op[0] == b'+';
            let bit = category(&op[2..]).ok_or(RuleError::UnknownName)?;
            self.update_rules(&op[1..], allow);
            for c in table::commands() {
                if c.acl_categories() & bit != 0 {
                    self.change_perm(c, allow);
                }
                for s in c.subcommands {
                    if s.acl_categories() & bit != 0 {
                        self.change_perm(s, allow);
                    }
                }
            }
        } else if op[0] == b'+' {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let c = lookup_command(name).ok_or(RuleError::UnknownName)?;
                    self.change_perm(c, true);
                    self.update_rules(table::full_name(c).as_bytes(), true);
                }
                Some(i) => {
                    let c = lookup_command(&name[..i]).ok_or(RuleError::UnknownName)?;
                    if table::parent_of(c).is_some() {
                        return Err(RuleError::FirstArgOfSub);
                    }
                    let sub = &name[i + 1..];
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if c.subcommands.is_empty() {
                        // a first argument of a command without subcommands (SELECT|0)
                        let args = self.first_args.entry(table::index_of(c)).or_default();
                        if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                            args.push(sub.to_ascii_lowercase());
                        }
                    } else {
                        let s = lookup_command(name).ok_or(RuleError::UnknownName)?;
                        self.change_perm(s, true);
                    }
                    self.update_rules(name, true);
                }
            }
        } else if op[0] == b'-' {
            let c = lookup_command(&op[1..]).ok_or(RuleError::UnknownName)?;
            self.change_perm(c, false);
            self.update_rules(table::full_name(c).as_bytes(), false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// Allows or denies a command and, for a container, all its subcommands.
    fn change_perm(&mut self, c: &'static Command, allow: bool) {
        let i = table::index_of(c);
        self.set_bit(i, allow);
        self.first_args.remove(&i);
        for s in c.subcommands {
            self.set_bit(table::index_of(s), allow);
        }
    }

    fn set_bit(&mut self, i: usize, allow: bool) {
        if let Some(a) = self.allowed.get_mut(i) {
            *a = allow;
        }
        if !allow {
            self.all_commands = false;
        }
    }

    /// Keeps the ordered rule list minimal: a new rule replaces an earlier one for the
    /// same command (or a subcommand of it), as Valkey's `ACLUpdateCommandRules`.
    fn update_rules(&mut self, rule: &[u8], allow: bool) {
        let rule = String::from_utf8_lossy(rule).to_ascii_lowercase();
        self.rules.retain(|r| {
            let body = &r[1..];
            !(body == rule
                || (body.len() > rule.len()
                    && body.starts_with(rule.as_str())
                    && body.as_bytes()[rule.len()] == b'|'))
        });
        self.rules
            .push(format!("{}{rule}", if allow { '+' } else { '-' }));
    }

    /// The command rules as ACL SETUSER would take them back: "+@all" or "-@all" first.
    pub fn describe_commands(&self) -> String {
        let mut s = String::from(if self.future { "+@all" } else { "-@all" });
        for r in &self.rules {
            s.push(' ');
            s.push_str(r);
        }
        s
    }

    /// The key patterns, space separated ("~*" for every key).
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let v: Vec<String> = self
            .keys
            .iter()
            .map(|k| pattern_string(&k.pattern, k.perm))
            .collect();
        v.join(" ")
    }

    /// The channel patterns as GETUSER shows them ("&*" for every channel).
    pub fn describe_channel_list(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let v: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        v.join(" ")
    }

    /// The channel rules as ACL LIST shows them (starting from "resetchannels").
    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let mut s = String::from("resetchannels");
        for c in &self.channels {
            s.push_str(" &");
            s.push_str(&String::from_utf8_lossy(c));
        }
        s
    }

    /// Keys, channels and commands, as ACL SETUSER would take them back
    /// (Valkey's `ACLDescribeSelector`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::with_capacity(3);
        let keys = self.describe_keys();
        if !keys.is_empty() {
            parts.push(keys);
        }
        parts.push(self.describe_channels());
        parts.push(self.describe_commands());
        parts.join(" ")
    }

    /// Everything allowed: the command path skips the detailed checks.
    pub fn unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Valkey's `ACLSelectorCheckCmd`: this selector alone allows the whole line.
    /// `index` is the command's table index; `keys` caches the key arguments between
    /// the selectors of one user.
    fn check(
        &self,
        cmd: &'static Command,
        index: usize,
        args: &[&[u8]],
        keys: &mut Option<KeyRefs>,
    ) -> Result<(), Denied> {
        if !self.all_commands && !cmd.has(flags::NO_AUTH) {
            let ok = self.allowed.get(index).copied().unwrap_or(self.future)
                || (args.len() > 1
                    && self
                        .first_args
                        .get(&index)
                        .is_some_and(|v| v.iter().any(|a| a.eq_ignore_ascii_case(args[1]))));
            if !ok {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys && keys::has_keys(index) {
            let refs = keys.get_or_insert_with(|| {
                let mut v = KeyRefs::new();
                keys::key_refs(cmd, index, args, &mut v);
                v
            });
            for &(pos, need) in refs.iter() {
                let Some(k) = args.get(pos) else { continue };
                let ok = self
                    .keys
                    .iter()
                    .any(|p| p.perm & need == need && p.matches(k));
                if !ok {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            if let Some((from, to, is_pattern)) = channel_args(cmd, args) {
                for (pos, ch) in args.iter().enumerate().take(to).skip(from) {
                    if !self.channel_allowed(ch, is_pattern) {
                        return Err(Denied::Channel(pos));
                    }
                }
            }
        }
        Ok(())
    }

    /// A channel matches a channel pattern of the selector; a subscription pattern
    /// only an identical one (a pattern could otherwise reach channels the user may
    /// not).
    pub fn channel_allowed(&self, ch: &[u8], is_pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if is_pattern {
                    p == ch
                } else {
                    glob_match(p, ch, false)
                }
            })
    }

    /// Whether this selector grants `need` on every key (`%R~*`, `~*`, allkeys):
    /// Valkey's `ACLSelectorHasUnrestrictedKeyAccess`.
    fn unrestricted_keys(&self, need: u8) -> bool {
        self.all_keys
            || self
                .keys
                .iter()
                .any(|p| p.perm & need == need && p.pattern == b"*")
    }
}

impl Default for Selector {
    fn default() -> Selector {
        Selector::new()
    }
}

/// Joins the arguments of a selector written over several arguments (`(~a` `+get)`)
/// into one, as Valkey's `ACLMergeSelectorArguments`. On an unmatched parenthesis,
/// the index of the argument that opened it.
pub fn merge_selector_args<'a>(
    args: &[&'a [u8]],
) -> Result<Vec<std::borrow::Cow<'a, [u8]>>, usize> {
    use std::borrow::Cow;
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &a) in args.iter().enumerate() {
        match &mut open {
            None if a.first() == Some(&b'(') && a.last() != Some(&b')') => {
                open = Some((i, a.to_vec()));
            }
            None => out.push(Cow::Borrowed(a)),
            Some((_, sel)) => {
                sel.push(b' ');
                sel.extend_from_slice(a);
                if a.last() == Some(&b')') {
                    if let Some((_, sel)) = open.take() {
                        out.push(Cow::Owned(sel));
                    }
                }
            }
        }
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(out),
    }
}

impl User {
    /// A new user as Valkey creates one: off, no passwords, no commands, no keys, and
    /// channels per `acl-pubsub-default`.
    pub fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            root: Selector::new(),
            selectors: Vec::new(),
        }
    }

    /// The `default` user: on, nopass, every key, channel and command.
    pub fn default_user() -> User {
        let mut u = User::new("default");
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // these rules are all valid
            let _ = u.apply(op.as_bytes());
        }
        u
    }

    /// Applies one rule (`on`, `>pass`, `+@read`, `~key*`, `(~key* +get)`...).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = true;
        } else if is("sanitize-payload") {
            self.skip_sanitize = false;
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if is("reset") {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply(r.as_bytes())?;
            }
            if default_all_channels() {
                self.apply(b"allchannels")?;
            }
            self.apply(b"off")?;
            self.apply(b"sanitize-payload")?;
            self.apply(b"clearselectors")?;
            self.apply(b"-@all")?;
        } else if is("clearselectors") {
            // the root selector stays: it holds the rules given outside parentheses
            self.selectors.clear();
        } else if op.len() >= 2 && op[0] == b'(' && op[op.len() - 1] == b')' {
            let s = Selector::from_opset(&op[1..op.len() - 1])?;
            self.selectors.push(s);
        } else if let Some(p) = op.strip_prefix(b">") {
            let h = hash_password(p);
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if let Some(h) = op.strip_prefix(b"#") {
            if !valid_hash(h) {
                return Err(RuleError::BadHash);
            }
            let h = String::from_utf8_lossy(h).into_owned();
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if let Some(p) = op.strip_prefix(b"<") {
            self.remove_password(&hash_password(p))?;
        } else if let Some(h) = op.strip_prefix(b"!") {
            if !valid_hash(h) {
                return Err(RuleError::BadHash);
            }
            self.remove_password(&String::from_utf8_lossy(h))?;
        } else {
            self.root.apply(op)?;
        }
        Ok(())
    }

    fn remove_password(&mut self, h: &str) -> Result<(), RuleError> {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != h);
        if self.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
    }

    /// The root selector's command rules.
    pub fn describe_commands(&self) -> String {
        self.root.describe_commands()
    }

    /// The root selector's key patterns.
    pub fn describe_keys(&self) -> String {
        self.root.describe_keys()
    }

    /// The flags GETUSER lists, in Valkey's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        v.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        v
    }

    /// The user in config-file form, without the leading "user <name>": flags,
    /// passwords, the root selector, then each selector in parentheses.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.flag_names().iter().map(|s| s.to_string()).collect();
        parts.extend(self.passwords.iter().map(|p| format!("#{p}")));
        parts.push(self.root.describe());
        for s in &self.selectors {
            parts.push(format!("({})", s.describe()));
        }
        parts.join(" ")
    }

    /// Whether `pass` authenticates this user (which must also be on).
    pub fn check_password(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(pass);
        // every stored hash is compared, so the time does not tell which one matched
        self.passwords.iter().fold(false, |ok, p| {
            constant_time_eq(p.as_bytes(), h.as_bytes()) | ok
        })
    }

    /// Everything allowed: the command path skips the detailed checks.
    pub fn unrestricted(&self) -> bool {
        self.root.unrestricted()
    }

    /// The root selector, then the others.
    pub fn all_selectors(&self) -> impl Iterator<Item = &Selector> {
        std::iter::once(&self.root).chain(self.selectors.iter())
    }

    /// Valkey's `ACLCheckAllUserCommandPerm` for one command line: allowed when any
    /// selector allows all of it. Nothing is allocated for a line of up to 8 keys.
    pub fn check(&self, cmd: &'static Command, args: &[&[u8]]) -> Result<(), Denied> {
        let index = table::index_of(cmd);
        let mut keys = None;
        let mut worst = Denied::Command;
        for s in self.all_selectors() {
            match s.check(cmd, index, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) if d.rank() > worst.rank() => worst = d,
                Err(_) => {}
            }
        }
        Err(worst)
    }

    /// Whether some selector allows this command line and grants `need`
    /// ([`KEY_READ`]/[`KEY_WRITE`]) on every key: what SORT's BY and GET options
    /// require (Valkey's `ACLUserCheckCmdWithUnrestrictedKeyAccess`).
    pub fn check_with_all_keys(&self, cmd: &'static Command, args: &[&[u8]], need: u8) -> bool {
        let index = table::index_of(cmd);
        let mut keys = None;
        self.all_selectors()
            .any(|s| s.check(cmd, index, args, &mut keys).is_ok() && s.unrestricted_keys(need))
    }

    /// Whether any selector allows the channel (Valkey's `ACLUserCheckChannelPerm`).
    pub fn channel_allowed(&self, ch: &[u8], is_pattern: bool) -> bool {
        self.all_selectors()
            .any(|s| s.channel_allowed(ch, is_pattern))
    }

    /// Whether the new rules no longer grant some channel the old ones did, so that
    /// subscribers of the user must go (Valkey's `getUpcomingChannelList`).
    pub fn channels_narrowed(old: &User, new: &User) -> bool {
        if new.all_selectors().any(|s| s.all_channels) {
            return false;
        }
        old.all_selectors().any(|s| {
            s.all_channels
                || s.channels
                    .iter()
                    .any(|c| !new.all_selectors().any(|n| n.channels.contains(c)))
        })
    }
}

fn parse_key_pattern(op: &[u8]) -> Result<(u8, &[u8]), RuleError> {
    if op[0] == b'~' {
        return Ok((KEY_ALL, &op[1..]));
    }
    let mut perm = 0u8;
    let mut i = 1;
    while i < op.len() {
        match op[i].to_ascii_uppercase() {
            b'R' if perm & KEY_READ == 0 => perm |= KEY_READ,
            b'W' if perm & KEY_WRITE == 0 => perm |= KEY_WRITE,
            b'~' if perm != 0 => return Ok((perm, &op[i + 1..])),
            _ => return Err(RuleError::Syntax),
        }
        i += 1;
    }
    // "%RW" without "~": Valkey takes it as the empty pattern
    if perm == 0 {
        return Err(RuleError::Syntax);
    }
    Ok((perm, &[]))
}

fn pattern_string(p: &[u8], f: u8) -> String {
    let p = String::from_utf8_lossy(p);
    if f == KEY_ALL {
        return format!("~{p}");
    }
    let mut s = String::from("%");
    if f & KEY_READ != 0 {
        s.push('R');
    }
    if f & KEY_WRITE != 0 {
        s.push('W');
    }
    format!("{s}~{p}")
}

/// The channel arguments of a pub/sub command: positions `from..to`, and whether
/// they are patterns. Only publishing and subscribing are checked, as in Valkey;
/// unsubscribing never is.
pub fn channel_args(cmd: &'static Command, args: &[&[u8]]) -> Option<(usize, usize, bool)> {
    if !cmd.has(flags::PUBSUB) || table::parent_of(cmd).is_some() {
        return None;
    }
    let n = args.len();
    match cmd.name {
        "publish" | "spublish" => (n > 1).then_some((1, 2, false)),
        "subscribe" | "ssubscribe" => Some((1, n, false)),
        "psubscribe" => Some((1, n, true)),
        _ => None,
    }
}

// ---------------------------------------------------------------- the store

/// `acl-pubsub-default`: whether new users start with every channel.
static PUBSUB_DEFAULT_ALL: AtomicBool = AtomicBool::new(false);

fn default_all_channels() -> bool {
    PUBSUB_DEFAULT_ALL.load(Relaxed)
}

/// Called when `acl-pubsub-default` changes (existing users keep their channels).
pub fn set_pubsub_default(value: &str) {
    PUBSUB_DEFAULT_ALL.store(value.eq_ignore_ascii_case("allchannels"), Relaxed);
}

/// A user before (if it existed) and after a change.
pub type Change = (Option<Arc<User>>, Arc<User>);

pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    epoch: AtomicU64,
    /// New connections start authenticated as `default` (it is on and nopass).
    default_open: AtomicBool,
    pub log: log::AclLog,
}

static STORE: LazyLock<Acl> = LazyLock::new(|| {
    let mut users = BTreeMap::new();
    users.insert("default".to_string(), Arc::new(User::default_user()));
    Acl {
        users: RwLock::new(users),
        epoch: AtomicU64::new(1),
        default_open: AtomicBool::new(true),
        log: log::AclLog::default(),
    }
});

/// The process-wide user store.
pub fn store() -> &'static Acl {
    &STORE
}

/// Moves whenever any user changes; clients compare it with their cached snapshot.
pub fn epoch() -> u64 {
    STORE.epoch.load(Relaxed)
}

impl Acl {
    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        let name = std::str::from_utf8(name).ok()?;
        self.users.read().get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.users.read().keys().cloned().collect()
    }

    pub fn all(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// Applies rules to a user, creating it if needed; all or nothing. A selector may
    /// be spread over several arguments. Returns the user before and after, or the
    /// error text (without "ERR ") Valkey's `ACLStringSetUser` gives.
    pub fn set_user(&self, name: &str, rules: &[&[u8]]) -> Result<Change, String> {
        let rules = merge_selector_args(rules).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(rules[i])
            )
        })?;
        let mut users = self.users.write();
        let old = users.get(name).cloned();
        let mut u = match &old {
            Some(o) => (**o).clone(),
            None => User::new(name),
        };
        for r in &rules {
            // an empty rule changes nothing, as in Valkey
            if r.is_empty() {
                continue;
            }
            u.apply(r).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(r),
                    e.text()
                )
            })?;
        }
        let u = Arc::new(u);
        users.insert(name.to_string(), u.clone());
        if name == "default" {
            self.default_open.store(u.enabled && u.nopass, Relaxed);
        }
        self.epoch.fetch_add(1, Relaxed);
        Ok((old, u))
    }

    /// Removes a user (never `default`); true if it existed.
    pub fn delete(&self, name: &[u8]) -> bool {
        let Ok(name) = std::str::from_utf8(name) else {
            return false;
        };
        if name == "default" {
            return false;
        }
        let gone = self.users.write().remove(name).is_some();
        if gone {
            self.epoch.fetch_add(1, Relaxed);
        }
        gone
    }

    /// Replaces every user at once (ACL LOAD).
    pub fn replace_all(&self, new: BTreeMap<String, Arc<User>>) {
        let mut users = self.users.write();
        if let Some(d) = new.get("default") {
            self.default_open.store(d.enabled && d.nopass, Relaxed);
        }
        *users = new;
        self.epoch.fetch_add(1, Relaxed);
    }

    /// Whether a new connection starts authenticated (the default user needs no
    /// password and is on).
    pub fn default_open(&self) -> bool {
        self.default_open.load(Relaxed)
    }
}

/// `requirepass` mirrors into the default user: its passwords are reset, then set to
/// this one, or to nopass when empty (Valkey's `ACLUpdateDefaultUserPassword`).
pub fn set_requirepass(pass: &str) {
    let rules: Vec<Vec<u8>> = if pass.is_empty() {
        vec![b"resetpass".to_vec(), b"nopass".to_vec()]
    } else {
        let mut p = b">".to_vec();
        p.extend_from_slice(pass.as_bytes());
        vec![b"resetpass".to_vec(), p]
    };
    let r: Vec<&[u8]> = rules.iter().map(|r| r.as_slice()).collect();
    // resetpass, nopass and >pass never fail
    let _ = STORE.set_user("default", &r);
}

/// A client's cached view of its user.
#[derive(Default, Clone)]
pub struct ClientAcl {
    user: Option<Arc<User>>,
    epoch: u64,
    /// For a script's client: the connection that runs the script, and its command.
    pub caller: Option<(
        Arc<crate::server::ClientInfo>,
        &'static crate::commands::Command,
    )>,
}

impl ClientAcl {
    /// The client's user as of now; `name` is the user it authenticated as. None for a
    /// user that was deleted: its clients are being disconnected, and may run nothing
    /// meanwhile.
    pub fn user(&mut self, name: &str) -> Option<&Arc<User>> {
        let now = epoch();
        let stale = self.epoch != now || self.user.as_ref().is_none_or(|u| u.name != name);
        if stale {
            self.user = STORE.get(name.as_bytes());
            self.epoch = now;
        }
        self.user.as_ref()
    }

    /// Forgets the cached user (after AUTH as someone else).
    pub fn clear(&mut self) {
        self.user = None;
        self.epoch = 0;
    }
}

/// Parses an ACL file: `user <name> <rules...>` per line. All or nothing: the error
/// lists every problem with Valkey's texts (`ACLLoadFromFile`). Without a `default`
/// line the default user is the built-in one.
pub fn parse_users(file: &str, text: &str) -> Result<BTreeMap<String, Arc<User>>, String> {
    let mut users = BTreeMap::new();
    let mut errors = String::new();
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        let words: Vec<&str> = raw.split_whitespace().collect();
        if words.is_empty() || words[0].starts_with('#') {
            continue;
        }
        if words[0] != "user" || words.len() < 2 {
            errors.push_str(&format!(
                "{file}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = words[1];
        if users.contains_key(name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{name}' found on line {n}. "
            ));
            continue;
        }
        let raw_rules: Vec<&[u8]> = words[2..].iter().map(|w| w.as_bytes()).collect();
        let Ok(rules) = merge_selector_args(&raw_rules) else {
            errors.push_str(&format!(
                "{file}:{n}: Unmatched parenthesis in selector definition."
            ));
            continue;
        };
        let mut u = User::new(name);
        let mut reported = false;
        for r in &rules {
            let w = String::from_utf8_lossy(r);
            match u.apply(r) {
                Ok(()) => {}
                Err(RuleError::UnknownName) => errors.push_str(&format!(
                    "{file}:{n}: Error in applying operation '{w}': {}. ",
                    RuleError::UnknownName.text()
                )),
                // only the first other error: later ones may follow from it
                Err(e) if !reported => {
                    errors.push_str(&format!("{file}:{n}: {}. ", e.text()));
                    reported = true;
                }
                Err(_) => {}
            }
        }
        users.insert(name.to_string(), Arc::new(u));
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    users
        .entry("default".to_string())
        .or_insert_with(|| Arc::new(User::default_user()));
    Ok(users)
}

/// Users defined by `user` lines of the config file (each may appear once).
static CONFIG_USERS: parking_lot::Mutex<Vec<String>> = parking_lot::Mutex::new(Vec::new());

/// Whether any `user` line was given in the configuration.
pub fn has_config_users() -> bool {
    !CONFIG_USERS.lock().is_empty()
}

/// A `user <name> <rules...>` config line: defines (or redefines `default`) a user.
pub fn config_user(args: &[String]) -> Result<(), String> {
    // `--user "alice on >pw"` on the command line arrives as one argument
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    let Some(&name) = words.first() else {
        return Err("wrong number of arguments".into());
    };
    let name = name.to_string();
    let mut seen = CONFIG_USERS.lock();
    if seen.contains(&name) {
        return Err("Duplicate user found. A user can only be defined once in config files".into());
    }
    let raw_rules: Vec<&[u8]> = words[1..].iter().map(|w| w.as_bytes()).collect();
    let rules = merge_selector_args(&raw_rules)
        .map_err(|_| "Unmatched parenthesis in selector definition.".to_string())?;
    let mut u = User::new(&name);
    for r in &rules {
        u.apply(r).map_err(|e| {
            format!(
                "Error in user declaration '{}': {}",
                String::from_utf8_lossy(r),
                e.text()
            )
        })?;
    }
    seen.push(name.clone());
    let mut users = STORE.users.write();
    if name == "default" {
        STORE.default_open.store(u.enabled && u.nopass, Relaxed);
    }
    users.insert(name.clone(), Arc::new(u));
    STORE.epoch.fetch_add(1, Relaxed);
    Ok(())
}

/// Renders every user as ACL file lines.
pub fn render_users() -> String {
    let mut s = String::new();
    for u in STORE.all() {
        s.push_str(&format!("user {} {}\n", u.name, u.describe()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new("u");
        for r in rules {
            u.apply(r.as_bytes()).unwrap();
        }
        u
    }

    #[test]
    fn default_user_description() {
        let u = User::default_user();
        assert_eq!(u.describe(), "on nopass sanitize-payload ~* &* +@all");
        assert!(u.unrestricted());
    }

    #[test]
    fn commands_and_categories() {
        let get = table::lookup(b"get").unwrap();
        let set = table::lookup(b"set").unwrap();
        let u = user(&["on", "+@string", "-set", "~*"]);
        assert_eq!(u.check(get, &[b"get", b"k"]), Ok(()));
        assert_eq!(u.check(set, &[b"set", b"k", b"v"]), Err(Denied::Command));
        assert_eq!(u.describe_commands(), "-@all +@string -set");
        let u = user(&["+@all", "-@string", "+@string"]);
        assert_eq!(u.describe_commands(), "+@all +@string");
    }

    #[test]
    fn keys_by_permission() {
        let get = table::lookup(b"get").unwrap();
        let set = table::lookup(b"set").unwrap();
        let u = user(&["+@all", "%R~r*", "%W~w*"]);
        assert_eq!(u.check(get, &[b"get", b"r1"]), Ok(()));
        assert_eq!(u.check(get, &[b"get", b"w1"]), Err(Denied::Key(1)));
        assert_eq!(u.check(set, &[b"set", b"w1", b"v"]), Ok(()));
        assert_eq!(u.check(set, &[b"set", b"r1", b"v"]), Err(Denied::Key(1)));
        assert_eq!(u.describe_keys(), "%R~r* %W~w*");
    }

    #[test]
    fn channels_and_patterns() {
        let u = user(&["resetchannels", "&news.*"]);
        assert!(u.channel_allowed(b"news.1", false));
        assert!(!u.channel_allowed(b"news.1", true));
        assert!(u.channel_allowed(b"news.*", true));
        assert!(!u.channel_allowed(b"sport", false));
    }

    #[test]
    fn passwords() {
        let mut u = user(&["on", ">a", ">b"]);
        assert!(u.check_password(b"a") && u.check_password(b"b"));
        assert!(!u.check_password(b"c"));
        u.apply(b"<a").unwrap();
        assert!(!u.check_password(b"a"));
        assert_eq!(u.apply(b"<zz"), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"#abc"), Err(RuleError::BadHash));
        u.apply(b"off").unwrap();
        assert!(!u.check_password(b"b"));
    }

    fn line(s: &str) -> Vec<&[u8]> {
        s.split(' ').map(|a| a.as_bytes()).collect()
    }

    fn check(u: &User, s: &str) -> Result<(), Denied> {
        let args = line(s);
        u.check(table::lookup(args[0]).unwrap(), &args)
    }

    #[test]
    fn selectors_allow_what_any_one_allows() {
        let u = user(&["on", "resetkeys", "(+@write ~w::*)", "(+@read ~r::*)"]);
        assert_eq!(check(&u, "set w::a b"), Ok(()));
        assert_eq!(check(&u, "get r::a"), Ok(()));
        assert_eq!(check(&u, "ping"), Err(Denied::Command));
        assert_eq!(check(&u, "get w::a"), Err(Denied::Key(1)));
        // each selector judges the whole line: no mixing of two half permissions
        let u = user(&["(%R~r* +@all)", "(%W~w* +@all)"]);
        assert_eq!(check(&u, "copy r1 w1"), Err(Denied::Key(2)));
        assert_eq!(check(&u, "get r1"), Ok(()));
        assert_eq!(check(&u, "lpush w1 x"), Ok(()));
    }

    #[test]
    fn the_reported_denial_is_the_last_unmatched_argument() {
        let u = user(&["+mget", "~key", "(+mget ~key ~otherkey)"]);
        assert_eq!(check(&u, "get key"), Err(Denied::Command));
        assert_eq!(check(&u, "mget otherkey someotherkey"), Err(Denied::Key(2)));
        assert_eq!(
            check(&u, "mget key otherkey someotherkey"),
            Err(Denied::Key(3))
        );
    }

    #[test]
    fn selectors_are_described_and_cleared() {
        let mut u = user(&[
            "on",
            "-@all",
            "+get",
            "~a",
            "(~b* resetchannels &x -@all +set)",
        ]);
        assert_eq!(
            u.describe(),
            "on sanitize-payload ~a resetchannels -@all +get (~b* resetchannels &x -@all +set)"
        );
        u.apply(b"()").unwrap();
        assert_eq!(u.selectors.len(), 2);
        assert_eq!(u.selectors[1].describe(), "resetchannels -@all");
        u.apply(b"clearselectors").unwrap();
        assert!(u.selectors.is_empty());
        assert_eq!(u.describe_keys(), "~a");
        u.apply(b"(~c)").unwrap();
        u.apply(b"reset").unwrap();
        assert!(u.selectors.is_empty());
    }

    #[test]
    fn selector_arguments_are_merged() {
        let args = line("on (~a +get) (%R~b +set) ( ~c ) x");
        let merged = merge_selector_args(&args).unwrap();
        let merged: Vec<&[u8]> = merged.iter().map(|c| c.as_ref()).collect();
        assert_eq!(
            merged,
            vec![&b"on"[..], b"(~a +get)", b"(%R~b +set)", b"( ~c )", b"x"]
        );
        assert_eq!(merge_selector_args(&line("on (+ping (+del")), Err(1));
        let mut u = User::new("u");
        assert_eq!(u.apply(b"(bogus)"), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"(&* &x)"), Err(RuleError::ChannelsAfterAll));
        assert_eq!(u.apply(b")"), Err(RuleError::Syntax));
    }

    #[test]
    fn pattern_shapes_match_like_the_glob_matcher() {
        let pats: &[&[u8]] = &[
            b"*", b"key:*", b"k", b"", b"a?c", b"[ab]*", b"x\\*", b"ab**",
        ];
        let keys: &[&[u8]] = &[b"", b"k", b"key:", b"key:1", b"abc", b"ab", b"x*", b"ke"];
        for p in pats {
            let kp = KeyPattern::new(p, KEY_ALL);
            for k in keys {
                assert_eq!(kp.matches(k), glob_match(p, k, false), "{p:?} {k:?}");
            }
        }
        assert_eq!(KeyPattern::new(b"key:*", KEY_ALL).shape, Shape::Prefix);
        assert_eq!(KeyPattern::new(b"key", KEY_ALL).shape, Shape::Exact);
    }

    #[test]
    fn channels_narrowed_across_selectors() {
        let old = user(&["resetchannels", "&a", "(&b)"]);
        let same = user(&["resetchannels", "&b", "(&a)"]);
        let less = user(&["resetchannels", "&a"]);
        let all = user(&["resetchannels", "(&*)"]);
        assert!(!User::channels_narrowed(&old, &same));
        assert!(User::channels_narrowed(&old, &less));
        assert!(!User::channels_narrowed(&old, &all));
        assert!(User::channels_narrowed(&all, &old));
    }

    #[test]
    fn rule_errors() {
        let mut u = User::new("u");
        assert_eq!(u.apply(b"+nosuch"), Err(RuleError::UnknownName));
        assert_eq!(u.apply(b"+@nosuch"), Err(RuleError::UnknownName));
        assert_eq!(u.apply(b"+config|get|x"), Err(RuleError::FirstArgOfSub));
        assert_eq!(u.apply(b"bogus"), Err(RuleError::Syntax));
        u.apply(b"allkeys").unwrap();
        assert_eq!(u.apply(b"~x"), Err(RuleError::KeysAfterAll));
    }
}
