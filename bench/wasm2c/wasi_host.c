/*
 * A minimal WASI preview1 host for the C that `wasm2c -n bench` writes, so that
 * bench/run.py can run the wasm32-wasip1 build of each benchmark translated by
 * wasm2c and compiled by clang, beside smelt's executable.
 *
 * Usage: EXE [--dir HOST::GUEST]... [--] [ARG]...
 *
 * The guest's argv is EXE followed by the ARGs; each --dir preopens the host
 * directory HOST under the guest path GUEST (fds 3, 4, ... in order). The guest
 * gets an empty environment, stdin/stdout/stderr as fds 0-2.
 *
 * Implemented (wasi_snapshot_preview1, as witx defines them): args_*,
 * environ_*, clock_res_get, clock_time_get, random_get, fd_read, fd_write,
 * fd_close, fd_seek, fd_tell, fd_fdstat_get, fd_filestat_get, fd_prestat_get,
 * fd_prestat_dir_name, fd_readdir, path_open, path_filestat_get, proc_exit,
 * sched_yield. Every other function returns ENOSYS (52). Host errors map to
 * WASI errno values; a guest pointer range outside linear memory is EFAULT.
 *
 * This is a benchmark host, not a sandbox: paths are resolved with openat()
 * against the preopened directory, absolute paths and ".." components are
 * refused (ENOTCAPABLE), symbolic links are followed as the host follows them.
 *
 * A trap prints "wasm2c trap: REASON" on stderr and exits 134, as smelt's
 * executables do; proc_exit(n) exits n.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "wasm-rt-exceptions.h"
#include "wasm-rt-impl.h"

/* WASI errno values (witx `errno`). */
enum {
  W_SUCCESS = 0,
  W_2BIG = 1,
  W_ACCES = 2,
  W_AGAIN = 6,
  W_BADF = 8,
  W_BUSY = 10,
  W_EXIST = 20,
  W_FAULT = 21,
  W_FBIG = 22,
  W_INTR = 27,
  W_INVAL = 28,
  W_IO = 29,
  W_ISDIR = 31,
  W_LOOP = 32,
  W_MFILE = 33,
  W_NAMETOOLONG = 37,
  W_NOENT = 44,
  W_NOMEM = 48,
  W_NOSPC = 51,
  W_NOSYS = 52,
  W_NOTDIR = 54,
  W_NOTEMPTY = 55,
  W_NOTSUP = 58,
  W_PERM = 63,
  W_PIPE = 64,
  W_ROFS = 69,
  W_SPIPE = 70,
  W_NOTCAPABLE = 76,
};

/* WASI filetype values. */
enum {
  FT_UNKNOWN = 0,
  FT_BLOCK_DEVICE = 1,
  FT_CHARACTER_DEVICE = 2,
  FT_DIRECTORY = 3,
  FT_REGULAR_FILE = 4,
  FT_SOCKET_STREAM = 6,
  FT_SYMBOLIC_LINK = 7,
};

#define MAX_FDS 1024
#define ALL_RIGHTS 0x1fffffffull
#define RIGHT_FD_READ (1ull << 1)
#define RIGHT_FD_WRITE (1ull << 6)

struct fd_entry {
  int host;            /* host fd, -1 when the slot is free */
  const char* preopen; /* the guest path of a preopened directory, or NULL */
};

/* The import object wasm2c's code passes to every WASI function. */
struct w2c_wasi__snapshot__preview1 {
  wasm_rt_memory_t* mem;
  int argc;
  char** argv;
  struct fd_entry fds[MAX_FDS];
};

static u32 errno_to_wasi(int e) {
  switch (e) {
    case E2BIG: return W_2BIG;
    case EACCES: return W_ACCES;
    case EAGAIN: return W_AGAIN;
    case EBADF: return W_BADF;
    case EBUSY: return W_BUSY;
    case EEXIST: return W_EXIST;
    case EFAULT: return W_FAULT;
    case EFBIG: return W_FBIG;
    case EINTR: return W_INTR;
    case EINVAL: return W_INVAL;
    case EISDIR: return W_ISDIR;
    case ELOOP: return W_LOOP;
    case EMFILE: return W_MFILE;
    case ENAMETOOLONG: return W_NAMETOOLONG;
    case ENOENT: return W_NOENT;
    case ENOMEM: return W_NOMEM;
    case ENOSPC: return W_NOSPC;
    case ENOSYS: return W_NOSYS;
    case ENOTDIR: return W_NOTDIR;
    case ENOTEMPTY: return W_NOTEMPTY;
    case EOPNOTSUPP: return W_NOTSUP;
    case EPERM: return W_PERM;
    case EPIPE: return W_PIPE;
    case EROFS: return W_ROFS;
    case ESPIPE: return W_SPIPE;
    default: return W_IO;
  }
}

