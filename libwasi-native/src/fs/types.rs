//! The version-neutral types of the filesystem core: what a descriptor may
//! do, how a path is opened, a file's type, a new timestamp, advice, and
//! the readings of a `stat`.
//!
//! The flag sets have the bit positions of the WIT `flags` types
//! (`descriptor-flags`, `open-flags`) of WASI 0.2 and 0.3, which agree, so
//! those faces convert by copying bits; preview1 maps its own `fdflags`,
//! `oflags` and rights onto them.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::OnceLock;

use super::errno::Errno;

/// What a descriptor may do and how its writes are made (the cases of
/// `wasi:filesystem`'s `descriptor-flags`, in its bit order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// Data can be read.
    pub const READ: u8 = 1 << 0;
    /// Data can be written.
    pub const WRITE: u8 = 1 << 1;
    /// Writes complete with file integrity (`O_SYNC`).
    pub const FILE_INTEGRITY_SYNC: u8 = 1 << 2;
    /// Writes complete with data integrity (`O_DSYNC`).
    pub const DATA_INTEGRITY_SYNC: u8 = 1 << 3;
    /// Reads complete at the integrity of writes (`O_RSYNC`).
    pub const REQUESTED_WRITE_SYNC: u8 = 1 << 4;
    /// The directory's contents may be changed.
    pub const MUTATE_DIRECTORY: u8 = 1 << 5;

    /// The flags of WIT bits `bits` (unknown bits dropped).
    pub fn from_bits(bits: u64) -> Self {
        Flags((bits & 0x3f) as u8)
    }

    /// The WIT bits.
    pub fn bits(self) -> u64 {
        u64::from(self.0)
    }

    /// Whether every flag of `flags` is set.
    pub fn contains(self, flags: u8) -> bool {
        self.0 & flags == flags
    }
}

/// How `open-at` opens a path (the cases of `wasi:filesystem`'s
/// `open-flags`, in its bit order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenFlags(pub u8);

impl OpenFlags {
    /// Create the file if it does not exist (`O_CREAT`).
    pub const CREATE: u8 = 1 << 0;
    /// Fail if it is not a directory (`O_DIRECTORY`).
    pub const DIRECTORY: u8 = 1 << 1;
    /// Fail if it exists (`O_EXCL`).
    pub const EXCLUSIVE: u8 = 1 << 2;
    /// Truncate it to size 0 (`O_TRUNC`).
    pub const TRUNCATE: u8 = 1 << 3;

    /// The flags of WIT bits `bits` (unknown bits dropped).
    pub fn from_bits(bits: u64) -> Self {
        OpenFlags((bits & 0xf) as u8)
    }

    /// Whether every flag of `flags` is set.
    pub fn contains(self, flags: u8) -> bool {
        self.0 & flags == flags
    }
}

/// The type of a file (`descriptor-type`, preview1's `filetype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// None of the others.
    Unknown,
    /// A block device.
    BlockDevice,
    /// A character device.
    CharacterDevice,
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A symbolic link.
    SymbolicLink,
    /// A regular file.
    RegularFile,
    /// A socket.
    Socket,
}

impl FileType {
    /// The type of file mode `mode` (`st_mode`).
    pub fn of_mode(mode: libc::mode_t) -> Self {
        match mode & libc::S_IFMT {
            libc::S_IFBLK => FileType::BlockDevice,
            libc::S_IFCHR => FileType::CharacterDevice,
            libc::S_IFDIR => FileType::Directory,
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFLNK => FileType::SymbolicLink,
            libc::S_IFREG => FileType::RegularFile,
            libc::S_IFSOCK => FileType::Socket,
            _ => FileType::Unknown,
        }
    }

    /// The type of a directory entry's `d_type`; `None` when the file
    /// system does not say (`DT_UNKNOWN`).
    pub fn of_dirent(d_type: u8) -> Option<Self> {
        Some(match d_type {
            libc::DT_BLK => FileType::BlockDevice,
            libc::DT_CHR => FileType::CharacterDevice,
            libc::DT_DIR => FileType::Directory,
            libc::DT_FIFO => FileType::Fifo,
            libc::DT_LNK => FileType::SymbolicLink,
            libc::DT_REG => FileType::RegularFile,
            libc::DT_SOCK => FileType::Socket,
            _ => return None,
        })
    }

