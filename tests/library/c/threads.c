/* An instance belongs to the thread that created it (tests/tests/library.rs):
 * a call from another thread is refused with an error, the creating thread
 * can still call it, and another thread can create and use an instance of
 * its own at the same time. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "shapes.h"

static shapes_t *first;

static void *other(void *unused) {
    (void)unused;
    char *error = NULL;
    shapes_string_t s;
    if (shapes_text_echo(first, shapes_string_from_cstr("x"), &s, &error)) {
        printf("other thread, first instance: called\n");
        shapes_string_free(&s);
    } else {
        printf("other thread, first instance: %s\n",
               error != NULL && strstr(error, "another thread") != NULL ? "refused" : error);
        free(error);
    }
    shapes_t *own = shapes_new(NULL, &error);
    if (own == NULL) {
        printf("other thread: shapes_new failed: %s\n", error);
        free(error);
        return NULL;
    }
    error = NULL;
    if (shapes_text_echo(own, shapes_string_from_cstr("z"), &s, &error)) {
        printf("other thread, own instance: %s\n", (char *)s.ptr);
        shapes_string_free(&s);
    } else {
        printf("other thread, own instance: %s\n", error);
        free(error);
    }
    shapes_free(own);
    return NULL;
}

int main(void) {
    char *error = NULL;
    first = shapes_new(NULL, &error);
    if (first == NULL) {
        printf("shapes_new failed: %s\n", error);
        return 1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, other, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        printf("pthread failed\n");
        return 1;
    }
    shapes_string_t s;
    if (!shapes_text_echo(first, shapes_string_from_cstr("y"), &s, &error)) {
        printf("main thread: %s\n", error);
        free(error);
        return 1;
    }
    printf("main thread, first instance: %s\n", (char *)s.ptr);
    shapes_string_free(&s);
    shapes_free(first);
    return 0;
}
