//! One file of a package read on a thread of its own while its records are checked on
//! others: the reader hands out batches of records, the checkers run on each record what it
//! alone tells (the catalogues' rules, the format's structure, the MEK rules) side by side,
//! and the caller gets every record back with what was found in it, in file order, for what
//! needs the records before it (keys used twice, sums, duplicate stays). A handful of
//! batches is all that is ever held, whatever the file's size, and their elements are built
//! again in the allocations of the ones before (see [`RecordReader::recycle`]).
//!
//! Written with the standard library's threads and channels: the work is one reader, a few
//! checkers and one consumer in order, with nothing to steal or schedule that a pool would.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::error::ClaimsError;
use crate::package::{display_name, open_entry};
use crate::xml::{Element, Item};

/// Records in one batch: enough that a channel's hand-over is nothing beside their checks.
const BATCH: usize = 64;
/// Batches in flight between the reader, the checkers and the consumer.
const BATCHES: usize = 8;

/// Where a file is: the package on disk and its entry.
pub struct Source<'a> {
    pub path: &'a Path,
    pub entry: &'a str,
    /// The repeated child of the root: `ZAP` or `PERS`.
    pub record_name: &'static str,
}

/// How many threads check records: the processors there are, at most four (the reader and
/// the consumer in order run beside them).
fn checkers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .clamp(1, 4)
}

/// What the caller does with each item in file order, given what the checkers found in it.
pub type Ordered<'a, T> = dyn FnMut(&Item, Option<T>) -> Result<(), ClaimsError> + 'a;

/// A batch checked: its items, what was found in each, the decoded bytes read to its end.
type Checked<T> = (Vec<Item>, Vec<Option<T>>, u64);

enum Message<T> {
    Read {
        seq: u64,
        items: Vec<Item>,
        consumed: u64,
    },
    Checked {
        seq: u64,
        items: Vec<Item>,
        found: Vec<Option<T>>,
        consumed: u64,
    },
    End(Result<String, ClaimsError>),
    CheckerFailed,
}

/// Reads the file's items after its leading headers (which the caller read before, to
/// build what `check` uses), runs `check` on each record on the checker threads, and gives
/// each item to `ordered` in file order with what `check` found in it (`None` for a header
/// met after the records). `progress` gets the decoded bytes read so far. Returns the root
/// element's name.
pub fn records<T: Send>(
    source: &Source<'_>,
    check: &(dyn Fn(&Element) -> T + Sync),
    ordered: &mut Ordered<'_, T>,
    progress: &mut dyn FnMut(u64),
) -> Result<String, ClaimsError> {
    let (to_consumer, from_all) = channel::<Message<T>>();
    let (to_checkers, for_checkers) = channel::<(u64, Vec<Item>, u64)>();
    let for_checkers = Arc::new(Mutex::new(for_checkers));
    let (to_reader, spare_batches) = channel::<Vec<Item>>();
    for _ in 0..BATCHES {
        // The receiver is alive: it is moved into the reader below.
        let _ = to_reader.send(Vec::with_capacity(BATCH));
    }
    std::thread::scope(|scope| {
        let reader_out = to_consumer.clone();
        scope.spawn(move || read(source, spare_batches, reader_out));
        let checkers: Vec<_> = (0..checkers())
            .map(|_| {
                let out = to_consumer.clone();
                let jobs = Arc::clone(&for_checkers);
                scope.spawn(move || check_batches(&jobs, check, out))
            })
            .collect();
        drop(to_consumer);
        // Its senders, dropped on return, end the reader and the checkers.
        let outcome = consume(from_all, to_checkers, to_reader, ordered, progress);
        // A checker's panic goes on with its own message.
        for checker in checkers {
            if let Err(panic) = checker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        outcome
    })
}

/// The reader's thread: batches of items out, emptied batches back in. It opens the
/// archive again, on a handle of its own.
fn read<T>(source: &Source<'_>, spare: Receiver<Vec<Item>>, out: Sender<Message<T>>) {
    let archive = File::open(source.path)
        .map_err(|e| ClaimsError::io(source.path, e))
        .and_then(|file| {
            zip::ZipArchive::new(BufReader::new(file)).map_err(|error| ClaimsError::Zip {
                file: display_name(source.path),
                reason: error.to_string(),
            })
        });
    let mut archive = match archive {
        Ok(archive) => archive,
        Err(error) => {
            let _ = out.send(Message::End(Err(error)));
            return;
        }
    };
    let mut reader = match open_entry(&mut archive, source.path, source.entry, source.record_name)
    {
        Ok(reader) => reader,
        Err(error) => {
            let _ = out.send(Message::End(Err(error)));
            return;
        }
    };
    let mut leading = true;
    let mut seq = 0u64;
    // An emptied batch comes back once the consumer is done with its items.
    while let Ok(mut batch) = spare.recv() {
        for item in batch.drain(..) {
            reader.recycle(item);
        }
        let mut ended = false;
        while batch.len() < BATCH {
            match reader.next_item() {
                Ok(Some(item)) => {
                    // The headers before the first record were read by the caller.
                    if leading && matches!(item, Item::Header(_)) {
                        reader.recycle(item);
                        continue;
                    }
                    leading = false;
                    batch.push(item);
                }
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(error) => {
                    let _ = out.send(Message::End(Err(error)));
                    return;
                }
            }
        }
        let consumed = reader.get_ref().consumed();
        if !batch.is_empty() {
            let items = batch;
            if out.send(Message::Read { seq, items, consumed }).is_err() {
                return;
            }
            seq += 1;
        }
        if ended {
            let root = reader.root().unwrap_or("").to_owned();
            let _ = out.send(Message::End(Ok(root)));
            return;
        }
    }
}

/// Tells the consumer when a checker's thread ends in a panic, so it does not wait for a
/// batch that will not come.
struct Guard<T>(Sender<Message<T>>);

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send(Message::CheckerFailed);
        }
    }
}