/* The host address of guest range [ptr, ptr + len), or NULL when it is not
 * inside linear memory. */
static uint8_t* guest(struct w2c_wasi__snapshot__preview1* w, u32 ptr, u64 len) {
  if ((u64)ptr + len > w->mem->size) return NULL;
  return w->mem->data + ptr;
}

static void put_u8(uint8_t* p, uint8_t v) { *p = v; }
static void put_u16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
static void put_u32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }

static u32 store_u32(struct w2c_wasi__snapshot__preview1* w, u32 ptr, uint32_t v) {
  uint8_t* p = guest(w, ptr, 4);
  if (!p) return W_FAULT;
  put_u32(p, v);
  return W_SUCCESS;
}

static u32 store_u64(struct w2c_wasi__snapshot__preview1* w, u32 ptr, uint64_t v) {
  uint8_t* p = guest(w, ptr, 8);
  if (!p) return W_FAULT;
  put_u64(p, v);
  return W_SUCCESS;
}

/* The host fd behind guest fd `fd`, or -1. */
static int host_fd(struct w2c_wasi__snapshot__preview1* w, u32 fd) {
  return fd < MAX_FDS ? w->fds[fd].host : -1;
}

static uint8_t filetype_of(mode_t m) {
  if (S_ISREG(m)) return FT_REGULAR_FILE;
  if (S_ISDIR(m)) return FT_DIRECTORY;
  if (S_ISCHR(m)) return FT_CHARACTER_DEVICE;
  if (S_ISBLK(m)) return FT_BLOCK_DEVICE;
  if (S_ISSOCK(m)) return FT_SOCKET_STREAM;
  if (S_ISLNK(m)) return FT_SYMBOLIC_LINK;
  return FT_UNKNOWN;
}

