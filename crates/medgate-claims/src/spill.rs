//! What the control keeps of a whole file — the keys it has seen, the patients, the stays,
//! the main file's fields for the personal-data file — in bounded memory, whatever the size of
//! the file.
//!
//! A key is kept as its 128-bit digest ([`digest`]), not as its text. A [`DigestMap`] holds
//! its newest entries in memory, up to a limit; when the limit is reached they are moved into
//! a hash table in an unnamed temporary file (open addressing, linear probing, at most half
//! full), read and written in place with positioned I/O, so the operating system's page cache
//! holds it instead of the process. [`Texts`] is the same for the few texts that must be read
//! back (a stay's name, a patient's fields): an arena in memory up to a limit, then appended
//! to a temporary file. A file of 100,000 cases never reaches the limits; one of millions
//! reaches them and runs at the speed of the page cache.
//!
//! An I/O error of the temporary files (a full disk) is kept and answered by
//! [`Spilled::check`] at the end of the pass, naming the folder; until then the lookups answer
//! "not seen".

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, OnceLock};

use crate::error::ClaimsError;

/// How many entries a [`DigestMap`] keeps in memory before it moves them to its file: just
/// under the load limit of a table of 2^19 buckets, so a full map takes 9–17 MiB.
pub const ENTRIES_IN_MEMORY: usize = (1 << 19) / 8 * 7 - 1;

/// How many bytes of text a [`Texts`] keeps in memory before it appends them to its file.
pub const TEXT_IN_MEMORY: usize = 8 << 20;

/// The 128-bit digest a key is kept as: two SipHash passes under keys drawn at random once per
/// process (so no file can be written to make two keys collide), never 0 (an empty slot).
pub fn digest(text: &str) -> u128 {
    static KEYS: LazyLock<(RandomState, RandomState)> =
        LazyLock::new(|| (RandomState::new(), RandomState::new()));
    let high = KEYS.0.hash_one(text);
    let low = KEYS.1.hash_one(text);
    ((u128::from(high) << 64) | u128::from(low)).max(1)
}

/// A value kept beside a digest, as a fixed number of bytes in the file.
pub trait Slot: Copy {
    const SIZE: usize;
    fn put(&self, out: &mut [u8]);
    fn take(bytes: &[u8]) -> Self;
}

impl Slot for () {
    const SIZE: usize = 0;
    fn put(&self, _: &mut [u8]) {}
    fn take(_: &[u8]) -> Self {}
}

impl Slot for u64 {
    const SIZE: usize = 8;
    fn put(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.to_le_bytes());
    }
    fn take(bytes: &[u8]) -> Self {
        le_u64(bytes)
    }
}

/// Where the temporary files go, and the first I/O error met in them.
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    /// Where to go when `dir` cannot be written.
    fallback: Option<PathBuf>,
    failure: OnceLock<String>,
    used: AtomicBool,
}

impl Spill {
    /// Temporary files in `dir`, made only when a limit is reached.
    pub fn in_dir(dir: &Path) -> Spill {
        Spill {
            dir: dir.to_owned(),
            fallback: None,
            failure: OnceLock::new(),
            used: AtomicBool::new(false),
        }
    }

    /// Temporary files beside the package (on the disk that holds it), or in the system's
    /// temporary folder when its folder cannot be written.
    pub fn beside(package: &Path) -> Spill {
        let dir = package
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Spill {
            fallback: Some(std::env::temp_dir()),
            ..Spill::in_dir(dir)
        }
    }

    fn create(&self) -> io::Result<File> {
        self.used.store(true, Ordering::Relaxed);
        tempfile::tempfile_in(&self.dir).or_else(|error| match &self.fallback {
            Some(fallback) => tempfile::tempfile_in(fallback),
            None => Err(error),
        })
    }

    /// Whether a limit was reached and a temporary file made.
    pub fn used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }

    fn fail(&self, error: &io::Error) {
        let _ = self.failure.set(error.to_string());
    }

    /// The first I/O error of the temporary files, if any.
    pub fn check(&self) -> Result<(), ClaimsError> {
        match self.failure.get() {
            None => Ok(()),
            Some(reason) => Err(ClaimsError::Io {
                path: self.dir.clone(),
                source: io::Error::other(format!(
                    "the control's temporary file in this folder failed: {reason}"
                )),
            }),
        }
    }
}

