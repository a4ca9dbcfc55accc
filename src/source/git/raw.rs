//! A lenient reader of a commit's raw text, for commits libgit2 refuses to parse (a bad author
//! date, a malformed signature): what a history scan still needs from them is the tree, the
//! parents and, where they can be read, who and when.

use git2::Oid;

/// A signature from a raw `author` or `committer` line; each part only if it could be read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RawSignature {
    pub(crate) name: Vec<u8>,
    pub(crate) email: Vec<u8>,
    /// (Unix seconds, offset in minutes).
    pub(crate) when: Option<(i64, i32)>,
}

/// What could be read of a commit's headers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RawCommit {
    pub(crate) tree: Option<Oid>,
    pub(crate) parents: Vec<Oid>,
    pub(crate) author: Option<RawSignature>,
    pub(crate) committer: Option<RawSignature>,
}

/// Reads `NAME <EMAIL> SECONDS OFFSET`, keeping whatever parts are well formed.
fn signature(line: &[u8]) -> RawSignature {
    let mut sig = RawSignature::default();
    let (Some(lt), Some(gt)) = (memchr::memchr(b'<', line), memchr::memrchr(b'>', line)) else {
        sig.name = line.to_vec();
        return sig;
    };
    if gt < lt {
        sig.name = line.to_vec();
        return sig;
    }
    sig.name = line[..lt].trim_ascii().to_vec();
    sig.email = line[lt + 1..gt].to_vec();
    let mut rest = line[gt + 1..].split(|b| *b == b' ').filter(|p| !p.is_empty());
    let secs = rest.next().and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.parse::<i64>().ok());
    let offset = rest.next().and_then(|tz| {
        let (sign, digits) = match tz.first()? {
            b'+' => (1, &tz[1..]),
            b'-' => (-1, &tz[1..]),
            _ => return None,
        };
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = std::str::from_utf8(digits).ok()?.parse::<i32>().ok()?;
        Some(sign * ((n / 100) * 60 + n % 100))
    });
    sig.when = secs.map(|s| (s, offset.unwrap_or(0)));
    sig
}

/// Reads the headers of a commit object's text (up to the first blank line). Never fails:
/// what cannot be read is absent.
pub(crate) fn parse_commit(data: &[u8]) -> RawCommit {
    let mut c = RawCommit::default();
    for line in data.split(|b| *b == b'\n') {
        if line.is_empty() {
            break;
        }
        let Some(sp) = memchr::memchr(b' ', line) else { continue };
        let (key, value) = (&line[..sp], &line[sp + 1..]);
        let oid = || std::str::from_utf8(value).ok().filter(|v| v.len() == 40).and_then(|v| Oid::from_str(v).ok());
        match key {
            b"tree" if c.tree.is_none() => c.tree = oid(),
            b"parent" => c.parents.extend(oid()),
            b"author" if c.author.is_none() => c.author = Some(signature(value)),
            b"committer" if c.committer.is_none() => c.committer = Some(signature(value)),
            _ => {}
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_with_a_bad_author_date_still_gives_its_tree_parents_and_committer() {
        let text = b"tree f4b354863caa9cea99b95422c9dab70465757d87\n\
parent f1d7644de6239dc25428327fe0e3854fa1d97d91\n\
parent 0000000000000000000000000000000000000001\n\
author Dev One <dev@corp.test> notadate +0000\n\
committer Dev Two <two@corp.test> 1796319834 -0130\n\n\
tree 1111111111111111111111111111111111111111\n";
        let c = parse_commit(text);
        assert_eq!(c.tree.map(|t| t.to_string()).as_deref(), Some("f4b354863caa9cea99b95422c9dab70465757d87"));
        assert_eq!(c.parents.len(), 2);
        let a = c.author.expect("author");
        assert_eq!((a.name.as_slice(), a.email.as_slice(), a.when), (&b"Dev One"[..], &b"dev@corp.test"[..], None));
        assert_eq!(c.committer.expect("committer").when, Some((1796319834, -90)));
        assert_eq!(parse_commit(b"garbage\n\x00\xff"), RawCommit::default());
        assert_eq!(parse_commit(b"author x <y> 12 +99999\n").author.expect("author").when, Some((12, 0)));
        assert_eq!(parse_commit(b"author >< 12\n").author.expect("author").when, None);
    }
}
