/* WASI preview1 itself, through wasi-libc's raw `__wasi_*` calls (no libc
 * layer between the program and the host): each subcommand exercises one
 * area and prints what the host answered, errno values by their witx
 * number, so that the expected output is the witx's.
 *
 *   exit N          proc_exit(N)
 *   args            every argument, escaped (\n, \", \\, \xNN for bytes
 *                   outside printable ASCII), from args_get
 *   environ         every variable likewise, from environ_get
 *   bad-fds         writes to a never-opened and to a closed descriptor
 *   path-open       path_open's errno for each way it can fail (needs the
 *                   preopen at fd 3 laid out by the test); with
 *                   `valid-flags`, not with flags outside their type
 *   readdir         fd_readdir with a buffer too small for one entry, then
 *                   resuming at each cookie
 *   fdstat          fd_fdstat_get of the streams, the preopen and a file
 *   poll            poll_oneoff on a clock and on stdin */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static void escaped(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            fputs("\\n", stdout);
        } else if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20 || *p >= 0x7f) {
            printf("\\x%02x", *p);
        } else {
            putchar(*p);
        }
    }
    puts("\"");
}

static int print_strings(int env) {
    __wasi_size_t count, size;
    __wasi_errno_t e = env ? __wasi_environ_sizes_get(&count, &size)
                           : __wasi_args_sizes_get(&count, &size);
    if (e) {
        printf("sizes_get: errno %d\n", e);
        return 1;
    }
    uint8_t **ptrs = calloc(count + 1, sizeof(uint8_t *));
    uint8_t *buf = malloc(size + 1);
    e = env ? __wasi_environ_get(ptrs, buf) : __wasi_args_get(ptrs, buf);
    if (e) {
        printf("get: errno %d\n", e);
        return 1;
    }
    /* arg[0] is the program name, which the test does not choose: it is
     * left out. */
    if (!env && count > 0) {
        size -= strlen((const char *)ptrs[0]) + 1;
        count -= 1;
        ptrs += 1;
    }
    printf("%u strings, %u bytes\n", (unsigned)count, (unsigned)size);
    for (__wasi_size_t i = 0; i < count; i++) {
        escaped((const char *)ptrs[i]);
    }
    return 0;
}

static __wasi_errno_t write_str(__wasi_fd_t fd, const char *s) {
    __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
    __wasi_size_t n;
    return __wasi_fd_write(fd, &iov, 1, &n);
}

static int bad_fds(void) {
    printf("write to never-opened 77: errno %d\n", write_str(77, "x"));
    printf("close never-opened 77: errno %d\n", __wasi_fd_close(77));
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(3, 0, "w.txt", __WASI_OFLAGS_CREAT,
                                        __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
    printf("open w.txt: errno %d\n", e);
    printf("write to w.txt: errno %d\n", write_str(fd, "data"));
    printf("close w.txt: errno %d\n", __wasi_fd_close(fd));
    printf("write to closed w.txt: errno %d\n", write_str(fd, "x"));
    printf("close closed w.txt: errno %d\n", __wasi_fd_close(fd));
    fflush(stdout);
    /* Standard error closed: writing to it is badf (the report goes to
     * stdout). */
    __wasi_errno_t closed = __wasi_fd_close(2);
    printf("close stderr: errno %d\n", closed);
    printf("write to closed stderr: errno %d\n", write_str(2, "x"));
    return 0;
}

/* path_open itself, to pass paths with NULs or invalid UTF-8 and any
 * length (wasi-libc's wrapper takes a C string). */
int32_t raw_path_open(int32_t fd, int32_t lookup, int32_t path, int32_t len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t out)
    __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("path_open")));

static void open_case(const char *what, __wasi_fd_t dir, __wasi_lookupflags_t lookup,
                      const char *path, size_t len, __wasi_oflags_t oflags,
                      __wasi_rights_t rights, __wasi_fdflags_t fdflags) {
    __wasi_fd_t fd = 0;
    int32_t e = raw_path_open(
        (int32_t)dir, (int32_t)lookup, (int32_t)path, (int32_t)len, (int32_t)oflags,
        (int64_t)rights, 0, (int32_t)fdflags, (int32_t)&fd);
    printf("%s: errno %d\n", what, e);
    if (e == 0) {
        (void)__wasi_fd_close(fd);
    }
}

#define OPEN(what, dir, lookup, path, oflags, rights) \
    open_case(what, dir, lookup, path, strlen(path), oflags, rights, 0)

