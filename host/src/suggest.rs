//! "did you mean …?" for mistyped module names, options and commands.

/// The candidates closest to `word` by edit distance (a transposition counts
/// as one edit), if any is close enough to be a plausible typo: at most 3,
/// all at the best distance, in name order.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Vec<(usize, &str)> =
        candidates.into_iter().map(|c| (distance(word, c), c)).filter(|&(d, c)| d <= limit && c != word).collect();
    best.sort();
    best.dedup();
    let Some(&(min, _)) = best.first() else {
        return Vec::new();
    };
    best.into_iter().take_while(|&(d, _)| d == min).take(3).map(|(_, c)| c).collect()
}

/// `"; did you mean a, b or c?"`, or `""` when there is nothing to suggest.
pub fn did_you_mean(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        [rest @ .., last] => format!("; did you mean {} or {last}?", rest.join(", ")),
    }
}

/// Optimal string alignment distance (insertions, deletions, substitutions
/// and swaps of two neighbours each cost 1): strsim's.
fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("virtio_blk", "virtio_blk"), 0);
        assert_eq!(distance("virtio_bkl", "virtio_blk"), 1);
        assert_eq!(distance("virtio_bl", "virtio_blk"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_the_closest_names() {
        let names = ["virtio_blk", "virtio_net", "virtio_pci", "overlay", "ext4"];
        assert_eq!(closest("virtio_bkl", names), ["virtio_blk"]);
        assert_eq!(closest("virtio_xxx", names), ["virtio_blk", "virtio_net", "virtio_pci"]);
        assert_eq!(closest("overlayfs", names), ["overlay"]);
        assert!(closest("zzzz", names).is_empty());
        assert!(closest("ext4", names).is_empty(), "an exact match is no suggestion");
    }

    #[test]
    fn phrasing() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["a"]), "; did you mean a?");
        assert_eq!(did_you_mean(&["a", "b"]), "; did you mean a or b?");
        assert_eq!(did_you_mean(&["a", "b", "c"]), "; did you mean a, b or c?");
    }
}
