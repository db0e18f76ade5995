/* The C twin of src/bin/stdin_to_stdout.rs, built with clang and wasi-libc:
 * copies stdin to stdout unchanged, then prints `N bytes` on stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    static char buf[4093];
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "stdin_to_stdout: read failed: %s\n", strerror(errno));
            return 1;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                fprintf(stderr, "stdin_to_stdout: write failed: %s\n", strerror(errno));
                return 1;
            }
            off += w;
        }
        total += (unsigned long long)n;
    }
    fprintf(stderr, "%llu bytes\n", total);
    return 0;
}