static int path_open_errors(int valid_flags_only) {
    const __wasi_rights_t R = __WASI_RIGHTS_FD_READ, W = __WASI_RIGHTS_FD_WRITE;
    OPEN("existing file", 3, 0, "file.txt", 0, R);
    OPEN("missing file", 3, 0, "missing.txt", 0, R);
    OPEN("missing directory on the way", 3, 0, "missing/file.txt", 0, R);
    OPEN("empty path", 3, 0, "", 0, R);
    OPEN("create exclusive over a file", 3, 0, "file.txt",
         __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, W);
    OPEN("directory flag on a file", 3, 0, "file.txt", __WASI_OFLAGS_DIRECTORY, R);
    OPEN("a file as a directory on the way", 3, 0, "file.txt/x", 0, R);
    OPEN("trailing slash on a file", 3, 0, "file.txt/", 0, R);
    OPEN("write a directory", 3, 0, "dir", 0, W);
    OPEN("read a directory", 3, 0, "dir", __WASI_OFLAGS_DIRECTORY, R);
    OPEN("symbolic link, not followed", 3, 0, "link", 0, R);
    OPEN("symbolic link, followed", 3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link", 0, R);
    OPEN("symbolic link loop, followed", 3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "loop", 0, R);
    OPEN("dot-dot out of the preopen", 3, 0, "../outside.txt", 0, R);
    OPEN("dot-dot back in", 3, 0, "dir/../file.txt", 0, R);
    OPEN("absolute path", 3, 0, "/etc/passwd", 0, R);
    OPEN("symbolic link out of the preopen, followed", 3,
         __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "out", 0, R);
    OPEN("never-opened directory descriptor", 77, 0, "file.txt", 0, R);
    OPEN("standard input as the directory", 0, 0, "file.txt", 0, R);
    /* (Wasmtime traps on these; `path-open valid-flags` leaves them out.) */
    if (!valid_flags_only) {
        OPEN("unknown open flag", 3, 0, "file.txt", 1 << 4, R);
        OPEN("unknown lookup flag", 3, 1 << 5, "file.txt", 0, R);
    }
    open_case("path with a NUL", 3, 0, "file.txt\0x", 10, 0, R, 0);
    open_case("path not UTF-8", 3, 0, "\xff\xfe", 2, 0, R, 0);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    OPEN("name too long", 3, 0, long_name, 0, R);
    OPEN("create", 3, 0, "new.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, W);
    OPEN("truncate", 3, 0, "new.txt", __WASI_OFLAGS_TRUNC, W);
    /* A file descriptor as the directory of a path. */
    __wasi_fd_t file;
    if (__wasi_path_open(3, 0, "file.txt", 0, R, 0, 0, &file) == 0) {
        OPEN("a file descriptor as the directory", file, 0, "x", 0, R);
        (void)__wasi_fd_close(file);
    }
    return 0;
}

static int readdir_cookies(void) {
    /* Every entry, read with a buffer too small for all: each call from the
     * cookie of the last whole entry. */
    uint8_t buf[64];
    __wasi_dircookie_t cookie = __WASI_DIRCOOKIE_START;
    __wasi_dircookie_t second = 0;
    int names = 0;
    char seen[16][64];
    for (;;) {
        __wasi_size_t used;
        __wasi_errno_t e = __wasi_fd_readdir(3, buf, sizeof buf, cookie, &used);
        if (e) {
            printf("fd_readdir: errno %d\n", e);
            return 1;
        }
        size_t at = 0;
        int whole = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + at, sizeof d);
            if (at + sizeof d + d.d_namlen > used) {
                break;
            }
            if (names < 16 && d.d_namlen < 64) {
                memcpy(seen[names], buf + at + sizeof d, d.d_namlen);
                seen[names][d.d_namlen] = 0;
                if (names == 0) {
                    second = d.d_next;
                }
                names++;
            }
            whole++;
            cookie = d.d_next;
            at += sizeof d + d.d_namlen;
        }
        if (used < sizeof buf) {
            break;
        }
        if (whole == 0) {
            printf("fd_readdir: an entry larger than the buffer\n");
            return 1;
        }
    }
    /* Sorted, so that the output does not depend on the file system. */
    qsort(seen, names, sizeof seen[0], (int (*)(const void *, const void *))strcmp);
    printf("%d entries:", names);
    for (int i = 0; i < names; i++) {
        printf(" %s", seen[i]);
    }
    printf("\n");
    /* Resuming at the second entry's cookie gives one entry fewer. */
    int again = 0;
    cookie = second;
    for (;;) {
        __wasi_size_t used;
        if (__wasi_fd_readdir(3, buf, sizeof buf, cookie, &used)) {
            return 1;
        }
        size_t at = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + at, sizeof d);
            if (at + sizeof d + d.d_namlen > used) {
                break;
            }
            again++;
            cookie = d.d_next;
            at += sizeof d + d.d_namlen;
        }
        if (used < sizeof buf) {
            break;
        }
    }
    printf("from the second cookie: %d entries\n", again);
    return 0;
}

