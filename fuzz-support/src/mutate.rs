//! Input generators shared by the targets: arbitrary bytes, and mutations of a valid input.

use proptest::prelude::*;

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace the byte at (index mod len) with this one (a different one if equal).
    Replace(usize, u8),
    /// Insert a byte before (index mod len+1).
    Insert(usize, u8),
    /// Delete the byte at (index mod len).
    Delete(usize),
    /// Cut everything from (index mod len+1).
    Truncate(usize),
    /// Repeat the range starting at (index mod len), this many bytes long.
    Duplicate(usize, usize),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), 1..16usize).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

/// Applies `edit` to `bytes`.
pub fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match *edit {
        Edit::Replace(i, b) if len > 0 => {
            let i = i % len;
            bytes[i] = if bytes[i] == b { b.wrapping_add(1) } else { b };
        }
        Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Edit::Delete(i) if len > 0 => {
            bytes.remove(i % len);
        }
        Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
        Edit::Duplicate(i, n) if len > 0 => {
            let start = i % len;
            let end = (start + n).min(len);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
        _ => {}
    }
}

/// `base` with 1 to `max` edits applied.
pub fn mutated(base: Vec<u8>, max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(edit(), 1..=max).prop_map(move |edits| {
        let mut bytes = base.clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        bytes
    })
}

/// Bytes biased towards the syntax of headers and tokens.
pub fn syntax_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => prop::sample::select(
            b"abcXYZ019-_.~+/=;, \t\"=sidSERVERIDBearer".to_vec()
        ),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, 0..max)
}
