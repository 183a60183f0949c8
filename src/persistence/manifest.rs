//! The multi-part AOF manifest, in Valkey's format: one line per file,
//! `file <name> seq <n> type <b|h|i>`, the BASE first, then history, then INCR files
//! in order. Valkey and ferrokey read each other's directories.

use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub seq: u64,
    /// b = base, h = history (to be deleted), i = incr
    pub kind: char,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<Entry>,
    pub incrs: Vec<Entry>,
    pub history: Vec<Entry>,
}

/// Splits a manifest line into words, honouring the double quotes Valkey puts around
/// names with spaces (`sdscatrepr`).
fn words(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut it = line.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let Some(&c) = it.peek() else { break };
        let mut w = String::new();
        if c == '"' {
            it.next();
            loop {
                match it.next()? {
                    '"' => break,
                    '\\' => match it.next()? {
                        'n' => w.push('\n'),
                        'r' => w.push('\r'),
                        't' => w.push('\t'),
                        'x' => {
                            let h: String = [it.next()?, it.next()?].iter().collect();
                            w.push(u8::from_str_radix(&h, 16).ok()? as char);
                        }
                        o => w.push(o),
                    },
                    o => w.push(o),
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                it.next();
            }
        }
        out.push(w);
    }
    Some(out)
}

impl Manifest {
    /// Parses a manifest with Valkey's rules and error texts (`aofLoadManifestFromFile`):
    /// every line ends with a newline and has at least `file`, `seq` and `type`.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        const MAX_LINE: usize = 1024;
        let mut m = Manifest::default();
        if text.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        let mut maxseq = 0u64;
        let mut rest = text;
        let mut linenum = 0;
        while !rest.is_empty() {
            linenum += 1;
            let (raw, complete) = match rest.find('\n') {
                Some(p) => {
                    let l = &rest[..p];
                    rest = &rest[p + 1..];
                    (l, p < MAX_LINE)
                }
                None => {
                    let l = rest;
                    rest = "";
                    (l, false)
                }
            };
            if raw.starts_with('#') {
                continue;
            }
            let line = raw.trim_matches([' ', '\t', '\r']);
            let bad = |why: &str| {
                format!("Reading the manifest file, at line {linenum}: >>> '{line}': {why}")
            };
            if !complete {
                return Err(bad("The AOF manifest file contains too long line"));
            }
            if line.is_empty() {
                return Err(bad("Invalid AOF manifest file format"));
            }
            let w = words(line).ok_or_else(|| bad("Invalid AOF manifest file format"))?;
            if w.len() < 6 || w.len() % 2 != 0 {
                return Err(bad("Invalid AOF manifest file format"));
            }
            let (mut name, mut seq, mut kind) = (None, 0u64, None);
            for kv in w.chunks(2) {
                match kv[0].to_ascii_lowercase().as_str() {
                    "file" => {
                        if kv[1].contains('/') {
                            return Err(bad("File can't be a path, just a filename"));
                        }
                        name = Some(kv[1].clone());
                    }
                    // atoll: leading digits, anything else reads as 0
                    "seq" => {
                        let digits: String =
                            kv[1].chars().take_while(|c| c.is_ascii_digit()).collect();
                        seq = digits.parse().unwrap_or(0);
                    }
                    "type" => kind = kv[1].chars().next(),
                    _ => {} // keys added by later versions are ignored, as Valkey does
                }
            }
            let (Some(name), true, Some(kind)) = (name, seq != 0, kind) else {
                return Err(bad("Invalid AOF manifest file format"));
            };
            let e = Entry { name, seq, kind };
            match kind {
                'b' => {
                    if m.base.is_some() {
                        return Err(bad("Found duplicate base file information"));
                    }
                    m.base = Some(e);
                }
                'h' => m.history.push(e),
                'i' => {
                    if e.seq <= maxseq {
                        return Err(bad("Found a non-monotonic sequence number"));
                    }
                    maxseq = e.seq;
                    m.incrs.push(e);
                }
                _ => return Err(bad("Unknown AOF file type")),
            }
        }
        Ok(m)
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let line = |s: &mut String, e: &Entry| {
            let name = if e.name.chars().any(|c| c.is_whitespace() || c == '"') {
                format!("{:?}", e.name)
            } else {
                e.name.clone()
            };
            s.push_str(&format!("file {} seq {} type {}\n", name, e.seq, e.kind));
        };
        if let Some(b) = &self.base {
            line(&mut s, b);
        }
        for h in &self.history {
            line(&mut s, h);
        }
        for i in &self.incrs {
            line(&mut s, i);
        }
        s
    }

    /// The files to load, in order.
    pub fn load_order(&self) -> Vec<&Entry> {
        self.base.iter().chain(self.incrs.iter()).collect()
    }

    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |b| b.seq + 1)
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |i| i.seq + 1)
    }
}

pub fn base_name(prefix: &str, seq: u64) -> String {
    format!("{prefix}.{seq}.base.aof")
}

pub fn incr_name(prefix: &str, seq: u64) -> String {
    format!("{prefix}.{seq}.incr.aof")
}

pub fn manifest_name(prefix: &str) -> String {
    format!("{prefix}.manifest")
}

/// Replaces `dir/name` atomically: write a temp file, fsync it, rename it over, fsync
/// the directory, so a crash leaves either the old or the new manifest.
pub fn write_atomic(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("temp-{name}"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let t = "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(t).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.aof");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.to_text(), t);
        assert_eq!(m.next_incr_seq(), 3);
        let q = Manifest::parse("file \"a b.aof\" seq 3 type i\n").unwrap();
        assert_eq!(q.incrs[0].name, "a b.aof");
        for bad in [
            "",
            "file x seq 1\n",
            "file x seq 1 type z\n",
            "file x seq 1 type b",
            "file x seq 1 type b\n\n",
            "file a seq 2 type i\nfile b seq 1 type i\n",
            "file a seq 1 type b\nfile b seq 2 type b\n",
            "file d/a seq 1 type b\n",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad:?}");
        }
    }
}