static void fdstat(const char *what, __wasi_fd_t fd) {
    __wasi_fdstat_t st;
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
    if (e) {
        printf("%s: errno %d\n", what, e);
        return;
    }
    printf("%s: type %d flags %d read %d write %d readdir %d\n", what, st.fs_filetype,
           st.fs_flags, !!(st.fs_rights_base & __WASI_RIGHTS_FD_READ),
           !!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE),
           !!(st.fs_rights_base & __WASI_RIGHTS_FD_READDIR));
}

static int fdstats(void) {
    fdstat("preopen", 3);
    __wasi_fd_t fd;
    if (__wasi_path_open(3, 0, "file.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd) == 0) {
        fdstat("file for reading", fd);
        (void)__wasi_fd_close(fd);
    }
    if (__wasi_path_open(3, 0, "file.txt", 0, __WASI_RIGHTS_FD_WRITE, 0,
                         __WASI_FDFLAGS_APPEND, &fd) == 0) {
        fdstat("file for appending", fd);
        printf("drop every right: errno %d\n", __wasi_fd_fdstat_set_rights(fd, 0, 0));
        printf("add a right back: errno %d\n",
               __wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_WRITE, 0));
        (void)__wasi_fd_close(fd);
    }
    fdstat("never opened", 77);
    __wasi_prestat_t pre;
    printf("prestat of the preopen: errno %d, name length %u\n", __wasi_fd_prestat_get(3, &pre),
           (unsigned)pre.u.dir.pr_name_len);
    printf("prestat of stdin: errno %d\n", __wasi_fd_prestat_get(0, &pre));
    return 0;
}

static int poll_clock_and_stdin(void) {
    __wasi_subscription_t subs[2] = {0};
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 60ull * 1000 * 1000 * 1000;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[1].u.u.fd_read.file_descriptor = 0;
    __wasi_event_t events[2];
    __wasi_size_t n;
    __wasi_errno_t e = __wasi_poll_oneoff(subs, events, 2, &n);
    printf("poll: errno %d, %u event(s)\n", e, (unsigned)n);
    for (__wasi_size_t i = 0; i < n; i++) {
        printf("event: userdata %llu, error %d, type %d\n", (unsigned long long)events[i].userdata,
               events[i].error, events[i].type);
    }
    /* A clock alone: 10 ms. */
    subs[0].u.u.clock.timeout = 10 * 1000 * 1000;
    e = __wasi_poll_oneoff(subs, events, 1, &n);
    printf("clock: errno %d, %u event(s), userdata %llu\n", e, (unsigned)n,
           (unsigned long long)events[0].userdata);
    /* No subscription at all. */
    printf("nothing: errno %d\n", __wasi_poll_oneoff(subs, events, 0, &n));
    /* A descriptor that is not open: its event carries badf. */
    subs[1].u.u.fd_read.file_descriptor = 77;
    e = __wasi_poll_oneoff(&subs[1], events, 1, &n);
    printf("never opened: errno %d, %u event(s), error %d\n", e, (unsigned)n, events[0].error);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: preview1 SUBCOMMAND\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "exit") && argc > 2) {
        __wasi_proc_exit((__wasi_exitcode_t)atoi(argv[2]));
    }
    if (!strcmp(cmd, "args")) return print_strings(0);
    if (!strcmp(cmd, "environ")) return print_strings(1);
    if (!strcmp(cmd, "bad-fds")) return bad_fds();
    if (!strcmp(cmd, "path-open")) {
        return path_open_errors(argc > 2 && !strcmp(argv[2], "valid-flags"));
    }
    if (!strcmp(cmd, "readdir")) return readdir_cookies();
    if (!strcmp(cmd, "fdstat")) return fdstats();
    if (!strcmp(cmd, "poll")) return poll_clock_and_stdin();
    fprintf(stderr, "preview1: unknown subcommand %s\n", cmd);
    return 2;
}
