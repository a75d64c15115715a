//! The stable hash behind the hash-session policy, shared by [`policy`](super::policy) (the
//! key) and [`backend`](super::backend) (each backend's name).

/// 64-bit FNV-1a: stable across runs and processes, which the hash policy needs.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
