//! Sort keys for lists that several nodes reorder at once (a playlist's
//! entries): fractional indexing.
//!
//! An entry's place is a key that sorts between its neighbours' keys, so
//! adding, moving or removing one entry writes that one row, whatever the
//! list's length (dense positions 0, 1, 2… shift every entry after it, and
//! each shifted entry is a change to sync). Two nodes that insert at the
//! same place make the same key, or two keys in the same gap; either way
//! both entries stay after sync, ordered by key and then by id, the same on
//! every node.
//!
//! Keys are strings of the digits `0-9a-z` (base 36), compared byte by byte
//! (PostgreSQL's column uses the C collation), and never end in `0`, so
//! there is always room below a key.

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const BASE: usize = DIGITS.len();
/// Longer keys are refused from a push: a playlist edited at one place
/// thousands of times still stays far below this.
pub(crate) const MAX_KEY_LEN: usize = 1000;

fn value(digit: u8) -> usize {
    DIGITS.iter().position(|d| *d == digit).expect("a key holds base-36 digits only")
}

/// A key that sorts after `low` and before `high` (`""` for the start of
/// the list, `None` for its end). `low` must sort before `high`.
pub(crate) fn between(low: &str, high: Option<&str>) -> String {
    debug_assert!(high.is_none_or(|h| low < h), "{low:?} < {high:?}");
    let (low, high) = (low.as_bytes(), high.map(str::as_bytes));
    let mut key = Vec::new();
    midpoint(low, high, &mut key);
    String::from_utf8(key).expect("base-36 digits are ASCII")
}

fn midpoint(low: &[u8], high: Option<&[u8]>, key: &mut Vec<u8>) {
    // A common prefix (`low` read as padded with zeros) is kept.
    if let Some(high) = high {
        let shared =
            high.iter().enumerate().take_while(|(i, d)| low.get(*i).copied().unwrap_or(b'0') == **d).count();
        if shared > 0 {
            key.extend_from_slice(&high[..shared]);
            return midpoint(low.get(shared..).unwrap_or_default(), Some(&high[shared..]), key);
        }
    }
    let first_low = low.first().map_or(0, |d| value(*d));
    let first_high = high.map_or(BASE, |h| value(h[0]));
    if first_high - first_low > 1 {
        // Room between the first digits: their middle is the key.
        key.push(DIGITS[(first_low + first_high) / 2]);
    } else if let Some(high) = high.filter(|h| h.len() > 1) {
        // `high`'s first digit alone sorts between the two.
        key.push(high[0]);
    } else {
        // Adjacent first digits: keep `low`'s and go one digit deeper.
        key.push(DIGITS[first_low]);
        midpoint(low.get(1..).unwrap_or_default(), None, key);
    }
}

/// Whether `key` is one this module could have made.
pub(crate) fn is_valid(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.bytes().all(|b| DIGITS.contains(&b))
        && !key.ends_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_sorts_between_its_neighbours() {
        for (low, high) in
            [("", None), ("", Some("i")), ("i", None), ("a", Some("b")), ("a", Some("a1")), ("az", Some("b"))]
        {
            let key = between(low, high);
            assert!(is_valid(&key), "{key:?}");
            assert!(
                low < key.as_str() && high.is_none_or(|h| key.as_str() < h),
                "{low:?} < {key:?} < {high:?}"
            );
        }
    }

    #[test]
    fn inserting_again_and_again_at_one_place_keeps_every_key_in_order_and_short() {
        // Always at the front, always at the end, and always in the middle.
        let mut keys: Vec<String> = Vec::new();
        for _ in 0..400 {
            let key = between("", keys.first().map(String::as_str));
            keys.insert(0, key);
        }
        for _ in 0..400 {
            let key = between(keys.last().unwrap(), None);
            keys.push(key);
        }
        for _ in 0..400 {
            let middle = keys.len() / 2;
            let key = between(&keys[middle - 1], Some(&keys[middle]));
            keys.insert(middle, key);
        }
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "strictly ordered");
        assert!(keys.iter().all(|k| is_valid(k)));
        let longest = keys.iter().map(String::len).max().unwrap();
        assert!(longest <= 100, "the longest key has {longest} digits");
    }

    #[test]
    fn keys_a_push_could_carry_are_checked() {
        for bad in ["", "A", "a-b", "a0", &"z".repeat(MAX_KEY_LEN + 1)] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert!(is_valid("i") && is_valid("0i"));
    }
}
