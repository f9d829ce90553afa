//! Natural order of references people write: runs of digits compare as
//! numbers, so `M2` comes before `M10` and `1.9` before `1.10` (letters compare
//! case-insensitively, then as written, so the order is total).

use std::cmp::Ordering;

/// Compares two references in natural order.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (dx, rx) = split_digits(x);
                let (dy, ry) = split_digits(y);
                let (tx, ty) = (trim_zeros(dx), trim_zeros(dy));
                let by_value = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (x, y) = (rx, ry);
            }
            (Some(p), Some(q)) => {
                let by_letter = p.to_ascii_lowercase().cmp(&q.to_ascii_lowercase());
                if by_letter != Ordering::Equal {
                    return by_letter;
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n.min(s.len().saturating_sub(1))..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_in_references_sort_by_value() {
        let mut refs = vec!["M10", "M2", "m1", "M1.10", "M1.9", "B3", "M02", "M"];
        refs.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(refs, ["B3", "M", "m1", "M1.9", "M1.10", "M02", "M2", "M10"]);
    }

    proptest! {
        /// A total order: antisymmetric, and equal only for equal text.
        #[test]
        fn the_order_is_total(a in "[a-cA-C0-9.]{0,8}", b in "[a-cA-C0-9.]{0,8}") {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            prop_assert_eq!(natural_cmp(&a, &b) == Ordering::Equal, a == b);
        }
    }
}
