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
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad =
                |why: &str| format!("Invalid AOF manifest file format at line {}: {why}", i + 1);
            let w = words(line).ok_or_else(|| bad("unbalanced quotes"))?;
            if w.len() % 2 != 0 {
                return Err(bad("odd number of words"));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for kv in w.chunks(2) {
                match kv[0].to_ascii_lowercase().as_str() {
                    "file" => name = Some(kv[1].clone()),
                    "seq" => seq = kv[1].parse::<u64>().ok(),
                    "type" => kind = kv[1].chars().next(),
                    _ => {} // keys added by later versions are ignored, as Valkey does
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(bad("missing file, seq or type"));
            };
            if name.contains('/') {
                return Err(bad("file names may not contain '/'"));
            }
            let e = Entry { name, seq, kind };
            match kind {
                'b' => {
                    if m.base.is_some() {
                        return Err(bad("more than one BASE file"));
                    }
                    m.base = Some(e);
                }
                'i' => {
                    if m.incrs.last().is_some_and(|l| l.seq >= e.seq) {
                        return Err(bad("INCR files out of order"));
                    }
                    m.incrs.push(e);
                }
                'h' => m.history.push(e),
                _ => return Err(bad("unknown file type")),
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
        assert!(Manifest::parse("file x seq 1\n").is_err());
        assert!(Manifest::parse("file x seq 1 type z\n").is_err());
    }
}