static uint64_t ns_of(struct timespec t) {
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Writes a witx `filestat` (64 bytes) at guest address `ptr`. */
static u32 store_filestat(struct w2c_wasi__snapshot__preview1* w, u32 ptr, const struct stat* st) {
  uint8_t* p = guest(w, ptr, 64);
  if (!p) return W_FAULT;
  memset(p, 0, 64);
  put_u64(p + 0, st->st_dev);
  put_u64(p + 8, st->st_ino);
  put_u8(p + 16, filetype_of(st->st_mode));
  put_u64(p + 24, st->st_nlink);
  put_u64(p + 32, (uint64_t)st->st_size);
  put_u64(p + 40, ns_of(st->st_atim));
  put_u64(p + 48, ns_of(st->st_mtim));
  put_u64(p + 56, ns_of(st->st_ctim));
  return W_SUCCESS;
}

/* Copies the guest path [ptr, ptr + len) into `out` (NUL-terminated),
 * refusing absolute paths and ".." components. */
static u32 guest_path(struct w2c_wasi__snapshot__preview1* w, u32 ptr, u32 len, char* out,
                      size_t cap) {
  uint8_t* p = guest(w, ptr, len);
  if (!p) return W_FAULT;
  if (len + 1 > cap) return W_NAMETOOLONG;
  memcpy(out, p, len);
  out[len] = 0;
  if (strlen(out) != len) return W_INVAL;
  if (out[0] == '/') return W_NOTCAPABLE;
  for (const char* c = out; *c;) {
    const char* end = strchr(c, '/');
    size_t n = end ? (size_t)(end - c) : strlen(c);
    if (n == 2 && c[0] == '.' && c[1] == '.') return W_NOTCAPABLE;
    c += n;
    while (*c == '/') c++;
  }
  if (len == 0) return W_NOENT;
  return W_SUCCESS;
}

/* --- args and environment ------------------------------------------------ */

static u32 strings_sizes(struct w2c_wasi__snapshot__preview1* w, int n, char** s, u32 count_ptr,
                         u32 size_ptr) {
  uint32_t bytes = 0;
  for (int i = 0; i < n; i++) bytes += (uint32_t)strlen(s[i]) + 1;
  u32 e = store_u32(w, count_ptr, (uint32_t)n);
  return e ? e : store_u32(w, size_ptr, bytes);
}

static u32 strings_get(struct w2c_wasi__snapshot__preview1* w, int n, char** s, u32 ptrs,
                       u32 buf) {
  for (int i = 0; i < n; i++) {
    size_t len = strlen(s[i]) + 1;
    uint8_t* dst = guest(w, buf, len);
    if (!dst || store_u32(w, ptrs + 4 * (u32)i, buf)) return W_FAULT;
    memcpy(dst, s[i], len);
    buf += (u32)len;
  }
  return W_SUCCESS;
}

u32 w2c_wasi__snapshot__preview1_args_sizes_get(struct w2c_wasi__snapshot__preview1* w, u32 count,
                                                u32 size) {
  return strings_sizes(w, w->argc, w->argv, count, size);
}

u32 w2c_wasi__snapshot__preview1_args_get(struct w2c_wasi__snapshot__preview1* w, u32 ptrs,
                                          u32 buf) {
  return strings_get(w, w->argc, w->argv, ptrs, buf);
}

u32 w2c_wasi__snapshot__preview1_environ_sizes_get(struct w2c_wasi__snapshot__preview1* w,
                                                   u32 count, u32 size) {
  return strings_sizes(w, 0, NULL, count, size);
}

u32 w2c_wasi__snapshot__preview1_environ_get(struct w2c_wasi__snapshot__preview1* w, u32 ptrs,
                                             u32 buf) {
  return strings_get(w, 0, NULL, ptrs, buf);
}

/* --- clocks and randomness ----------------------------------------------- */

static int clock_of(u32 id, clockid_t* out) {
  switch (id) {
    case 0: *out = CLOCK_REALTIME; return 1;
    case 1: *out = CLOCK_MONOTONIC; return 1;
    case 2: *out = CLOCK_PROCESS_CPUTIME_ID; return 1;
    case 3: *out = CLOCK_THREAD_CPUTIME_ID; return 1;
    default: return 0;
  }
}

u32 w2c_wasi__snapshot__preview1_clock_res_get(struct w2c_wasi__snapshot__preview1* w, u32 id,
                                               u32 ptr) {
  clockid_t c;
  struct timespec t;
  if (!clock_of(id, &c)) return W_INVAL;
  if (clock_getres(c, &t) != 0) return errno_to_wasi(errno);
  return store_u64(w, ptr, ns_of(t));
}

u32 w2c_wasi__snapshot__preview1_clock_time_get(struct w2c_wasi__snapshot__preview1* w, u32 id,
                                                u64 precision, u32 ptr) {
  (void)precision;
  clockid_t c;
  struct timespec t;
  if (!clock_of(id, &c)) return W_INVAL;
  if (clock_gettime(c, &t) != 0) return errno_to_wasi(errno);
  return store_u64(w, ptr, ns_of(t));
}

u32 w2c_wasi__snapshot__preview1_random_get(struct w2c_wasi__snapshot__preview1* w, u32 buf,
                                            u32 len) {
  uint8_t* p = guest(w, buf, len);
  if (!p) return W_FAULT;
  for (u32 done = 0; done < len;) {
    ssize_t n = getrandom(p + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_to_wasi(errno);
    }
    done += (u32)n;
  }
  return W_SUCCESS;
}

/* --- file descriptors ---------------------------------------------------- */

/* Turns a guest iovec array (witx `iovec`: u32 buf, u32 len) into host
 * iovecs; at most IOV_MAX_GUEST of them. */
#define IOV_MAX_GUEST 64
static u32 host_iovs(struct w2c_wasi__snapshot__preview1* w, u32 iovs, u32 n, struct iovec* out) {
  if (n > IOV_MAX_GUEST) return W_INVAL;
  uint8_t* p = guest(w, iovs, (u64)n * 8);
  if (!p) return W_FAULT;
  for (u32 i = 0; i < n; i++) {
    uint32_t buf, len;
    memcpy(&buf, p + 8 * i, 4);
    memcpy(&len, p + 8 * i + 4, 4);
    uint8_t* b = guest(w, buf, len);
    if (!b) return W_FAULT;
    out[i].iov_base = b;
    out[i].iov_len = len;
  }
  return W_SUCCESS;
}

u32 w2c_wasi__snapshot__preview1_fd_write(struct w2c_wasi__snapshot__preview1* w, u32 fd, u32 iovs,
                                          u32 n, u32 written) {
  struct iovec v[IOV_MAX_GUEST];
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  u32 e = host_iovs(w, iovs, n, v);
  if (e) return e;
  ssize_t r = writev(h, v, (int)n);
  if (r < 0) return errno_to_wasi(errno);
  return store_u32(w, written, (uint32_t)r);
}

u32 w2c_wasi__snapshot__preview1_fd_read(struct w2c_wasi__snapshot__preview1* w, u32 fd, u32 iovs,
                                         u32 n, u32 nread) {
  struct iovec v[IOV_MAX_GUEST];
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  u32 e = host_iovs(w, iovs, n, v);
  if (e) return e;
  ssize_t r = readv(h, v, (int)n);
  if (r < 0) return errno_to_wasi(errno);
  return store_u32(w, nread, (uint32_t)r);
}

u32 w2c_wasi__snapshot__preview1_fd_close(struct w2c_wasi__snapshot__preview1* w, u32 fd) {
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  w->fds[fd].host = -1;
  w->fds[fd].preopen = NULL;
  return close(h) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 w2c_wasi__snapshot__preview1_fd_seek(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                         u64 offset, u32 whence, u32 newoffset) {
  static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  if (whence > 2) return W_INVAL;
  off_t r = lseek(h, (off_t)offset, whences[whence]);
  if (r < 0) return errno_to_wasi(errno);
  return store_u64(w, newoffset, (uint64_t)r);
}

u32 w2c_wasi__snapshot__preview1_fd_tell(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                         u32 offset) {
  return w2c_wasi__snapshot__preview1_fd_seek(w, fd, 0, 1, offset);
}

u32 w2c_wasi__snapshot__preview1_fd_fdstat_get(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                               u32 ptr) {
  struct stat st;
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  if (fstat(h, &st) != 0) return errno_to_wasi(errno);
  int fl = fcntl(h, F_GETFL);
  uint8_t* p = guest(w, ptr, 24);
  if (!p) return W_FAULT;
  memset(p, 0, 24);
  put_u8(p, filetype_of(st.st_mode));
  put_u16(p + 2, (fl >= 0 && (fl & O_APPEND)) ? 1 : 0);
  put_u64(p + 8, ALL_RIGHTS);
  put_u64(p + 16, ALL_RIGHTS);
  return W_SUCCESS;
}

u32 w2c_wasi__snapshot__preview1_fd_filestat_get(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                                 u32 ptr) {
  struct stat st;
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  if (fstat(h, &st) != 0) return errno_to_wasi(errno);
  return store_filestat(w, ptr, &st);
}

u32 w2c_wasi__snapshot__preview1_fd_prestat_get(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                                u32 ptr) {
  if (host_fd(w, fd) < 0 || !w->fds[fd].preopen) return W_BADF;
  uint8_t* p = guest(w, ptr, 8);
  if (!p) return W_FAULT;
  memset(p, 0, 8);
  put_u32(p + 4, (uint32_t)strlen(w->fds[fd].preopen));
  return W_SUCCESS;
}

u32 w2c_wasi__snapshot__preview1_fd_prestat_dir_name(struct w2c_wasi__snapshot__preview1* w,
                                                     u32 fd, u32 path, u32 len) {
  if (host_fd(w, fd) < 0 || !w->fds[fd].preopen) return W_BADF;
  size_t n = strlen(w->fds[fd].preopen);
  if (len < n) return W_NAMETOOLONG;
  uint8_t* p = guest(w, path, n);
  if (!p) return W_FAULT;
  memcpy(p, w->fds[fd].preopen, n);
  return W_SUCCESS;
}

/* Fills the guest buffer with witx `dirent`s (24-byte header, then the
 * name) from entry number `cookie` on; the last one may be cut short, as
 * the spec allows (the caller reads again with a bigger buffer). */
u32 w2c_wasi__snapshot__preview1_fd_readdir(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                            u32 buf, u32 len, u64 cookie, u32 used) {
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  uint8_t* out = guest(w, buf, len);
  if (!out) return W_FAULT;
  int d = dup(h);
  if (d < 0) return errno_to_wasi(errno);
  DIR* dir = fdopendir(d);
  if (!dir) {
    close(d);
    return errno_to_wasi(errno);
  }
  rewinddir(dir);
  u64 index = 0;
  u32 filled = 0;
  struct dirent* e;
  while (filled < len && (e = readdir(dir)) != NULL) {
    if (index++ < cookie) continue;
    uint8_t head[24] = {0};
    uint32_t namlen = (uint32_t)strlen(e->d_name);
    uint8_t type = FT_UNKNOWN;
    switch (e->d_type) {
      case DT_REG: type = FT_REGULAR_FILE; break;
      case DT_DIR: type = FT_DIRECTORY; break;
      case DT_CHR: type = FT_CHARACTER_DEVICE; break;
      case DT_BLK: type = FT_BLOCK_DEVICE; break;
      case DT_SOCK: type = FT_SOCKET_STREAM; break;
      case DT_LNK: type = FT_SYMBOLIC_LINK; break;
    }
    put_u64(head, index);
    put_u64(head + 8, e->d_ino);
    put_u32(head + 16, namlen);
    put_u8(head + 20, type);
    u32 n = len - filled < 24 ? len - filled : 24;
    memcpy(out + filled, head, n);
    filled += n;
    n = len - filled < namlen ? len - filled : namlen;
    memcpy(out + filled, e->d_name, n);
    filled += n;
  }
  closedir(dir);
  return store_u32(w, used, filled);
}

u32 w2c_wasi__snapshot__preview1_path_filestat_get(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                                   u32 flags, u32 path, u32 len, u32 ptr) {
  char p[4096];
  struct stat st;
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  u32 e = guest_path(w, path, len, p, sizeof p);
  if (e) return e;
  if (fstatat(h, p, &st, (flags & 1) ? 0 : AT_SYMLINK_NOFOLLOW) != 0) return errno_to_wasi(errno);
  return store_filestat(w, ptr, &st);
}

u32 w2c_wasi__snapshot__preview1_path_open(struct w2c_wasi__snapshot__preview1* w, u32 fd,
                                           u32 dirflags, u32 path, u32 len, u32 oflags,
                                           u64 rights, u64 inheriting, u32 fdflags, u32 out) {
  (void)inheriting;
  char p[4096];
  int h = host_fd(w, fd);
  if (h < 0) return W_BADF;
  u32 e = guest_path(w, path, len, p, sizeof p);
  if (e) return e;
  int flags = O_CLOEXEC;
  if (oflags & 2) {
    flags |= O_DIRECTORY | O_RDONLY;
  } else if ((rights & RIGHT_FD_READ) && (rights & RIGHT_FD_WRITE)) {
    flags |= O_RDWR;
  } else if (rights & RIGHT_FD_WRITE) {
    flags |= O_WRONLY;
  } else {
    flags |= O_RDONLY;
  }
  if (oflags & 1) flags |= O_CREAT;
  if (oflags & 4) flags |= O_EXCL;
  if (oflags & 8) flags |= O_TRUNC;
  if (fdflags & 1) flags |= O_APPEND;
  if (fdflags & 4) flags |= O_NONBLOCK;
  if (!(dirflags & 1)) flags |= O_NOFOLLOW;
  u32 slot = 3;
  while (slot < MAX_FDS && w->fds[slot].host >= 0) slot++;
  if (slot == MAX_FDS) return W_MFILE;
  int nh = openat(h, p, flags, 0666);
  if (nh < 0) return errno_to_wasi(errno);
  e = store_u32(w, out, slot);
  if (e) {
    close(nh);
    return e;
  }
  w->fds[slot].host = nh;
  w->fds[slot].preopen = NULL;
  return W_SUCCESS;
}

/* --- the process ----------------------------------------------------------- */

void w2c_wasi__snapshot__preview1_proc_exit(struct w2c_wasi__snapshot__preview1* w, u32 code) {
  (void)w;
  /* Nothing is buffered on the host side: fd_write writes straight through. */
  _exit((int)code);
}

u32 w2c_wasi__snapshot__preview1_sched_yield(struct w2c_wasi__snapshot__preview1* w) {
  (void)w;
  return W_SUCCESS;
}

/* --- everything else: ENOSYS ---------------------------------------------- */

#define NOSYS(name, ...)                                                                    \
  u32 w2c_wasi__snapshot__preview1_##name(struct w2c_wasi__snapshot__preview1* w,           \
                                          __VA_ARGS__) {                                    \
    (void)w;                                                                                \
    return W_NOSYS;                                                                         \
  }

NOSYS(fd_advise, u32 a, u64 b, u64 c, u32 d)
NOSYS(fd_allocate, u32 a, u64 b, u64 c)
NOSYS(fd_datasync, u32 a)
NOSYS(fd_fdstat_set_flags, u32 a, u32 b)
NOSYS(fd_fdstat_set_rights, u32 a, u64 b, u64 c)
NOSYS(fd_filestat_set_size, u32 a, u64 b)
NOSYS(fd_filestat_set_times, u32 a, u64 b, u64 c, u32 d)
NOSYS(fd_pread, u32 a, u32 b, u32 c, u64 d, u32 e)
NOSYS(fd_pwrite, u32 a, u32 b, u32 c, u64 d, u32 e)
NOSYS(fd_renumber, u32 a, u32 b)
NOSYS(fd_sync, u32 a)
NOSYS(path_create_directory, u32 a, u32 b, u32 c)
NOSYS(path_filestat_set_times, u32 a, u32 b, u32 c, u32 d, u64 e, u64 f, u32 g)
NOSYS(path_link, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f, u32 g)
NOSYS(path_readlink, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f)
NOSYS(path_remove_directory, u32 a, u32 b, u32 c)
NOSYS(path_rename, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f)
NOSYS(path_symlink, u32 a, u32 b, u32 c, u32 d, u32 e)
NOSYS(path_unlink_file, u32 a, u32 b, u32 c)
NOSYS(poll_oneoff, u32 a, u32 b, u32 c, u32 d)
NOSYS(proc_raise, u32 a)
NOSYS(sock_accept, u32 a, u32 b, u32 c)
NOSYS(sock_recv, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f)
NOSYS(sock_send, u32 a, u32 b, u32 c, u32 d, u32 e)
NOSYS(sock_shutdown, u32 a, u32 b)

/* --- main ----------------------------------------------------------------- */

static int usage(const char* exe) {
  fprintf(stderr, "usage: %s [--dir HOST::GUEST]... [--] [ARG]...\n", exe);
  return 2;
}

int main(int argc, char** argv) {
  static struct w2c_wasi__snapshot__preview1 wasi;
  static w2c_bench instance;
  for (int i = 0; i < MAX_FDS; i++) wasi.fds[i].host = i < 3 ? i : -1;
  int next = 3;
  int i = 1;
  while (i < argc) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(argv[i], "--dir") != 0) break;
    if (i + 1 >= argc) return usage(argv[0]);
    char* spec = argv[i + 1];
    char* sep = strstr(spec, "::");
    if (!sep || next >= MAX_FDS) return usage(argv[0]);
    *sep = 0;
    int h = open(spec, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h < 0) {
      fprintf(stderr, "%s: --dir %s: %s\n", argv[0], spec, strerror(errno));
      return 2;
    }
    wasi.fds[next].host = h;
    wasi.fds[next].preopen = sep + 2;
    next++;
    i += 2;
  }
  /* The guest's argv: this executable's name, then what follows the options. */
  argv[i - 1] = argv[0];
  wasi.argc = argc - i + 1;
  wasi.argv = argv + i - 1;

  wasm_rt_init();
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) {
    fprintf(stderr, "wasm2c trap: %s\n", wasm_rt_strerror(trap));
    return 134;
  }
  wasm2c_bench_instantiate(&instance, &wasi);
  wasi.mem = w2c_bench_memory(&instance);
  w2c_bench_0x5Fstart(&instance);
  wasm2c_bench_free(&instance);
  wasm_rt_free();
  return 0;
}
