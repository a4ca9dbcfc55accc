//! Loose objects checked before libgit2 reads any of them.
//!
//! libgit2 (up to and including the release that git2 0.21 bundles) loops forever when it
//! inflates a loose object whose zlib stream is truncated: its drain loop makes no progress and
//! never gives up (libgit2 issue 7342). Revwalks, tree reads and blob reads all go through that
//! loop, so checking object ids before each `find_*` would not be enough. Instead, when a
//! repository is opened, every loose object of its object directory is inflated here (streamed,
//! never held whole): its header must name a type and a size, the stream must end, and the body
//! must have exactly that size. When any fails, the repository is given an object database that
//! cannot see those objects: packs as they are, and a shadow directory of symbolic links to the
//! good loose objects only. A hidden object is then simply missing to libgit2, which every
//! reader already reports (`missing-object`), and [`why_hidden`] says what is wrong with it.
//!
//! A repository without loose objects (a fresh clone) costs one directory listing.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use flate2::{Decompress, FlushDecompress, Status};
use git2::{Odb, Oid, Repository};
use rayon::prelude::*;

/// The longest header git writes: a type name, a space, a 20-digit size and a NUL.
const MAX_HEADER: usize = 32;

/// A loose object's header, from a stream that inflated to exactly the size it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: &'static str,
    pub(crate) size: u64,
}

/// Parses `<type> <size>\0` at the start of `head`: the header and its length with the NUL.
fn parse_header(head: &[u8]) -> Result<(Header, usize), String> {
    let nul = memchr::memchr(0, head).ok_or("no object header")?;
    let text = &head[..nul];
    let space = memchr::memchr(b' ', text).ok_or("malformed object header")?;
    let kind = match &text[..space] {
        b"blob" => "blob",
        b"tree" => "tree",
        b"commit" => "commit",
        b"tag" => "tag",
        _ => return Err("unknown object type in header".into()),
    };
    let digits = &text[space + 1..];
    let well_formed =
        !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && (digits.len() == 1 || digits[0] != b'0');
    let size = std::str::from_utf8(digits)
        .ok()
        .filter(|_| well_formed)
        .and_then(|d| d.parse::<u64>().ok())
        .ok_or("malformed object size in header")?;
    Ok((Header { kind, size }, nul + 1))
}

/// Inflates a loose object from `input` and checks it (see the module docs). Never holds more
/// than two buffers of the object, and always ends: each round either consumes input, produces
/// output, or fails.
pub(crate) fn check(input: &mut dyn Read) -> Result<Header, String> {
    Checker::new().check(input)
}

/// The inflater and buffers of [`check`], reused from one object to the next.
pub(crate) struct Checker {
    z: Decompress,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
}

impl Checker {
    pub(crate) fn new() -> Checker {
        Checker { z: Decompress::new(true), inbuf: vec![0u8; 16 * 1024], outbuf: vec![0u8; 16 * 1024] }
    }

    /// [`check`], with this checker's inflater and buffers.
    pub(crate) fn check(&mut self, input: &mut dyn Read) -> Result<Header, String> {
        self.z.reset(true);
        let Checker { z, inbuf, outbuf } = self;
        inflate_checked(z, inbuf, outbuf, input)
    }
}

