//! The 1 MiB buffers uploads are staged through, aligned for direct I/O, and the pool that
//! hands them out again. A block is 1 MiB whatever the upload's size, and a fresh one is a
//! `mmap` of 1 MiB, zeroed page by page as it is first touched, then a `munmap` whose TLB
//! shoot-down interrupts the other cores: for a 4 KiB upload that was more work than the
//! upload (issue 21). The pool keeps a few blocks for the next uploads; it is bounded, so
//! memory stays bounded by design (at most [`POOLED`] idle blocks).

use std::sync::{Arc, Mutex};

/// Alignment of direct I/O buffers, offsets and lengths (the largest logical block size).
pub(crate) const ALIGN: usize = 4096;
/// Bytes per write: 1 MiB writes reached the disk's speed where 256 KiB ones did not
/// (`dd oflag=direct`: 2.1 against 1.1 GB/s on the benchmark machine).
pub(crate) const BLOCK: usize = 1024 * 1024;
/// Idle blocks the pool keeps (16 MiB): enough for that many uploads starting at once to
/// take a used block, few enough to be nothing next to a server's memory.
const POOLED: usize = 16;

/// A [`BLOCK`]-sized buffer whose start is aligned for direct I/O. Only the filled part is
/// ever read, so what a block held for an earlier upload is never seen again.
pub(crate) struct AlignedBlock {
    /// `BLOCK + ALIGN` bytes, so that an aligned `BLOCK` fits whatever the allocator returns.
    storage: Vec<u8>,
    /// Where the aligned part starts in `storage`.
    start: usize,
    /// Bytes filled.
    pub(crate) len: usize,
}

impl AlignedBlock {
    fn new() -> Self {
        let storage = vec![0u8; BLOCK + ALIGN];
        let start = storage.as_ptr().align_offset(ALIGN);
        AlignedBlock {
            storage,
            start,
            len: 0,
        }
    }

    /// Copies as much of `bytes` as fits; returns how much that was.
    pub(crate) fn fill(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(BLOCK - self.len);
        let at = self.start + self.len;
        self.storage[at..at + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    /// The part not yet filled.
    pub(crate) fn room(&mut self) -> &mut [u8] {
        let at = self.start + self.len;
        &mut self.storage[at..self.start + BLOCK]
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == BLOCK
    }

    /// The filled part.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
}

/// Blocks given back by finished uploads, for the next ones (shared by a store's clones).
#[derive(Clone, Default)]
pub(crate) struct BlockPool {
    idle: Arc<Mutex<Vec<AlignedBlock>>>,
}

impl std::fmt::Debug for BlockPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockPool").finish_non_exhaustive()
    }
}

impl BlockPool {
    /// An empty block: a used one if the pool has one, else a new one.
    pub(crate) fn take(&self) -> AlignedBlock {
        let used = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        used.unwrap_or_else(AlignedBlock::new)
    }

    /// Gives `block` back; it is freed instead if the pool is full.
    pub(crate) fn give(&self, mut block: AlignedBlock) {
        block.len = 0;
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POOLED {
            idle.push(block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_fill_up_to_their_size() {
        let mut block = AlignedBlock::new();
        assert_eq!(block.bytes().as_ptr() as usize % ALIGN, 0);
        assert_eq!(block.fill(&[7u8; 1000]), 1000);
        assert_eq!(block.fill(&vec![8u8; BLOCK]), BLOCK - 1000);
        assert!(block.is_full());
        assert_eq!(block.bytes().len(), BLOCK);
        assert_eq!(block.bytes()[999], 7);
        assert_eq!(block.bytes()[1000], 8);
    }

    #[test]
    fn a_block_given_back_comes_back_empty_and_the_pool_is_bounded() {
        let pool = BlockPool::default();
        let mut block = pool.take();
        block.fill(b"an earlier upload's bytes");
        let at = block.bytes().as_ptr();
        pool.give(block);
        let mut again = pool.take();
        assert_eq!(
            again.bytes().as_ptr(),
            at,
            "the used block is handed out again"
        );
        assert!(again.bytes().is_empty());
        assert_eq!(again.room().len(), BLOCK);
        for _ in 0..POOLED + 5 {
            pool.give(AlignedBlock::new());
        }
        assert_eq!(pool.idle.lock().unwrap().len(), POOLED);
    }
}