/// A checker's thread: takes batches until there are none, checks their records.
fn check_batches<T>(
    jobs: &Mutex<Receiver<(u64, Vec<Item>, u64)>>,
    check: &(dyn Fn(&Element) -> T + Sync),
    out: Sender<Message<T>>,
) {
    let guard = Guard(out);
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok((seq, items, consumed)) = job else {
            return;
        };
        let found = items
            .iter()
            .map(|item| match item {
                Item::Record(record) => Some(check(record)),
                Item::Header(_) => None,
            })
            .collect();
        let checked = Message::Checked {
            seq,
            items,
            found,
            consumed,
        };
        if guard.0.send(checked).is_err() {
            return;
        }
    }
}

/// The consumer, on the caller's thread: batches read go to the checkers, batches checked
/// are given to `ordered` in file order and back to the reader.
fn consume<T>(
    from_all: Receiver<Message<T>>,
    to_checkers: Sender<(u64, Vec<Item>, u64)>,
    to_reader: Sender<Vec<Item>>,
    ordered: &mut Ordered<'_, T>,
    progress: &mut dyn FnMut(u64),
) -> Result<String, ClaimsError> {
    let mut read = 0u64;
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, Checked<T>> = BTreeMap::new();
    let mut root = None;
    loop {
        if root.is_some() && next == read {
            return Ok(root.unwrap_or_default());
        }
        let Ok(message) = from_all.recv() else {
            return Err(stopped());
        };
        match message {
            Message::Read {
                seq,
                items,
                consumed,
            } => {
                read += 1;
                if to_checkers.send((seq, items, consumed)).is_err() {
                    return Err(stopped());
                }
            }
            Message::Checked {
                seq,
                items,
                found,
                consumed,
            } => {
                waiting.insert(seq, (items, found, consumed));
                while let Some((items, found, consumed)) = waiting.remove(&next) {
                    for (item, found) in items.iter().zip(found) {
                        ordered(item, found)?;
                    }
                    progress(consumed);
                    next += 1;
                    // The reader may have stopped on an error already; its message follows.
                    let _ = to_reader.send(items);
                }
            }
            Message::End(Ok(name)) => root = Some(name),
            Message::End(Err(error)) => return Err(error),
            Message::CheckerFailed => return Err(stopped()),
        }
    }
}