fn inflate_checked(
    z: &mut Decompress,
    inbuf: &mut [u8],
    outbuf: &mut [u8],
    input: &mut dyn Read,
) -> Result<Header, String> {
    let (mut start, mut end, mut eof) = (0usize, 0usize, false);
    let mut head: Vec<u8> = Vec::with_capacity(MAX_HEADER);
    let mut header: Option<(Header, u64)> = None;
    let mut body = 0u64;
    loop {
        if start == end && !eof {
            end = loop {
                match input.read(inbuf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("cannot read: {e}")),
                }
            };
            start = 0;
            eof = end == 0;
        }
        let (in0, out0) = (z.total_in(), z.total_out());
        let status = z
            .decompress(&inbuf[start..end], outbuf, FlushDecompress::None)
            .map_err(|e| format!("corrupt zlib stream: {e}"))?;
        start += (z.total_in() - in0) as usize;
        let mut out = &outbuf[..(z.total_out() - out0) as usize];
        let progressed = z.total_in() != in0 || !out.is_empty();
        if header.is_none() && !out.is_empty() {
            let take = out.len().min(MAX_HEADER - head.len());
            head.extend_from_slice(&out[..take]);
            if memchr::memchr(0, &head).is_some() || head.len() == MAX_HEADER {
                let (h, len) = parse_header(&head)?;
                // What of `out` came after the header.
                let used = len - (head.len() - take);
                out = &out[used..];
                header = Some((h, h.size));
            } else {
                out = &[];
            }
        }
        if let Some((_, size)) = header {
            body += out.len() as u64;
            if body > size {
                return Err(format!("object is longer than its header says ({size} bytes)"));
            }
        }
        if status == Status::StreamEnd {
            return match header {
                Some((h, size)) if body == size => Ok(h),
                Some((_, size)) => Err(format!("object is shorter than its header says ({body} of {size} bytes)")),
                None => Err("no object header".into()),
            };
        }
        if !progressed && start == end && eof {
            return Err("truncated zlib stream".into());
        }
        if !progressed && start < end {
            return Err("corrupt zlib stream: no progress".into());
        }
    }
}

/// The loose objects of `objects` (a git object directory): (id, file) for each
/// `xx/yyyy…` name of 40 hex digits.
fn loose_objects(objects: &Path) -> Vec<(Oid, PathBuf)> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(objects) else { return out };
    for d in dirs.flatten() {
        let name = d.file_name();
        let Some(prefix) = name.to_str().filter(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit())) else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(d.path()) else { continue };
        for f in files.flatten() {
            let rest = f.file_name();
            let Some(rest) = rest.to_str().filter(|r| r.len() == 38) else { continue };
            if let Ok(oid) = Oid::from_str(&format!("{prefix}{rest}")) {
                out.push((oid, f.path()));
            }
        }
    }
    out
}

/// The loose objects under `objects` that fail [`check`], with why.
fn corrupt_objects(objects: &Path) -> Vec<(Oid, PathBuf, String)> {
    let mut bad: Vec<(Oid, PathBuf, String)> = loose_objects(objects)
        .into_par_iter()
        .map_init(Checker::new, |checker, (oid, path)| {
            let res =
                File::open(&path).map_err(|e| format!("cannot open: {e}")).and_then(|mut f| checker.check(&mut f));
            res.err().map(|why| (oid, path, why))
        })
        .flatten()
        .collect();
    bad.sort();
    bad
}

/// An object database without the corrupt loose objects, and the shadow directory it reads.
struct Shadow {
    odb: Odb<'static>,
    corrupt: Vec<(Oid, PathBuf, String)>,
    _dir: tempfile::TempDir,
}

/// Shadows by the git directory of the repository they serve.
type Shadows = Mutex<Vec<(PathBuf, Arc<Shadow>)>>;

/// The shadows of this process, for [`reopen`].
fn shadows() -> &'static Shadows {
    static S: OnceLock<Shadows> = OnceLock::new();
    S.get_or_init(Mutex::default)
}

/// Builds the shadow object directory: `pack` and each clean fan-out directory linked whole,
/// fan-out directories holding a corrupt object rebuilt from links to their good objects.
fn build_shadow(objects: &Path, corrupt: Vec<(Oid, PathBuf, String)>) -> std::io::Result<Shadow> {
    use std::os::unix::fs::symlink;
    let dir = tempfile::Builder::new().prefix("ndaguard-objects-").tempdir()?;
    let bad_dirs: std::collections::HashSet<String> =
        corrupt.iter().map(|(oid, _, _)| oid.to_string()[..2].to_string()).collect();
    for entry in std::fs::read_dir(objects)?.flatten() {
        let name = entry.file_name();
        let target = entry.path();
        let Some(n) = name.to_str() else { continue };
        if n == "pack" || (n.len() == 2 && !bad_dirs.contains(n)) {
            symlink(&target, dir.path().join(n))?;
        }
    }
    for fan in &bad_dirs {
        std::fs::create_dir(dir.path().join(fan))?;
        for f in std::fs::read_dir(objects.join(fan))?.flatten() {
            let full = format!("{fan}{}", f.file_name().to_string_lossy());
            if !corrupt.iter().any(|(oid, _, _)| oid.to_string() == full) {
                symlink(f.path(), dir.path().join(fan).join(f.file_name()))?;
            }
        }
    }
    let io = |e: git2::Error| std::io::Error::other(e.message().to_string());
    let odb = Odb::new().map_err(io)?;
    odb.add_disk_alternate(&dir.path().to_string_lossy()).map_err(io)?;
    if let Ok(list) = std::fs::read_to_string(objects.join("info").join("alternates")) {
        for line in list.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let alt = objects.join(line);
            let _ = odb.add_disk_alternate(&alt.to_string_lossy());
        }
    }
    Ok(Shadow { odb, corrupt, _dir: dir })
}

