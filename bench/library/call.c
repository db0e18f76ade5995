/* What a call from C into a component library costs (bench/library_call.py):
 * `text.concat(a, b) -> string` of tests/library's component, through the
 * header smelt writes, against the same concatenation as a plain C function
 * (malloc, two memcpy), each called N times in a loop, the result freed each
 * time. Prints one line per version: its name and the nanoseconds per call.
 *
 *   usage: call N */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shapes.h"

/* The reference: what the export does, as C. */
static __attribute__((noinline)) shapes_string_t concat_c(shapes_string_t a, shapes_string_t b) {
    shapes_string_t out;
    out.len = a.len + b.len;
    out.ptr = malloc(out.len + 1);
    memcpy(out.ptr, a.ptr, a.len);
    memcpy(out.ptr + a.len, b.ptr, b.len);
    out.ptr[out.len] = 0;
    return out;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    shapes_string_t a = {(uint8_t *)"hello, ", 7}, b = {(uint8_t *)"world", 5};
    char *error = NULL;
    shapes_t *instance = shapes_new(NULL, &error);
    if (instance == NULL) {
        fprintf(stderr, "shapes_new: %s\n", error);
        return 1;
    }
    /* Both versions must give the same string. */
    shapes_string_t x, y = concat_c(a, b);
    if (!shapes_text_concat(instance, a, b, &x, &error) || x.len != y.len
        || memcmp(x.ptr, y.ptr, x.len) != 0) {
        fprintf(stderr, "the component's concat differs from C's (%s)\n", error ? error : "");
        return 1;
    }
    shapes_string_free(&x);
    shapes_string_free(&y);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (!shapes_text_concat(instance, a, b, &x, &error)) {
            fprintf(stderr, "call %ld: %s\n", i, error);
            return 1;
        }
        shapes_string_free(&x);
    }
    double t1 = now_ns();
    for (long i = 0; i < n; i++) {
        y = concat_c(a, b);
        shapes_string_free(&y);
    }
    double t2 = now_ns();
    printf("smelt %.1f\n", (t1 - t0) / n);
    printf("c %.1f\n", (t2 - t1) / n);
    shapes_free(instance);
    return 0;
}
