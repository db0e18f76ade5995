//! Tests of the sandbox and the path operations, on a temporary directory.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, symlink};
use std::path::PathBuf;

use super::preopens::{PREOPEN_FLAGS, open_host_dir};
use super::sandbox::{self, Beneath, Strategy};
use super::types::{FileType, Flags, OpenFlags};
use super::{Descriptor, Errno, file, path};
use crate::WasiHost;

/// The WIT `error-code` names of the `errno` values the tests expect.
#[allow(non_snake_case, non_upper_case_globals)]
mod E {
    use super::Errno;
    pub const NotPermitted: Errno = Errno(libc::EPERM);
    pub const Exist: Errno = Errno(libc::EEXIST);
    pub const IsDirectory: Errno = Errno(libc::EISDIR);
    pub const Loop: Errno = Errno(libc::ELOOP);
    pub const NoEntry: Errno = Errno(libc::ENOENT);
    pub const NotDirectory: Errno = Errno(libc::ENOTDIR);
    pub const NotEmpty: Errno = Errno(libc::ENOTEMPTY);
}

// The path operations with `&str` paths.
fn open_at(at: Beneath<'_>, p: &str, follow: bool, oflags: i32) -> Result<File, Errno> {
    path::open_at(at, p.as_bytes(), follow, oflags)
}
fn stat_at(at: Beneath<'_>, p: &str, follow: bool) -> Result<libc::stat, Errno> {
    path::stat_at(at, p.as_bytes(), follow)
}
fn create_directory_at(at: Beneath<'_>, p: &str) -> Result<(), Errno> {
    path::create_directory_at(at, p.as_bytes())
}
fn remove_directory_at(at: Beneath<'_>, p: &str) -> Result<(), Errno> {
    path::remove_directory_at(at, p.as_bytes())
}
fn unlink_file_at(at: Beneath<'_>, p: &str) -> Result<(), Errno> {
    path::unlink_file_at(at, p.as_bytes())
}
fn readlink_at(at: Beneath<'_>, p: &str) -> Result<String, Errno> {
    path::readlink_at(at, p.as_bytes()).map(|t| String::from_utf8(t).unwrap())
}
fn symlink_at(at: Beneath<'_>, target: &str, p: &str) -> Result<(), Errno> {
    path::symlink_at(at, target.as_bytes(), p.as_bytes())
}
fn link_at(
    a: Beneath<'_>,
    old: &str,
    follow: bool,
    b: Beneath<'_>,
    new: &str,
) -> Result<(), Errno> {
    path::link_at(a, old.as_bytes(), follow, b, new.as_bytes())
}
fn rename_at(a: Beneath<'_>, old: &str, b: Beneath<'_>, new: &str) -> Result<(), Errno> {
    path::rename_at(a, old.as_bytes(), b, new.as_bytes())
}
fn descriptor_type(mode: libc::mode_t) -> FileType {
    FileType::of_mode(mode)
}

/// A directory under the system's temporary directory, removed when
/// dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "smelt-wasi-fs-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A sandbox: `root/sandbox`, with `root/outside.txt` next to it, and
/// `sandbox/a/`, `sandbox/b/file.txt`, `sandbox/link-b -> b`,
/// `sandbox/a/up -> ../b`, `sandbox/etc -> /etc`,
/// `sandbox/escape -> ../outside.txt`, `sandbox/a/far -> ../../outside.txt`,
/// `sandbox/self -> self`.
fn sandbox(test: &str) -> (TempDir, File) {
    let root = TempDir::new(test);
    let sb = root.0.join("sandbox");
    std::fs::create_dir_all(sb.join("a")).unwrap();
    std::fs::create_dir_all(sb.join("b")).unwrap();
    std::fs::write(sb.join("b/file.txt"), b"inside").unwrap();
    std::fs::write(root.0.join("outside.txt"), b"outside").unwrap();
    symlink("b", sb.join("link-b")).unwrap();
    symlink("../b", sb.join("a/up")).unwrap();
    symlink("/etc", sb.join("etc")).unwrap();
    symlink("../outside.txt", sb.join("escape")).unwrap();
    symlink("../../outside.txt", sb.join("a/far")).unwrap();
    symlink("self", sb.join("self")).unwrap();
    let dir = File::from(open_host_dir(sb.to_str().unwrap()).unwrap());
    (root, dir)
}

const STRATEGIES: [Strategy; 2] = [Strategy::Auto, Strategy::Manual];