/// What the consumer says when a thread it waits for is gone (a panic, which the scope then
/// carries on).
fn stopped() -> ClaimsError {
    ClaimsError::io(
        "",
        std::io::Error::other("a thread checking the records stopped"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::{Read, Write};
    use std::path::PathBuf;

    use super::*;
    use crate::generate::{self, Options};
    use crate::names::Period;

    /// A generated package's path and its main file's entry, with the main file's text
    /// changed by `edit`.
    fn package(dir: &Path, cases: u32, edit: impl Fn(String) -> String) -> (PathBuf, String) {
        let options = Options::new(cases, Period::new(2025, 1).unwrap());
        let name = options.name();
        let mut clean = std::io::Cursor::new(Vec::new());
        generate::write_package(&mut clean, &options).unwrap();
        let mut archive = zip::ZipArchive::new(clean).unwrap();
        let path = dir.join(format!("{}.zip", name.main_stem()));
        let mut out = zip::ZipWriter::new(File::create(&path).unwrap());
        let main = format!("{}.xml", name.main_stem());
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            if entry.name() == main {
                let text = encoding_rs::WINDOWS_1251.decode(&bytes).0.into_owned();
                bytes = encoding_rs::WINDOWS_1251.encode(&edit(text)).0.into_owned();
            }
            out.start_file(entry.name(), zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(&bytes).unwrap();
        }
        out.finish().unwrap();
        (path, main)
    }

    /// [`records`] over the main file's `ZAP`s, the progress left out.
    fn main_records<T: Send>(
        (path, entry): &(PathBuf, String),
        check: &(dyn Fn(&Element) -> T + Sync),
        ordered: &mut Ordered<'_, T>,
    ) -> Result<String, ClaimsError> {
        let source = Source {
            path,
            entry,
            record_name: "ZAP",
        };
        records(&source, check, ordered, &mut |_| {})
    }

    fn n_zap(record: &Element) -> u64 {
        record.child_text("N_ZAP").unwrap().parse().unwrap()
    }

    #[test]
    fn records_come_back_in_file_order_with_what_was_found_in_each() {
        let dir = tempfile::tempdir().unwrap();
        // Many batches, so the checkers finish them out of order.
        let (path, entry) = package(dir.path(), 1_000, |text| text);
        let source = Source {
            path: &path,
            entry: &entry,
            record_name: "ZAP",
        };
        let mut seen = Vec::new();
        let mut last_progress = 0;
        let root = records(
            &source,
            &|record: &Element| n_zap(record) * 10,
            &mut |item, found| {
                let Item::Record(record) = item else {
                    panic!("a header after the records")
                };
                assert_eq!(found, Some(n_zap(record) * 10));
                seen.push(n_zap(record));
                Ok(())
            },
            &mut |consumed| {
                assert!(consumed >= last_progress);
                last_progress = consumed;
            },
        )
        .unwrap();
        assert_eq!(root, "ZL_LIST");
        assert_eq!(seen, (1..=1_000).collect::<Vec<_>>());
        assert!(last_progress > 1_000_000, "{last_progress}");
    }

    #[test]
    fn a_header_after_the_records_is_given_in_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = package(dir.path(), 200, |text| {
            let start = text.find("<SCHET>").unwrap();
            let end = text.find("</SCHET>").unwrap() + "</SCHET>".len();
            let schet = text[start..end].to_owned();
            let without = format!("{}{}", &text[..start], &text[end..]);
            without.replace("</ZL_LIST>", &format!("{schet}</ZL_LIST>"))
        });
        let mut order = Vec::new();
        main_records(
            &file,
            &|_: &Element| (),
            &mut |item, found| {
                match item {
                    Item::Header(header) => {
                        assert!(found.is_none());
                        order.push(header.name.clone());
                    }
                    Item::Record(_) => order.push("ZAP".to_owned()),
                }
                Ok(())
            },
        )
        .unwrap();
        // ZGLV, before the first record, is the caller's to read.
        assert_eq!(order.len(), 201);
        assert_eq!(order.last().map(String::as_str), Some("SCHET"));
        assert!(order[..200].iter().all(|name| name == "ZAP"));
    }

    #[test]
    fn a_broken_file_is_an_error_and_nothing_after_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let file = package(dir.path(), 600, |text| {
            // The 400th record's end tag misspelt.
            let at = text.match_indices("</ZAP>").nth(399).unwrap().0;
            format!("{}</ZAPP>{}", &text[..at], &text[at + "</ZAP>".len()..])
        });
        let mut given = 0u64;
        let error = main_records(
            &file,
            &|_: &Element| (),
            &mut |_, _| {
                given += 1;
                Ok(())
            },
        )
        .unwrap_err();
        assert!(matches!(error, ClaimsError::Xml { .. }), "{error}");
        assert!(given < 400, "{given} records given before the broken one");
    }

    #[test]
    fn an_error_of_the_consumer_stops_the_reading() {
        let dir = tempfile::tempdir().unwrap();
        let file = package(dir.path(), 600, |text| text);
        let mut given = 0u64;
        let error = main_records(
            &file,
            &|_: &Element| (),
            &mut |_, _| {
                given += 1;
                if given == 100 {
                    return Err(ClaimsError::InvalidPeriod("stop".to_owned()));
                }
                Ok(())
            },
        )
        .unwrap_err();
        assert!(matches!(error, ClaimsError::InvalidPeriod(_)), "{error}");
        assert_eq!(given, 100);
    }

    #[test]
    #[should_panic(expected = "a checker's panic")]
    fn a_checker_that_panics_does_not_leave_the_consumer_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let file = package(dir.path(), 300, |text| text);
        let _ = main_records(
            &file,
            &|record: &Element| {
                if n_zap(record) == 150 {
                    panic!("a checker's panic");
                }
            },
            &mut |_, _| Ok(()),
        );
    }
}
