//! The premium-rate and special ranges refused for every org (`app/data/blocked_prefixes.tsv`,
//! each with the public source that assigns it), read once and matched by the longest prefix of
//! a number's E.164 digits.

use std::sync::LazyLock;

/// One range of the shipped list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The E.164 digits it starts with (country code included, no "+").
    pub prefix: String,
    /// `premium`, `shared-cost`, `revenue-share`, `satellite`, `international-network`,
    /// `personal` or `pager`; `allowed` carves an ordinary range out of a wider blocked one.
    pub kind: String,
    /// Who assigns the range to that use (named in the file's header).
    pub source: String,
}

impl Range {
    /// Whether numbers in it are refused (an `allowed` exception is not).
    pub fn blocks(&self) -> bool {
        self.kind != "allowed"
    }
}

/// The kinds a line may have.
pub const KINDS: [&str; 8] = [
    "premium",
    "shared-cost",
    "revenue-share",
    "satellite",
    "international-network",
    "personal",
    "pager",
    "allowed",
];

const SHIPPED: &str = include_str!("../../data/blocked_prefixes.tsv");

/// The shipped list, sorted by prefix.
static LIST: LazyLock<Vec<Range>> = LazyLock::new(|| parse(SHIPPED));

/// Every range of the shipped list, sorted by prefix (the `allowed` exceptions included).
pub fn ranges() -> &'static [Range] {
    &LIST
}

/// How many ranges are refused (the exceptions not counted).
pub fn blocked_count() -> usize {
    LIST.iter().filter(|r| r.blocks()).count()
}

/// The range that refuses `digits` (an E.164 number without its "+"): the longest prefix of the
/// list that matches, unless it is an exception.
pub fn blocked(digits: &str) -> Option<&'static Range> {
    longest(&LIST, digits).filter(|r| r.blocks())
}

/// The longest prefix of `digits` that `list` (sorted) holds.
fn longest<'a>(list: &'a [Range], digits: &str) -> Option<&'a Range> {
    // An E.164 number has at most 15 digits: at most 15 searches of the sorted list.
    (1..=digits.len().min(15)).rev().find_map(|n| {
        let p = digits.get(..n)?;
        list.binary_search_by(|r| r.prefix.as_str().cmp(p))
            .ok()
            .and_then(|i| list.get(i))
    })
}

/// Lines of `prefix<TAB>kind<TAB>source`, sorted by prefix (the first of a repeated prefix kept);
/// comments (`#`), blank lines and lines that are not such (the tests check the shipped file has
/// none) left out.
fn parse(text: &str) -> Vec<Range> {
    let mut out: Vec<Range> = text.lines().filter_map(line).collect();
    out.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    out.dedup_by(|later, first| later.prefix == first.prefix);
    out
}

fn line(l: &str) -> Option<Range> {
    let l = l.trim();
    if l.is_empty() || l.starts_with('#') {
        return None;
    }
    let mut fields = l.split('\t').map(str::trim);
    let (prefix, kind, source) = (fields.next()?, fields.next()?, fields.next()?);
    let ok = (1..=15).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && KINDS.contains(&kind)
        && !source.is_empty()
        && fields.next().is_none();
    ok.then(|| Range {
        prefix: prefix.to_string(),
        kind: kind.to_string(),
        source: source.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_shipped_file_is_read() {
        let lines = SHIPPED
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
            .count();
        assert_eq!(
            ranges().len(),
            lines,
            "a line of the shipped file is malformed"
        );
        assert!(ranges().windows(2).all(|w| w[0].prefix < w[1].prefix));
        // Every source a line names is explained in the header.
        for r in ranges() {
            assert!(
                SHIPPED.contains(&format!("#   {}", r.source)),
                "{}",
                r.source
            );
        }
        assert_eq!(blocked_count(), ranges().len() - 1);
    }

    #[test]
    fn premium_and_special_ranges_are_refused_and_ordinary_numbers_are_not() {
        let kind = |d: &str| blocked(d).map(|r| r.kind.as_str());
        assert_eq!(kind("19002345678"), Some("premium"));
        assert_eq!(
            blocked("19002345678").map(|r| r.source.as_str()),
            Some("NANPA")
        );
        assert_eq!(kind("979123456789"), Some("premium"));
        assert_eq!(kind("8816123456"), Some("satellite"));
        assert_eq!(kind("449012345678"), Some("premium"));
        assert_eq!(kind("448712345678"), Some("revenue-share"));
        assert_eq!(kind("447012345678"), Some("personal"));
        assert_eq!(kind("4490012345678"), Some("premium"));
        assert_eq!(kind("4990012345678"), Some("premium"));
        assert_eq!(kind("14155550100"), None);
        assert_eq!(kind("447400123456"), None, "an ordinary UK mobile");
        assert_eq!(kind("442079460958"), None, "a London landline");
        assert_eq!(kind("4930901820"), None, "a Berlin landline");
        assert_eq!(kind(""), None);
    }

    #[test]
    fn the_longest_prefix_decides() {
        // 076 is paging, but 07624 is the Isle of Man's mobiles.
        assert_eq!(
            blocked("447600123456").map(|r| r.kind.as_str()),
            Some("pager")
        );
        assert_eq!(blocked("447624123456"), None);
        let list = parse("44\tpremium\tX\n4470\tallowed\tY\n44701\tpersonal\tZ\n");
        assert_eq!(longest(&list, "4412").map(|r| r.source.as_str()), Some("X"));
        assert_eq!(
            longest(&list, "44709").map(|r| r.source.as_str()),
            Some("Y")
        );
        assert_eq!(
            longest(&list, "447012").map(|r| r.source.as_str()),
            Some("Z")
        );
        assert_eq!(longest(&list, "4"), None);
    }

    #[test]
    fn malformed_lines_are_left_out() {
        let list = parse(
            "# a comment\n\n+44\tpremium\tX\n44a\tpremium\tX\n45\tunknown-kind\tX\n46\tpremium\n\
             47\tpremium\tX\textra\n48\tpremium\tX\n48\tpager\tY\n",
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].prefix, "48");
        assert_eq!(
            list[0].kind, "premium",
            "the first of a repeated prefix is kept"
        );
    }
}
