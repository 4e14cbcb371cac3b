//! The one memory budget that everything fed by the wire is charged to (`--memory-limit`).
//!
//! Like Suricata's stream and reassembly memcaps: each holder of wire-fed memory (the flow
//! table, a connection's handshake state with its hello buffers and out-of-order queues, the
//! fragments, the census) keeps the number of bytes it has charged, and re-charges it with
//! [`Budget::set`] whenever what it holds changes. A charge is two additions and a compare,
//! never a system call. The budget does not refuse anything itself: its owner (the pipeline)
//! reads [`Budget::over`] after a charge and frees memory by its own rule (it gives up the
//! oldest partial handshakes), or asks [`Budget::room`] before a growth it can decline (the
//! flow table, the census).
//!
//! Figures are estimates of heap bytes held (capacities, plus [`PER_ALLOCATION`] per block for
//! the allocator's own header and rounding): close to, and meant to stay above, what the
//! process actually holds for that state.

/// The default `--memory-limit`: chosen so that a whole process (the budget plus the binary,
/// the endpoint data, the read buffers and the allocator's slack) stays under 1 GiB of
/// resident memory when 1,000,000 connections each hold a partial hello (README "Limits").
pub const DEFAULT_LIMIT: usize = 640 << 20;

/// The smallest `--memory-limit` accepted.
pub const MIN_LIMIT: usize = 16 << 20;

/// Bytes charged per heap block besides its capacity: glibc's 8-byte chunk header and the
/// rounding to 16 bytes, on average.
pub const PER_ALLOCATION: usize = 16;

/// Heap bytes of a block of `capacity` bytes (nothing for an empty one, which owns no block).
pub fn block(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else {
        capacity + PER_ALLOCATION
    }
}

/// Bytes a hash table of `capacity` entries of `slot` bytes holds: hashbrown keeps one
/// control byte per bucket and at least 8 buckets per 7 entries, in powers of two.
pub fn table(capacity: usize, slot: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        capacity.next_power_of_two().max(4)
    } else {
        (capacity.saturating_mul(8) / 7).next_power_of_two()
    };
    block(buckets.saturating_mul(slot + 1))
}

/// The memory used, against the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: usize,
    used: usize,
    peak: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: 0,
            peak: 0,
        }
    }

    /// A holder that had `charged` bytes charged now holds `now`: the budget follows, and so
    /// does `charged`.
    #[inline]
    pub fn set(&mut self, charged: &mut usize, now: usize) {
        self.used = self.used.saturating_sub(*charged).saturating_add(now);
        *charged = now;
        self.peak = self.peak.max(self.used);
    }

    /// Whether more is used than the limit allows.
    #[inline]
    pub fn over(&self) -> bool {
        self.used > self.limit
    }

    /// Whether `more` bytes fit under the limit.
    #[inline]
    pub fn room(&self, more: usize) -> bool {
        self.used.saturating_add(more) <= self.limit
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn used(&self) -> usize {
        self.used
    }

    /// The most ever used.
    pub fn peak(&self) -> usize {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_follow_their_holders() {
        let mut b = Budget::new(1000);
        let (mut a, mut c) = (0, 0);
        b.set(&mut a, 600);
        b.set(&mut c, 300);
        assert_eq!(
            (b.used(), b.over(), b.room(100), b.room(101)),
            (900, false, true, false)
        );
        b.set(&mut a, 800);
        assert_eq!((b.used(), b.over(), a), (1100, true, 800));
        b.set(&mut a, 0);
        assert_eq!((b.used(), b.peak(), b.over()), (300, 1100, false));
    }

    #[test]
    fn tables_and_blocks() {
        assert_eq!(block(0), 0);
        assert_eq!(block(10), 10 + PER_ALLOCATION);
        assert_eq!(table(0, 40), 0);
        assert_eq!(table(3, 40), 4 * 41 + PER_ALLOCATION);
        // 14 entries fit 16 buckets; 917,504 fit 2^20.
        assert_eq!(table(14, 40), 16 * 41 + PER_ALLOCATION);
        assert_eq!(table(917_504, 40), (1 << 20) * 41 + PER_ALLOCATION);
    }
}