fn at(dir: &File, strategy: Strategy) -> Beneath<'_> {
    Beneath {
        dir: dir.as_fd(),
        strategy,
    }
}

fn read(dir: &File, strategy: Strategy, path: &str, follow: bool) -> Result<Vec<u8>, Errno> {
    let file = open_at(at(dir, strategy), path, follow, libc::O_RDONLY)?;
    let (bytes, _) = file::read_at(&file, 100, 0)?;
    Ok(bytes)
}

#[test]
fn dot_dot_cannot_leave_the_sandbox() {
    let (_root, dir) = sandbox("dotdot");
    for s in STRATEGIES {
        assert_eq!(
            read(&dir, s, "../outside.txt", true),
            Err(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            read(&dir, s, "a/../../outside.txt", true),
            Err(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            read(&dir, s, "b/../../sandbox/b/file.txt", true),
            Err(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            stat_at(at(&dir, s), "..", true).err(),
            Some(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            stat_at(at(&dir, s), "a/../..", true).err(),
            Some(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            create_directory_at(at(&dir, s), "../made"),
            Err(E::NotPermitted),
            "{s:?}"
        );
    }
    assert!(!_root.0.join("made").exists());
}

#[test]
fn absolute_paths_are_refused() {
    let (root, dir) = sandbox("absolute");
    let outside = root.0.join("outside.txt");
    for s in STRATEGIES {
        assert_eq!(
            read(&dir, s, outside.to_str().unwrap(), true),
            Err(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            stat_at(at(&dir, s), "/etc/passwd", false).err(),
            Some(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(
            unlink_file_at(at(&dir, s), outside.to_str().unwrap()),
            Err(E::NotPermitted)
        );
    }
    assert!(outside.exists());
}

#[test]
fn symlinks_out_of_the_sandbox_are_refused() {
    let (root, dir) = sandbox("symlink-out");
    for s in STRATEGIES {
        // An absolute target, as the last component and in the middle.
        assert_eq!(read(&dir, s, "etc", true), Err(E::NotPermitted), "{s:?}");
        assert_eq!(
            read(&dir, s, "etc/passwd", true),
            Err(E::NotPermitted),
            "{s:?}"
        );
        assert_eq!(read(&dir, s, "etc/", false), Err(E::NotPermitted), "{s:?}");
        assert_eq!(
            stat_at(at(&dir, s), "etc/hostname", false).err(),
            Some(E::NotPermitted)
        );
        assert_eq!(
            stat_at(at(&dir, s), "etc", true).err(),
            Some(E::NotPermitted),
            "{s:?}"
        );
        // A relative target that climbs out.
        assert_eq!(read(&dir, s, "escape", true), Err(E::NotPermitted), "{s:?}");
        assert_eq!(read(&dir, s, "a/far", true), Err(E::NotPermitted), "{s:?}");
        // Not following the last link: it is the link itself.
        assert_eq!(read(&dir, s, "etc", false), Err(E::Loop), "{s:?}");
        let st = stat_at(at(&dir, s), "etc", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::SymbolicLink);
        // Writing through the link does not reach outside either.
        let r = open_at(at(&dir, s), "escape", true, libc::O_WRONLY | libc::O_TRUNC);
        assert_eq!(r.err(), Some(E::NotPermitted), "{s:?}");
        // A link to itself.
        assert_eq!(read(&dir, s, "self", true), Err(E::Loop), "{s:?}");
        assert_eq!(read(&dir, s, "self/x", true), Err(E::Loop), "{s:?}");
    }
    assert_eq!(
        std::fs::read(root.0.join("outside.txt")).unwrap(),
        b"outside"
    );
}

/// `stat_at` of one name states it in the base directory without
/// resolving it (`fs::path::base_name`): the names that must still be
/// resolved, or refused, are.
#[test]
fn stat_of_one_name_is_as_resolved() {
    let (_root, dir) = sandbox("stat-one-name");
    for s in STRATEGIES {
        let st = stat_at(at(&dir, s), "b", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
        let st = stat_at(at(&dir, s), "link-b", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::SymbolicLink);
        let st = stat_at(at(&dir, s), "link-b", true).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
        let st = stat_at(at(&dir, s), ".", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
        assert_eq!(stat_at(at(&dir, s), "", false).err(), Some(E::NoEntry));
        assert_eq!(
            stat_at(at(&dir, s), "..", false).err(),
            Some(E::NotPermitted)
        );
        assert_eq!(
            stat_at(at(&dir, s), "a\0b", false).err(),
            Some(Errno(libc::EINVAL))
        );
        assert_eq!(stat_at(at(&dir, s), "none", true).err(), Some(E::NoEntry));
        assert_eq!(stat_at(at(&dir, s), "self", true).err(), Some(E::Loop));
        let long = "x".repeat(300);
        assert_eq!(
            stat_at(at(&dir, s), &long, false).err(),
            Some(Errno(libc::ENAMETOOLONG))
        );
    }
}

#[test]
fn symlinks_inside_the_sandbox_are_followed() {
    let (_root, dir) = sandbox("symlink-in");
    for s in STRATEGIES {
        assert_eq!(
            read(&dir, s, "link-b/file.txt", true).unwrap(),
            b"inside",
            "{s:?}"
        );
        assert_eq!(
            read(&dir, s, "link-b/file.txt", false).unwrap(),
            b"inside",
            "{s:?}"
        );
        assert_eq!(
            read(&dir, s, "a/up/file.txt", false).unwrap(),
            b"inside",
            "{s:?}"
        );
        assert_eq!(
            read(&dir, s, "link-b/../b/file.txt", false).unwrap(),
            b"inside",
            "{s:?}"
        );
        let st = stat_at(at(&dir, s), "a/up", true).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
        let st = stat_at(at(&dir, s), "link-b/", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
    }
    // A link to a file, followed as the last component.
    symlink("b/file.txt", _root.0.join("sandbox/to-file")).unwrap();
    for s in STRATEGIES {
        assert_eq!(read(&dir, s, "to-file", true).unwrap(), b"inside", "{s:?}");
        assert_eq!(readlink_at(at(&dir, s), "to-file").unwrap(), "b/file.txt");
    }
}

#[test]
fn a_last_symbolic_link_is_followed_only_when_asked() {
    let (root, dir) = sandbox("last-link");
    let sb = root.0.join("sandbox");
    symlink("b/file.txt", sb.join("to-file")).unwrap();
    symlink("b/new.txt", sb.join("dangling")).unwrap();
    symlink("../created.txt", sb.join("dangling-out")).unwrap();
    let create = libc::O_WRONLY | libc::O_CREAT;
    for s in STRATEGIES {
        let kind =
            |path, follow| stat_at(at(&dir, s), path, follow).map(|st| descriptor_type(st.st_mode));
        assert_eq!(kind("to-file", true), Ok(FileType::RegularFile));
        assert_eq!(kind("to-file", false), Ok(FileType::SymbolicLink));
        assert_eq!(kind("b/file.txt", true), Ok(FileType::RegularFile));
        assert_eq!(kind("dangling", true), Err(E::NoEntry));
        assert_eq!(kind("escape", true), Err(E::NotPermitted));
        assert_eq!(kind("escape", false), Ok(FileType::SymbolicLink));
        // Creating through a link creates its target, beneath the base
        // only.
        open_at(at(&dir, s), "dangling", true, create).unwrap();
        assert!(sb.join("b/new.txt").is_file(), "{s:?}");
        std::fs::remove_file(sb.join("b/new.txt")).unwrap();
        let r = open_at(at(&dir, s), "dangling-out", true, create);
        assert_eq!(r.err(), Some(E::NotPermitted), "{s:?}");
        let r = open_at(at(&dir, s), "dangling", false, create);
        assert_eq!(r.err(), Some(E::Loop), "{s:?}");
        // Directories through a link: inside, and out of the base.
        let dir_flags = libc::O_RDONLY | libc::O_DIRECTORY;
        open_at(at(&dir, s), "link-b", true, dir_flags).unwrap();
        let r = open_at(at(&dir, s), "etc", true, dir_flags);
        assert_eq!(r.err(), Some(E::NotPermitted), "{s:?}");
        let r = open_at(at(&dir, s), "b/file.txt", true, dir_flags);
        assert_eq!(r.err(), Some(E::NotDirectory), "{s:?}");
    }
    assert!(!root.0.join("created.txt").exists());
    assert!(!sb.join("b/new.txt").exists());
}

#[test]
fn dot_dot_inside_the_sandbox_is_allowed() {
    let (_root, dir) = sandbox("dotdot-in");
    for s in STRATEGIES {
        assert_eq!(
            read(&dir, s, "a/../b/file.txt", true).unwrap(),
            b"inside",
            "{s:?}"
        );
        assert_eq!(
            read(&dir, s, "./a/./../b//file.txt", true).unwrap(),
            b"inside",
            "{s:?}"
        );
        let st = stat_at(at(&dir, s), "a/..", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
        let st = stat_at(at(&dir, s), ".", false).unwrap();
        assert_eq!(descriptor_type(st.st_mode), FileType::Directory, "{s:?}");
    }
}

#[test]
fn mutations_stay_inside() {
    for strategy in STRATEGIES {
        mutations_stay_inside_with(strategy);
    }
}

fn mutations_stay_inside_with(strategy: Strategy) {
    let (root, dir) = sandbox("mutations");
    let sb = root.0.join("sandbox");
    let s = at(&dir, strategy);
    create_directory_at(s, "a/new").unwrap();
    assert!(sb.join("a/new").is_dir());
    assert_eq!(create_directory_at(s, "a/new"), Err(E::Exist));
    let f = open_at(
        s,
        "a/new/f.txt",
        false,
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
    )
    .unwrap();
    f.write_all_at(b"hello", 0).unwrap();
    assert_eq!(
        open_at(
            s,
            "a/new/f.txt",
            false,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL
        )
        .err(),
        Some(E::Exist)
    );
    assert_eq!(remove_directory_at(s, "a/new"), Err(E::NotEmpty));
    assert_eq!(
        rename_at(s, "a/new/f.txt", s, "b/g.txt/"),
        Err(E::NotDirectory)
    );
    rename_at(s, "a/new/f.txt", s, "b/g.txt").unwrap();
    assert_eq!(std::fs::read(sb.join("b/g.txt")).unwrap(), b"hello");
    link_at(s, "b/g.txt", false, s, "a/h.txt").unwrap();
    assert_eq!(stat_at(s, "a/h.txt", false).unwrap().st_nlink, 2);
    assert_eq!(unlink_file_at(s, "a"), Err(E::IsDirectory));
    assert_eq!(unlink_file_at(s, "b/g.txt/"), Err(E::NotDirectory));
    unlink_file_at(s, "b/g.txt").unwrap();
    remove_directory_at(s, "a/new").unwrap();
    // Unlinking a symbolic link removes the link, not its target.
    unlink_file_at(s, "escape").unwrap();
    assert!(root.0.join("outside.txt").exists());
    // Symbolic links: absolute and escaping targets are refused.
    assert_eq!(symlink_at(s, "/etc", "l"), Err(E::NotPermitted));
    assert_eq!(symlink_at(s, "../outside.txt", "l"), Err(E::NotPermitted));
    assert_eq!(
        symlink_at(s, "../../outside.txt", "a/l"),
        Err(E::NotPermitted)
    );
    symlink_at(s, "../b/file.txt", "a/l").unwrap();
    assert_eq!(read(&dir, strategy, "a/l", true).unwrap(), b"inside");
    assert_eq!(readlink_at(s, "a/l").unwrap(), "../b/file.txt");
    assert_eq!(readlink_at(s, "etc"), Err(E::NotPermitted));
    // Creating through a dangling link inside the sandbox.
    symlink_at(s, "b/created.txt", "dangling").unwrap();
    open_at(s, "dangling", true, libc::O_WRONLY | libc::O_CREAT).unwrap();
    assert!(sb.join("b/created.txt").exists());
}

#[test]
fn directory_listing_skips_dot_entries() {
    let (_root, dir) = sandbox("listing");
    let entries = super::dir::read_directory(dir.as_fd()).unwrap();
    let names: Vec<(FileType, String)> = entries
        .entries
        .into_iter()
        .map(|(ty, name)| (ty, String::from_utf8(name).unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            (FileType::Directory, "a".to_string()),
            (FileType::Directory, "b".to_string()),
            (FileType::SymbolicLink, "escape".to_string()),
            (FileType::SymbolicLink, "etc".to_string()),
            (FileType::SymbolicLink, "link-b".to_string()),
            (FileType::SymbolicLink, "self".to_string()),
        ]
    );
    let file = open_at(
        Beneath::new(dir.as_fd()),
        "b/file.txt",
        false,
        libc::O_RDONLY,
    )
    .unwrap();
    assert_eq!(
        super::dir::read_directory(file.as_fd()).err(),
        Some(E::NotDirectory)
    );
}

#[test]
fn open_flags_map_to_open_2() {
    let opened = |o, f| super::opened_flags(OpenFlags(o), Flags(f));
    let (o, follow) = path::open_mode(
        true,
        OpenFlags(OpenFlags::CREATE | OpenFlags::TRUNCATE),
        opened(OpenFlags::CREATE | OpenFlags::TRUNCATE, Flags::READ),
    );
    assert_eq!(o, libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC);
    assert!(follow);
    let (_, follow) = path::open_mode(
        true,
        OpenFlags(OpenFlags::CREATE | OpenFlags::EXCLUSIVE),
        Flags(Flags::WRITE),
    );
    assert!(!follow);
    // What `get-flags` reports (the WASI 0.3 test suite's expectations).
    assert_eq!(opened(0, 0), Flags(Flags::READ));
    assert_eq!(opened(0, Flags::WRITE), Flags(Flags::WRITE));
    assert_eq!(opened(OpenFlags::EXCLUSIVE, 0), Flags(Flags::READ));
    let rw = Flags(Flags::READ | Flags::WRITE);
    assert_eq!(opened(OpenFlags::CREATE | OpenFlags::EXCLUSIVE, 0), rw);
    assert_eq!(
        opened(OpenFlags::CREATE | OpenFlags::EXCLUSIVE, Flags::READ),
        rw
    );
    assert_eq!(
        opened(OpenFlags::CREATE | OpenFlags::EXCLUSIVE, Flags::WRITE),
        Flags(Flags::WRITE)
    );
    assert_eq!(opened(OpenFlags::TRUNCATE, Flags::READ), rw);
    assert_eq!(
        opened(0, Flags::READ | Flags::MUTATE_DIRECTORY),
        Flags(Flags::READ | Flags::MUTATE_DIRECTORY)
    );
}

#[test]
fn symlink_targets_are_checked_against_the_depth() {
    use sandbox::target_stays_beneath as ok;
    assert!(ok(b"a/b", 0));
    assert!(ok(b"a/../b", 0));
    assert!(!ok(b"../b", 0));
    assert!(ok(b"../b", 1));
    assert!(!ok(b"a/../../b", 0));
    assert!(!ok(b"/etc", 5));
}

#[test]
fn a_stat_serves_only_the_next_call_for_the_same_path() {
    let root = TempDir::new("last-stat");
    std::fs::write(root.0.join("a"), "a").unwrap();
    std::fs::write(root.0.join("b"), "bb").unwrap();
    symlink("a", root.0.join("link")).unwrap();
    let mut host = WasiHost {
        table: Default::default(),
        args: Vec::new(),
        env: Vec::new(),
        preopens: Vec::new(),
        calls: 0,
        last_stat: None,
        preview1: None,
        network: Default::default(),
    };
    let dir = File::open(&root.0).unwrap();
    let rep = host
        .table
        .push(crate::table::Object::Descriptor(Descriptor::new(
            dir,
            PREOPEN_FLAGS,
            true,
        )))
        .unwrap();
    // One host call: what each shim's `host()` counts.
    let stat = |host: &mut WasiHost, path: &str, follow: bool| {
        host.calls += 1;
        host.stat_at_again(rep, path.into(), follow)
            .unwrap()
            .unwrap()
    };
    let size = |st: libc::stat| st.st_size;
    assert_eq!(size(stat(&mut host, "a", false)), 1);
    // The file changes; the next call for it still answers from the
    // first (one `fstatat` at the time of the first would have).
    std::fs::write(root.0.join("a"), "aaa").unwrap();
    assert_eq!(
        size(stat(&mut host, "a", true)),
        1,
        "not a link: either follow"
    );
    // Reused once only; another path, or another call between, stats.
    assert_eq!(size(stat(&mut host, "a", false)), 3);
    assert_eq!(size(stat(&mut host, "b", false)), 2);
    std::fs::write(root.0.join("a"), "aaaa").unwrap();
    assert_eq!(size(stat(&mut host, "a", false)), 4, "another path before");
    std::fs::write(root.0.join("a"), "aaaaa").unwrap();
    host.calls += 1;
    assert_eq!(
        size(stat(&mut host, "a", false)),
        5,
        "another host call before"
    );
    // A symbolic link: the link's own `stat` does not answer for its
    // target.
    let link = stat(&mut host, "link", false);
    assert!(super::sys::is_symlink(&link));
    assert_eq!(size(stat(&mut host, "link", true)), 5);
}

#[test]
fn preopens_name_a_missing_directory() {
    let mut host = WasiHost {
        table: Default::default(),
        args: Vec::new(),
        env: Vec::new(),
        preopens: vec![("/nonexistent/smelt-test-dir".into(), "data".into())],
        calls: 0,
        last_stat: None,
        preview1: None,
        network: Default::default(),
    };
    let e = super::open_preopens(&mut host).unwrap_err();
    assert!(e.contains("/nonexistent/smelt-test-dir"), "{e}");
}
