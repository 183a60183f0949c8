//! Every directive ferrokey knows, with Valkey's names, aliases, bounds and defaults.
//! Directives that steer features built later are accepted and reported now so tools
//! and test suites that set them keep working; their effect lands with the feature.

use super::{
    normalize_cobl, normalize_maxmemory_clients, normalize_notify, normalize_save, Directive, Kind,
    HIDDEN, IMMUTABLE, SENSITIVE,
};

const I32: i64 = i32::MAX as i64;
const LL: i64 = i64::MAX;

const fn d(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        flags: 0,
    }
}

const fn a(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        flags: 0,
    }
}

const fn im(mut x: Directive) -> Directive {
    x.flags |= IMMUTABLE;
    x
}

const fn hidden(mut x: Directive) -> Directive {
    x.flags |= HIDDEN;
    x
}

const fn secret(mut x: Directive) -> Directive {
    x.flags |= SENSITIVE;
    x
}

const YESNO: Kind = Kind::Bool;
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

pub static DIRECTIVES: &[Directive] = &[
    // network
    d("bind", Kind::Str, "127.0.0.1 -::1"),
    d("port", Kind::Int(0, 65535), "6379"),
    d("protected-mode", YESNO, "yes"),
    im(d("tcp-backlog", Kind::Int(0, I32), "511")),
    d("timeout", Kind::Int(0, I32), "0"),
    d("tcp-keepalive", Kind::Int(0, I32), "300"),
    im(d("unixsocket", Kind::Str, "")),
    im(d("unixsocketperm", Kind::Int(0, 0o777), "0")),
    d("tls-port", Kind::Int(0, 65535), "0"),
    d("bind-source-addr", Kind::Str, ""),
    d("max-new-connections-per-cycle", Kind::Int(1, 1000), "10"),
    d("max-new-tls-connections-per-cycle", Kind::Int(1, 1000), "1"),
    d("prefetch-batch-max-size", Kind::Int(0, 128), "16"),
    // tls (CONFIG SET of any of them rebuilds the TLS context: see server::tls)
    d("tls-cert-file", Kind::Str, ""),
    d("tls-key-file", Kind::Str, ""),
    secret(d("tls-key-file-pass", Kind::Str, "")),
    d("tls-client-cert-file", Kind::Str, ""),
    d("tls-client-key-file", Kind::Str, ""),
    secret(d("tls-client-key-file-pass", Kind::Str, "")),
    d("tls-dh-params-file", Kind::Str, ""),
    d("tls-ca-cert-file", Kind::Str, ""),
    d("tls-ca-cert-dir", Kind::Str, ""),
    d(
        "tls-auth-clients",
        Kind::Enum(&["no", "yes", "optional"]),
        "yes",
    ),
    d("tls-replication", YESNO, "no"),
    d("tls-cluster", YESNO, "no"),
    d("tls-protocols", Kind::Str, ""),
    d("tls-ciphers", Kind::Str, ""),
    d("tls-ciphersuites", Kind::Str, ""),
    d("tls-prefer-server-ciphers", YESNO, "no"),
    d("tls-session-caching", YESNO, "yes"),
    d("tls-session-cache-size", Kind::Int(0, I32), "20480"),
    d("tls-session-cache-timeout", Kind::Int(0, I32), "300"),
    // general
    im(d("daemonize", YESNO, "no")),
    im(d("pidfile", Kind::Str, "")),
    d(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    ),
    im(d("logfile", Kind::Str, "")),
    im(d("databases", Kind::Int(1, 1 << 16), "16")),
    im(d("io-threads", Kind::Int(1, 128), "1")),
    d("dir", Kind::Str, "."),
    d(
        "save",
        Kind::Special(normalize_save),
        "3600 1 300 100 60 10000",
    ),
    d("dbfilename", Kind::Str, "dump.rdb"),
    d("rdbcompression", YESNO, "yes"),
    d("rdbchecksum", YESNO, "yes"),
    d("stop-writes-on-bgsave-error", YESNO, "yes"),
    im(d("always-show-logo", YESNO, "no")),
    d("crash-log-enabled", YESNO, "yes"),
    d("crash-memcheck-enabled", YESNO, "yes"),
    im(d(
        "enable-debug-command",
        Kind::Enum(&["yes", "no", "local"]),
        "no",
    )),
    im(d(
        "enable-protected-configs",
        Kind::Enum(&["yes", "no", "local"]),
        "no",
    )),
    im(d(
        "enable-module-command",
        Kind::Enum(&["yes", "no", "local"]),
        "no",
    )),
    d("hide-user-data-from-log", YESNO, "no"),
    // security
    secret(d("requirepass", Kind::Str, "")),
    d("acllog-max-len", Kind::Int(0, LL), "128"),
    im(d("aclfile", Kind::Str, "")),
    d(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    ),
    // clients and limits
    d("maxclients", Kind::Int(1, I32), "10000"),
    d("maxmemory", Kind::Mem(0, LL), "0"),
    d("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    d("maxmemory-samples", Kind::Int(1, 64), "5"),
    d("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    d(
        "maxmemory-clients",
        Kind::Special(normalize_maxmemory_clients),
        "0",
    ),
    d("lfu-log-factor", Kind::Int(0, I32), "10"),
    d("lfu-decay-time", Kind::Int(0, I32), "1"),
    d("replica-ignore-maxmemory", YESNO, "yes"),
    d("active-expire-effort", Kind::Int(1, 10), "1"),
    d("lazyfree-lazy-eviction", YESNO, "no"),
    d("lazyfree-lazy-expire", YESNO, "no"),
    d("lazyfree-lazy-server-del", YESNO, "no"),
    d("lazyfree-lazy-user-del", YESNO, "no"),
    d("lazyfree-lazy-user-flush", YESNO, "no"),
    d("replica-lazy-flush", YESNO, "no"),
    d(
        "client-query-buffer-limit",
        Kind::Mem(1024 * 1024, LL),
        "1073741824",
    ),
    d(
        "proto-max-bulk-len",
        Kind::Mem(1024 * 1024, LL),
        "536870912",
    ),
    d(
        "client-output-buffer-limit",
        Kind::Special(normalize_cobl),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    d("hz", Kind::Int(0, I32), "10"),
    d("dynamic-hz", YESNO, "yes"),
    d("activerehashing", YESNO, "yes"),
    d("activedefrag", YESNO, "no"),
    d("active-defrag-cycle-min", Kind::Int(1, 99), "1"),
    d("active-defrag-cycle-max", Kind::Int(1, 99), "25"),
    d("active-defrag-ignore-bytes", Kind::Mem(1, LL), "104857600"),
    d("active-defrag-threshold-lower", Kind::Int(0, 1000), "10"),
    d("active-defrag-threshold-upper", Kind::Int(0, 1000), "100"),
    d("active-defrag-max-scan-fields", Kind::Int(1, LL), "1000"),
    d("jemalloc-bg-thread", YESNO, "yes"),
    d("close-on-oom", YESNO, "no"),
    // append only file
    d("appendonly", YESNO, "no"),
    im(d("appendfilename", Kind::Str, "appendonly.aof")),
    im(d("appenddirname", Kind::Str, "appendonlydir")),
    d(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    d("no-appendfsync-on-rewrite", YESNO, "no"),
    d("auto-aof-rewrite-percentage", Kind::Int(0, I32), "100"),
    d("auto-aof-rewrite-min-size", Kind::Mem(0, LL), "67108864"),
    d("aof-load-truncated", YESNO, "yes"),
    d("aof-use-rdb-preamble", YESNO, "yes"),
    d("aof-timestamp-enabled", YESNO, "no"),
    d("aof-rewrite-incremental-fsync", YESNO, "yes"),
    d("rdb-save-incremental-fsync", YESNO, "yes"),
    d("rdb-del-sync-files", YESNO, "no"),
    d(
        "loading-process-events-interval-bytes",
        Kind::Mem(1024, I32),
        "2097152",
    ),
    d(
        "rdb-version-check",
        Kind::Enum(&["strict", "relaxed"]),
        "strict",
    ),
    d(
        "sanitize-dump-payload",
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    d("import-mode", YESNO, "no"),
    d("rdb-key-save-delay", Kind::Int(i32::MIN as i64, I32), "0"),
    hidden(d("key-load-delay", Kind::Int(i32::MIN as i64, I32), "0")),
    // scripting
    a(
        "busy-reply-threshold",
        "lua-time-limit",
        Kind::Int(0, LL),
        "5000",
    ),
    d("lua-replicate-commands", YESNO, "yes"),
    // logs
    a(
        "slowlog-log-slower-than",
        "commandlog-execution-slower-than",
        Kind::Int(-1, LL),
        "10000",
    ),
    a(
        "slowlog-max-len",
        "commandlog-slow-execution-max-len",
        Kind::Int(0, LL),
        "128",
    ),
    d(
        "commandlog-request-larger-than",
        Kind::Int(-1, LL),
        "1048576",
    ),
    d("commandlog-large-request-max-len", Kind::Int(0, LL), "128"),
    d("commandlog-reply-larger-than", Kind::Int(-1, LL), "1048576"),
    d("commandlog-large-reply-max-len", Kind::Int(0, LL), "128"),
    d("latency-monitor-threshold", Kind::Int(0, LL), "0"),
    d("latency-tracking", YESNO, "yes"),
    d("latency-tracking-info-percentiles", Kind::Str, "50 99 99.9"),
    d(
        "notify-keyspace-events",
        Kind::Special(normalize_notify),
        "",
    ),
    // encodings
    a(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        Kind::Int(0, LL),
        "512",
    ),
    a(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        Kind::Int(0, LL),
        "64",
    ),
    a(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        Kind::Int(i32::MIN as i64, I32),
        "-2",
    ),
    d("list-compress-depth", Kind::Int(0, I32), "0"),
    d("set-max-intset-entries", Kind::Int(0, LL), "512"),
    d("set-max-listpack-entries", Kind::Int(0, LL), "128"),
    d("set-max-listpack-value", Kind::Int(0, LL), "64"),
    a(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        Kind::Int(0, LL),
        "128",
    ),
    a(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        Kind::Int(0, LL),
        "64",
    ),
    d("hll-sparse-max-bytes", Kind::Mem(0, LL), "3000"),
    d("stream-node-max-bytes", Kind::Mem(0, LL), "4096"),
    d("stream-node-max-entries", Kind::Int(0, LL), "100"),
    // replication (accepted for tools; ferrokey is always a primary)
    a("replica-read-only", "slave-read-only", YESNO, "yes"),
    im(a("replicaof", "slaveof", Kind::Str, "")),
    d("replica-serve-stale-data", YESNO, "yes"),
    d("repl-diskless-sync", YESNO, "yes"),
    d("repl-diskless-sync-delay", Kind::Int(0, I32), "5"),
    d(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    d("repl-backlog-size", Kind::Mem(1, LL), "1048576"),
    d("repl-backlog-ttl", Kind::Int(0, I32), "3600"),
    d("repl-timeout", Kind::Int(1, I32), "60"),
    d("repl-ping-replica-period", Kind::Int(1, I32), "10"),
    d("min-replicas-to-write", Kind::Int(0, I32), "0"),
    d("min-replicas-max-lag", Kind::Int(0, I32), "10"),
    d("replica-priority", Kind::Int(0, I32), "100"),
    secret(a("primaryauth", "masterauth", Kind::Str, "")),
    a("primaryuser", "masteruser", Kind::Str, ""),
    d("dual-channel-replication-enabled", YESNO, "no"),
    d("availability-zone", Kind::Str, ""),
    // misc the test suite and tools touch
    d(
        "oom-score-adj",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
    ),
    d("oom-score-adj-values", Kind::Str, "0 200 800"),
    d("io-threads-do-reads", YESNO, "no"),
    d("cluster-enabled", YESNO, "no"),
    d(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    d("syslog-enabled", YESNO, "no"),
    d("syslog-ident", Kind::Str, "ferrokey"),
    d("set-proc-title", YESNO, "yes"),
    d(
        "proc-title-template",
        Kind::Str,
        "{title} {listen-addr} {server-mode}",
    ),
    d("locale-collate", Kind::Str, ""),
    d("shutdown-timeout", Kind::Int(0, I32), "10"),
    d("shutdown-on-sigint", Kind::Str, "default"),
    d("shutdown-on-sigterm", Kind::Str, "default"),
    d("tracking-table-max-keys", Kind::Int(0, LL), "1000000"),
    d("extended-redis-compatibility", YESNO, "no"),
    d("lua-enable-insecure-api", YESNO, "no"),
];
