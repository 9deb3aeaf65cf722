//! "Did you mean …?" suggestions for misspelt names (targets, templates, fields).

/// Levenshtein edit distance between two ASCII-ish strings, case-insensitive.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `input`, if it is close enough to be a plausible typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (input.chars().count() / 3).clamp(1, 3);
    let lower = input.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            // A shortened name ('cvae' for 'cvae-die') counts as close.
            let prefix = lower.len() >= 2 && c.to_lowercase().starts_with(&lower);
            let d = edit_distance(input, c);
            (d <= limit || prefix).then_some((if prefix { 0 } else { d }, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A hint such as "did you mean 'ch32v003'? Valid values: 'ch32v003', 'host'".
pub fn hint(input: &str, candidates: &[&str]) -> String {
    hint_for("values", input, candidates)
}

/// Like [`hint`], naming what the candidates are ("fields", "values").
pub fn hint_for(noun: &str, input: &str, candidates: &[&str]) -> String {
    let list = candidates
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest(input, candidates.iter().copied()) {
        Some(best) => format!("did you mean '{best}'? Valid {noun}: {list}"),
        None => format!("valid {noun}: {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_basics() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ch32v03", "ch32v003"), 1);
        assert_eq!(edit_distance("Host", "host"), 0);
    }

    #[test]
    fn suggests_close_names_only() {
        let c = ["ch32v003", "ch32v002", "pi-zero-2w", "pi4", "host"];
        assert_eq!(closest("ch32v03", c), Some("ch32v003"));
        assert_eq!(closest("pi-zero2w", c), Some("pi-zero-2w"));
        assert_eq!(closest("arduino", c), None);
        assert_eq!(closest("pi-z", c), Some("pi-zero-2w"));
        assert!(hint("ch32v03", &c).starts_with("did you mean 'ch32v003'?"));
        assert!(hint("zzz", &c).starts_with("valid values: 'ch32v003'"));
    }
}