/// The in-memory maps hash a digest by its low half: it is random already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

type Memory<V> = HashMap<u128, V, BuildHasherDefault<Prehashed>>;

/// Digests of keys and a fixed-size value each, in memory up to a limit and then in a
/// temporary file ([module](self)). The same answers as a `HashMap<u128, V>`.
pub struct DigestMap<'s, V: Slot> {
    memory: Memory<V>,
    limit: usize,
    disk: Option<DiskTable<V>>,
    spill: &'s Spill,
}

/// A [`DigestMap`] without values.
pub type DigestSet<'s> = DigestMap<'s, ()>;

/// The keys of a [`DigestMap`], whatever its values.
pub trait Keys: Sync {
    fn contains(&self, key: u128) -> bool;
}

impl<V: Slot + Sync> Keys for DigestMap<'_, V> {
    fn contains(&self, key: u128) -> bool {
        DigestMap::contains(self, key)
    }
}

impl<'s, V: Slot> DigestMap<'s, V> {
    pub fn new(spill: &'s Spill, limit: usize) -> Self {
        DigestMap {
            memory: Memory::default(),
            limit: limit.max(1),
            disk: None,
            spill,
        }
    }

    pub fn len(&self) -> u64 {
        self.memory.len() as u64 + self.disk.as_ref().map_or(0, |disk| disk.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether entries were moved to the temporary file.
    pub fn spilled(&self) -> bool {
        self.disk.is_some()
    }

    pub fn get(&self, key: u128) -> Option<V> {
        if let Some(value) = self.memory.get(&key) {
            return Some(*value);
        }
        let disk = self.disk.as_ref()?;
        if !disk.filter.may_hold(key) {
            return None;
        }
        match disk.find(key) {
            Ok((_, found)) => found,
            Err(error) => {
                self.spill.fail(&error);
                None
            }
        }
    }

    pub fn contains(&self, key: u128) -> bool {
        self.get(key).is_some()
    }

    /// Keeps `value` for `key`; the value it replaces, if the key was there.
    pub fn insert(&mut self, key: u128, value: V) -> Option<V> {
        if let Some(old) = self.memory.get_mut(&key) {
            return Some(std::mem::replace(old, value));
        }
        if let Some(disk) = self.disk.as_mut().filter(|disk| disk.filter.may_hold(key)) {
            match disk.find(key) {
                Ok((index, Some(old))) => {
                    if let Err(error) = disk.write(index, key, value) {
                        self.spill.fail(&error);
                    }
                    return Some(old);
                }
                Ok((_, None)) => {}
                Err(error) => {
                    self.spill.fail(&error);
                    return None;
                }
            }
        }
        self.memory.insert(key, value);
        if self.memory.len() >= self.limit {
            if let Err(error) = self.move_to_disk() {
                self.spill.fail(&error);
            }
        }
        None
    }

    fn move_to_disk(&mut self) -> io::Result<()> {
        let disk = match &mut self.disk {
            Some(disk) => disk,
            None => self
                .disk
                .insert(DiskTable::create(self.spill, 1024, Filter::new())?),
        };
        let entries: Vec<(u128, V)> = self.memory.drain().collect();
        disk.insert_new(entries, self.spill)?;
        // Keep the buckets: the map fills up again to the same size.
        Ok(())
    }
}

/// A hash table in a temporary file: slots of a 16-byte digest (0 = empty) and the value.
struct DiskTable<V> {
    /// Which keys may be in the file: most lookups of keys seen once (the usual case) are
    /// answered without reading it.
    filter: Filter,
    file: File,
    /// Slots, a power of two.
    capacity: u64,
    len: u64,
    value: PhantomData<V>,
}

/// Slots read at once while probing.
const PROBE_SLOTS: u64 = 16;

/// Slots read and written at once while entries are moved in bulk.
const BLOCK_SLOTS: u64 = 4096;

impl<V: Slot> DiskTable<V> {
    const WIDTH: u64 = {
        assert!(V::SIZE <= 16, "a value takes at most 16 bytes");
        16 + V::SIZE as u64
    };

    fn create(spill: &Spill, capacity: u64, filter: Filter) -> io::Result<Self> {
        let file = spill.create()?;
        file.set_len(capacity * Self::WIDTH)?;
        Ok(DiskTable {
            filter,
            file,
            capacity,
            len: 0,
            value: PhantomData,
        })
    }

    fn home(&self, key: u128) -> u64 {
        (key as u64) & (self.capacity - 1)
    }

    /// The slot holding `key` and its value, or the empty slot where it would go.
    fn find(&self, key: u128) -> io::Result<(u64, Option<V>)> {
        let width = Self::WIDTH as usize;
        let mut buffer = [0u8; PROBE_SLOTS as usize * 32];
        let mut index = self.home(key);
        loop {
            let count = PROBE_SLOTS.min(self.capacity - index);
            let bytes = &mut buffer[..count as usize * width];
            read_at(&self.file, bytes, index * Self::WIDTH)?;
            for (at, slot) in bytes.chunks_exact(width).enumerate() {
                let found = le_u128(slot);
                if found == 0 {
                    return Ok((index + at as u64, None));
                }
                if found == key {
                    return Ok((index + at as u64, Some(V::take(&slot[16..]))));
                }
            }
            index = (index + count) & (self.capacity - 1);
        }
    }

    fn write(&self, index: u64, key: u128, value: V) -> io::Result<()> {
        let mut slot = [0u8; 32];
        let slot = &mut slot[..Self::WIDTH as usize];
        slot[..16].copy_from_slice(&key.to_le_bytes());
        value.put(&mut slot[16..]);
        write_at(&self.file, slot, index * Self::WIDTH)
    }

    /// Entries none of which is in the table yet, grown first to stay at most half full;
    /// written block by block in the order of their slots.
    fn insert_new(&mut self, mut entries: Vec<(u128, V)>, spill: &Spill) -> io::Result<()> {
        let needed = (self.len + entries.len() as u64) * 2;
        if needed > self.capacity {
            let capacity = needed.next_power_of_two();
            let filter = std::mem::replace(&mut self.filter, Filter::empty());
            let mut grown = DiskTable::<V>::create(spill, capacity, filter)?;
            let mut start = 0;
            while start < self.capacity {
                let block = Block::read(self, start)?;
                grown.insert_sorted(block.entries().collect())?;
                start += block.slots;
            }
            *self = grown;
        }
        self.insert_sorted(std::mem::take(&mut entries))
    }

    fn insert_sorted(&mut self, mut entries: Vec<(u128, V)>) -> io::Result<()> {
        entries.sort_unstable_by_key(|(key, _)| self.home(*key));
        let mut block: Option<Block> = None;
        for (key, value) in entries {
            self.filter.add(key);
            let mut index = self.home(key);
            loop {
                let start = index / BLOCK_SLOTS * BLOCK_SLOTS;
                let current = match &mut block {
                    Some(current) if current.start == start => current,
                    _ => {
                        if let Some(done) = block.take() {
                            done.write(self)?;
                        }
                        block.insert(Block::read(self, start)?)
                    }
                };
                match current.place(index, key, value) {
                    Some(()) => break,
                    None => index = (start + current.slots) & (self.capacity - 1),
                }
            }
            self.len += 1;
        }
        if let Some(done) = block {
            done.write(self)?;
        }
        Ok(())
    }
}

/// A Bloom filter of a fixed 4 MiB (three bits a key, from the digest's high half): a key
/// not added is reported absent but for about 1 in 80 at 3 million keys and 1 in 5 at 10
/// million; the filter never grows, the table behind it answers the rest.
struct Filter(Vec<u64>);

const FILTER_BITS: u32 = 25;

impl Filter {
    fn new() -> Filter {
        Filter(vec![0; 1 << (FILTER_BITS - 6)])
    }

    fn empty() -> Filter {
        Filter(Vec::new())
    }

    fn bits(key: u128) -> [usize; 3] {
        let high = (key >> 64) as u64;
        let (first, step) = (high as u32, (high >> 32) as u32 | 1);
        let mask = (1u32 << FILTER_BITS) - 1;
        [0u32, 1, 2].map(|i| (first.wrapping_add(i.wrapping_mul(step)) & mask) as usize)
    }

    fn add(&mut self, key: u128) {
        for bit in Filter::bits(key) {
            self.0[bit / 64] |= 1 << (bit % 64);
        }
    }

    fn may_hold(&self, key: u128) -> bool {
        Filter::bits(key)
            .iter()
            .all(|&bit| self.0[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

/// Consecutive slots of a [`DiskTable`], read once and written back once.
struct Block {
    start: u64,
    slots: u64,
    width: usize,
    bytes: Vec<u8>,
    dirty: bool,
}

impl Block {
    fn read<V: Slot>(table: &DiskTable<V>, start: u64) -> io::Result<Block> {
        let slots = BLOCK_SLOTS.min(table.capacity - start);
        let width = DiskTable::<V>::WIDTH as usize;
        let mut bytes = vec![0u8; slots as usize * width];
        read_at(&table.file, &mut bytes, start * DiskTable::<V>::WIDTH)?;
        Ok(Block {
            start,
            slots,
            width,
            bytes,
            dirty: false,
        })
    }

    fn entries<V: Slot>(&self) -> impl Iterator<Item = (u128, V)> + '_ {
        self.bytes.chunks_exact(self.width).filter_map(|slot| {
            let key = le_u128(slot);
            (key != 0).then(|| (key, V::take(&slot[16..])))
        })
    }

    /// Puts a new entry in the first empty slot from `index` in this block; `None` when the
    /// block has none from there.
    fn place<V: Slot>(&mut self, index: u64, key: u128, value: V) -> Option<()> {
        for at in (index - self.start) as usize..self.slots as usize {
            let slot = &mut self.bytes[at * self.width..(at + 1) * self.width];
            if slot[..16].iter().all(|&byte| byte == 0) {
                slot[..16].copy_from_slice(&key.to_le_bytes());
                value.put(&mut slot[16..]);
                self.dirty = true;
                return Some(());
            }
        }
        None
    }

    fn write<V: Slot>(self, table: &DiskTable<V>) -> io::Result<()> {
        if self.dirty {
            write_at(&table.file, &self.bytes, self.start * DiskTable::<V>::WIDTH)?;
        }
        Ok(())
    }
}

/// Texts kept to be read back: an arena in memory up to a limit, then appended to a temporary
/// file. A text is named by a handle of its place (40 bits) and length (24 bits; longer texts
/// are cut at a character boundary).
pub struct Texts<'s> {
    memory: String,
    /// Bytes already in the file; the memory holds what follows.
    base: u64,
    file: Option<File>,
    limit: usize,
    spill: &'s Spill,
}

const TEXT_LENGTH_BITS: u32 = 24;

impl<'s> Texts<'s> {
    pub fn new(spill: &'s Spill, limit: usize) -> Self {
        Texts {
            memory: String::new(),
            base: 0,
            file: None,
            limit,
            spill,
        }
    }

    pub fn push(&mut self, text: &str) -> u64 {
        let mut end = text.len().min((1 << TEXT_LENGTH_BITS) - 1);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let text = &text[..end];
        if self.memory.len() + text.len() > self.limit && !self.memory.is_empty() {
            if let Err(error) = self.move_to_disk() {
                self.spill.fail(&error);
            }
        }
        let at = self.base + self.memory.len() as u64;
        self.memory.push_str(text);
        (at << TEXT_LENGTH_BITS) | text.len() as u64
    }

    fn move_to_disk(&mut self) -> io::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(self.spill.create()?),
        };
        write_at(file, self.memory.as_bytes(), self.base)?;
        self.base += self.memory.len() as u64;
        self.memory.clear();
        Ok(())
    }

    pub fn get(&self, handle: u64) -> String {
        let at = handle >> TEXT_LENGTH_BITS;
        let len = (handle & ((1 << TEXT_LENGTH_BITS) - 1)) as usize;
        if at >= self.base {
            let from = (at - self.base) as usize;
            return self.memory[from..from + len].to_owned();
        }
        let mut bytes = vec![0u8; len];
        let read = match &self.file {
            Some(file) => read_at(file, &mut bytes, at),
            None => Err(io::Error::other("a text handle before the file was made")),
        };
        match read {
            Ok(()) => String::from_utf8(bytes).unwrap_or_default(),
            Err(error) => {
                self.spill.fail(&error);
                String::new()
            }
        }
    }
}

/// The little-endian numbers at the start of `bytes` (a slot's fields).
pub(crate) fn le_u64(bytes: &[u8]) -> u64 {
    let mut number = [0u8; 8];
    number.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(number)
}

pub(crate) fn le_u128(bytes: &[u8]) -> u128 {
    let mut number = [0u8; 16];
    number.copy_from_slice(&bytes[..16]);
    u128::from_le_bytes(number)
}

#[cfg(unix)]
fn read_at(file: &File, bytes: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, bytes, offset)
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut bytes: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !bytes.is_empty() {
        match file.seek_read(bytes, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                bytes = &mut bytes[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !bytes.is_empty() {
        let n = file.seek_write(bytes, offset)?;
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_map_over_its_limit_answers_as_a_hash_map_does() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::in_dir(dir.path());
        let mut map: DigestMap<u64> = DigestMap::new(&spill, 1000);
        let mut reference = std::collections::HashMap::new();
        // Keys repeat (every seventh is one seen before) and values are replaced.
        for n in 0..50_000u64 {
            let text = format!("case-{}", if n % 7 == 0 { n / 3 } else { n });
            let key = digest(&text);
            assert_eq!(map.insert(key, n), reference.insert(key, n), "{text}");
        }
        assert!(map.spilled());
        assert_eq!(map.len(), reference.len() as u64);
        for n in 0..60_000u64 {
            let key = digest(&format!("case-{n}"));
            assert_eq!(map.get(key), reference.get(&key).copied(), "case-{n}");
        }
        spill.check().unwrap();
        // The memory holds fewer than the limit; the rest is in the file.
        assert!(map.memory.len() < 1000);
    }

    #[test]
    fn a_set_grows_its_file_many_times_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::in_dir(dir.path());
        let mut set: DigestSet = DigestMap::new(&spill, 10);
        for n in 0..20_000u32 {
            assert!(set.insert(digest(&n.to_string()), ()).is_none());
        }
        for n in 0..20_000u32 {
            assert!(set.insert(digest(&n.to_string()), ()).is_some(), "{n}");
        }
        assert!(!set.contains(digest("20000")));
        assert_eq!(set.len(), 20_000);
        // Nothing was written beside the unnamed file.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn texts_are_read_back_from_memory_and_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::in_dir(dir.path());
        let mut texts = Texts::new(&spill, 64);
        let words: Vec<String> = (0..500)
            .map(|n| format!("N_ZAP {n} — случай {n}"))
            .collect();
        let handles: Vec<u64> = words.iter().map(|word| texts.push(word)).collect();
        assert!(texts.base > 0, "moved to the file");
        for (word, handle) in words.iter().zip(handles) {
            assert_eq!(&texts.get(handle), word);
        }
        let empty = texts.push("");
        assert_eq!(texts.get(empty), "");
        spill.check().unwrap();
    }

    #[test]
    fn a_folder_that_cannot_be_written_is_named_at_the_end() {
        let spill = Spill::in_dir(Path::new("/nonexistent/medgate-spill"));
        let mut set: DigestSet = DigestMap::new(&spill, 2);
        for n in 0..10u32 {
            set.insert(digest(&n.to_string()), ());
        }
        let error = spill.check().unwrap_err().to_string();
        assert!(error.starts_with("/nonexistent/medgate-spill: "), "{error}");
        assert!(error.contains("temporary file"), "{error}");
    }

    #[test]
    fn equal_texts_have_one_digest_and_none_is_zero() {
        assert_eq!(digest("007"), digest("007"));
        assert_ne!(digest("007"), digest("7"));
        assert_ne!(digest(""), 0);
    }
}