    /// The type of `st`.
    pub fn of_stat(st: &libc::stat) -> Self {
        FileType::of_mode(st.st_mode)
    }
}

/// A point in time: seconds since the epoch (negative before it) and
/// nanoseconds (below 10⁹).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds past them.
    pub nanoseconds: u32,
}

/// What to set a timestamp to (`new-timestamp`, preview1's `fstflags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTime {
    /// Leave it.
    NoChange,
    /// The current time.
    Now,
    /// This time.
    At(Time),
}

impl SetTime {
    /// The `timespec` for `utimensat`/`futimens`.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a nanosecond count of a second or more.
    pub fn timespec(self) -> Result<libc::timespec, Errno> {
        Ok(match self {
            SetTime::NoChange => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            },
            SetTime::Now => libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_NOW,
            },
            SetTime::At(t) => {
                if t.nanoseconds >= 1_000_000_000 {
                    return Err(Errno(libc::EINVAL));
                }
                libc::timespec {
                    tv_sec: t.seconds as _,
                    tv_nsec: t.nanoseconds as _,
                }
            }
        })
    }
}

/// File access advice (`advice`, preview1's `advice`), for
/// `posix_fadvise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// No advice.
    Normal,
    /// Sequential access.
    Sequential,
    /// Random access.
    Random,
    /// Needed soon.
    WillNeed,
    /// Not needed soon.
    DontNeed,
    /// Accessed once.
    NoReuse,
}

impl Advice {
    /// The `POSIX_FADV_*` value.
    pub fn posix(self) -> libc::c_int {
        match self {
            Advice::Normal => libc::POSIX_FADV_NORMAL,
            Advice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
            Advice::Random => libc::POSIX_FADV_RANDOM,
            Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
            Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
            Advice::NoReuse => libc::POSIX_FADV_NOREUSE,
        }
    }
}

/// The readings of a `stat`, as the faces need them.
#[allow(
    clippy::unnecessary_cast,
    reason = "the field types of `stat` vary by target"
)]
pub mod stat {
    use super::{FileType, Time};

    /// The file's type.
    pub fn file_type(st: &libc::stat) -> FileType {
        FileType::of_stat(st)
    }

    /// Number of hard links.
    pub fn link_count(st: &libc::stat) -> u64 {
        st.st_nlink as u64
    }

    /// Size in bytes.
    pub fn size(st: &libc::stat) -> u64 {
        st.st_size as u64
    }

    fn time(seconds: i64, nanoseconds: i64) -> Time {
        Time {
            seconds,
            nanoseconds: nanoseconds.clamp(0, 999_999_999) as u32,
        }
    }

    /// Last data access.
    pub fn accessed(st: &libc::stat) -> Time {
        time(st.st_atime as i64, st.st_atime_nsec as i64)
    }

    /// Last data modification.
    pub fn modified(st: &libc::stat) -> Time {
        time(st.st_mtime as i64, st.st_mtime_nsec as i64)
    }

    /// Last status change.
    pub fn changed(st: &libc::stat) -> Time {
        time(st.st_ctime as i64, st.st_ctime_nsec as i64)
    }

    /// Device number.
    pub fn device(st: &libc::stat) -> u64 {
        st.st_dev as u64
    }

    /// Inode number.
    pub fn inode(st: &libc::stat) -> u64 {
        st.st_ino as u64
    }
}

/// The metadata hash of `st` (`metadata-hash-value`, lower and upper
/// halves): a keyed hash (the key is chosen at random once per process) of
/// the device, inode, size and modification and status-change times.
pub fn metadata_hash(st: &libc::stat) -> (u64, u64) {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    let mut h = KEY.get_or_init(RandomState::new).build_hasher();
    (st.st_dev, st.st_ino, st.st_size).hash(&mut h);
    (st.st_mtime, st.st_mtime_nsec, st.st_ctime, st.st_ctime_nsec).hash(&mut h);
    // The two halves share the hashing of the fields and differ by a
    // last byte.
    let half = |salt: u8| {
        let mut h = h.clone();
        salt.hash(&mut h);
        h.finish()
    };
    (half(0), half(1))
}
