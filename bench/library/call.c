/* What a call from C into a component library costs (bench/library_call.py):
 * `text.echo(s) -> string` of tests/library's component, which returns its
 * argument, through the header smelt writes (the string copied in, copied
 * out into malloc'd memory), against the same as a plain C function
 * (malloc, memcpy), each called N times in a loop, the result freed each
 * time. Prints one line per version: its name and the nanoseconds per call.
 *
 *   usage: call N */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shapes.h"

/* The reference: what a call does, as C (a copy the caller owns). */
static __attribute__((noinline)) shapes_string_t echo_c(shapes_string_t s) {
    shapes_string_t out;
    out.len = s.len;
    out.ptr = malloc(out.len + 1);
    memcpy(out.ptr, s.ptr, s.len);
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
    shapes_string_t a = {(uint8_t *)"hello, world", 12};
    char *error = NULL;
    shapes_t *instance = shapes_new(NULL, &error);
    if (instance == NULL) {
        fprintf(stderr, "shapes_new: %s\n", error);
        return 1;
    }
    /* Both versions must give the same string. */
    shapes_string_t x, y = echo_c(a);
    if (!shapes_text_echo(instance, a, &x, &error) || x.len != y.len
        || memcmp(x.ptr, y.ptr, x.len) != 0) {
        fprintf(stderr, "the component's echo differs from C's (%s)\n", error ? error : "");
        return 1;
    }
    shapes_string_free(&x);
    shapes_string_free(&y);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (!shapes_text_echo(instance, a, &x, &error)) {
            fprintf(stderr, "call %ld: %s\n", i, error);
            return 1;
        }
        shapes_string_free(&x);
    }
    double t1 = now_ns();
    for (long i = 0; i < n; i++) {
        y = echo_c(a);
        shapes_string_free(&y);
    }
    double t2 = now_ns();
    printf("smelt %.1f\n", (t1 - t0) / n);
    printf("c %.1f\n", (t2 - t1) / n);
    shapes_free(instance);
    return 0;
}