/// Checks the loose objects of `repo` and, when any is corrupt, hides them from it (and from
/// every later [`reopen`] of the same git directory).
pub(crate) fn guard(repo: &Repository) -> std::io::Result<()> {
    let objects = repo.commondir().join("objects");
    let clock = std::time::Instant::now();
    crate::cancel::stall_point("loose");
    let corrupt = corrupt_objects(&objects);
    if std::env::var_os("NDAGUARD_TIMING").is_some() {
        eprintln!("ndaguard: timing: loose objects checked in {:.3} s", clock.elapsed().as_secs_f64());
    }
    if corrupt.is_empty() {
        return Ok(());
    }
    let shadow = build_shadow(&objects, corrupt)?;
    repo.set_odb(&shadow.odb).map_err(|e| std::io::Error::other(e.message().to_string()))?;
    if let Ok(mut all) = shadows().lock() {
        all.retain(|(p, _)| p != repo.path());
        all.push((repo.path().to_path_buf(), Arc::new(shadow)));
    }
    Ok(())
}

/// Opens the repository at `git_dir` (already opened and guarded by [`guard`]), with the same
/// hidden objects.
pub(crate) fn reopen(git_dir: &Path) -> Option<Repository> {
    let repo = Repository::open(git_dir).ok()?;
    let shadow = shadows().lock().ok()?.iter().find(|(p, _)| p == git_dir).map(|(_, s)| Arc::clone(s));
    if let Some(s) = shadow {
        repo.set_odb(&s.odb).ok()?;
    }
    Some(repo)
}

/// Why the loose object `oid` was hidden, if it was.
pub(crate) fn why_hidden(git_dir: &Path, oid: Oid) -> Option<String> {
    let all = shadows().lock().ok()?;
    let (_, s) = all.iter().find(|(p, _)| p == git_dir)?;
    s.corrupt.iter().find(|(o, _, _)| *o == oid).map(|(_, _, why)| why.clone())
}

/// Removes every shadow directory when dropped: a run holds one while it scans.
pub(crate) struct ReleaseOnDrop;

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        if let Ok(mut all) = shadows().lock() {
            all.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    #[test]
    fn a_whole_object_passes_and_every_truncation_or_size_lie_fails() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut obj = format!("blob {}\0", body.len()).into_bytes();
        obj.extend_from_slice(&body);
        let z = deflate(&obj);
        assert_eq!(check(&mut z.as_slice()), Ok(Header { kind: "blob", size: body.len() as u64 }));
        for cut in [0, 1, 2, 5, z.len() / 2, z.len() - 1] {
            assert!(check(&mut &z[..cut]).is_err(), "truncated to {cut} bytes passed");
        }
        let short = deflate(b"blob 10\0abc");
        assert!(check(&mut short.as_slice()).unwrap_err().contains("shorter"));
        let long = deflate(b"blob 2\0abc");
        assert!(check(&mut long.as_slice()).unwrap_err().contains("longer"));
        assert!(check(&mut deflate(b"blob 01\0a").as_slice()).is_err());
        assert!(check(&mut deflate(b"blub 1\0a").as_slice()).is_err());
        assert!(check(&mut deflate(b"tree 0\0").as_slice()).is_ok());
        let mut garbage = z.clone();
        garbage[10] ^= 0xff;
        garbage[11] ^= 0x55;
        assert!(check(&mut garbage.as_slice()).is_err());
    }
}
