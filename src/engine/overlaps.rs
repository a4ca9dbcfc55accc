//! One secret at one place is one finding: where matches overlap, the most specific stays.

use super::Match;
use crate::rules::Rule;

/// Where two matches overlap, keeps the more specific one: a non-generic rule beats a generic
/// one, then higher precision, then the longer secret, then the earlier rule. Dropped matches get
/// `rule = usize::MAX`.
pub(super) fn resolve(rules: &[Rule], matches: &mut [Match]) {
    if matches.len() < 2 {
        return;
    }
    matches.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end), m.rule));
    let rank = |m: &Match| {
        let r = &rules[m.rule];
        (r.generic, r.precision, std::cmp::Reverse(m.end - m.start), m.rule)
    };
    for i in 0..matches.len() {
        if matches[i].rule == usize::MAX {
            continue;
        }
        let mut j = i + 1;
        while j < matches.len() && matches[j].start < matches[i].end {
            if matches[j].rule != usize::MAX {
                if rank(&matches[j]) < rank(&matches[i]) {
                    matches[i].rule = usize::MAX;
                    break;
                }
                matches[j].rule = usize::MAX;
            }
            j += 1;
        }
    }
}
