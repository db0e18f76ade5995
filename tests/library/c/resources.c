/* smelt's library resources test (tests/tests/library.rs): uses the
 * resource `counter` of tests/library/resources through the generated
 * header: its constructor, methods and static function, handles in a
 * record, a list of borrows and a result, moving an owned handle into a
 * call, dropping handles (the component's destructor runs), the errors of
 * a bad handle, and a trap with a handle lent. Prints one line per check;
 * exits 1 on the first that fails. */
#include "res.h"

#include <stdio.h>
#include <string.h>

static void check(bool ok, const char *what) {
    if (!ok) {
        printf("FAIL: %s\n", what);
        exit(1);
    }
    printf("ok: %s\n", what);
}

/* Checks that a call failed with an error containing `needle`, prints the
 * error and frees it. */
static void check_error(bool ok, char **error, const char *needle, const char *what) {
    if (!ok && *error != NULL) {
        printf("error: %s\n", strtok(*error, "\n"));
    }
    check(!ok && *error != NULL && strstr(*error, needle) != NULL, what);
    free(*error);
    *error = NULL;
}

static bool string_is(res_string_t s, const char *expected) {
    return s.len == strlen(expected) && memcmp(s.ptr, expected, s.len) == 0;
}

/* Calls `call`, which must succeed. */
#define MUST(call)                                         \
    do {                                                   \
        char *error = NULL;                                \
        if (!(call)) {                                     \
            printf("FAIL: %s: %s\n", #call, error);        \
            free(error);                                   \
            exit(1);                                       \
        }                                                  \
    } while (0)

static uint32_t value(res_t *lib, res_counters_counter_t c) {
    uint32_t v = 0;
    MUST(res_counters_counter_get(lib, c, &v, &error));
    return v;
}

static uint32_t live(res_t *lib) {
    uint32_t n = 0;
    MUST(res_counters_counter_live(lib, &n, &error));
    return n;
}

static uint32_t dropped(res_t *lib) {
    uint32_t n = 0;
    MUST(res_counters_dropped(lib, &n, &error));
    return n;
}

int main(void) {
    char *error = NULL;
    res_t *lib = res_new(NULL, &error);
    if (lib == NULL) {
        printf("FAIL: res_new: %s\n", error);
        return 1;
    }

    res_counters_counter_t a, b;
    MUST(res_counters_counter_new(lib, res_string_from_cstr("a"), 5, &a, &error));
    check(value(lib, a) == 5, "a new counter has its start value");
    uint32_t after = 0;
    MUST(res_counters_counter_add(lib, a, 3, &after, &error));
    check(after == 8 && value(lib, a) == 8, "a method changes the resource");
    res_string_t name;
    MUST(res_counters_counter_name(lib, a, &name, &error));
    check(string_is(name, "a"), "a method returns a string");
    res_string_free(&name);

    res_counters_named_t named;
    MUST(res_counters_make(lib, res_string_from_cstr("b"), 10, &named, &error));
    b = named.counter;
    check(string_is(named.name, "b") && value(lib, b) == 10, "a handle comes back in a record");
    res_counters_named_free(&named);
    check(a.handle != b.handle, "two owned handles differ");
    check(live(lib) == 2, "a static function: two counters live");

    res_counters_counter_t both[2] = {a, b};
    res_list_counters_counter_t list = {both, 2};
    uint32_t total = 0;
    MUST(res_counters_total(lib, list, &total, &error));
    check(total == 18, "a list of borrowed handles");
    check(value(lib, a) == 8 && value(lib, b) == 10, "borrowed handles stay the caller's");

    res_result_counters_counter_string_t split;
    MUST(res_counters_counter_split(lib, a, 0, &split, &error));
    check(split.tag == RES_RESULT_ERR && string_is(split.val.err, "a cannot be split into 0 parts"),
          "a result's error case");
    res_result_counters_counter_string_free(&split);
    MUST(res_counters_counter_split(lib, a, 2, &split, &error));
    check(split.tag == RES_RESULT_OK && value(lib, split.val.ok) == 4, "a handle in a result");
    res_counters_counter_t c = split.val.ok;
    check(live(lib) == 3, "three counters live");

    MUST(res_counters_counter_absorb(lib, a, b, &error));
    check(value(lib, a) == 18, "an owned handle moved into a call");
    check(dropped(lib) == 1 && live(lib) == 2, "the call dropped the moved resource");
    check_error(res_counters_counter_drop(lib, b, &error), &error, "handle",
                "dropping a moved handle is an error naming the handle");
    check(value(lib, a) == 18, "the instance is usable after a bad handle");

    MUST(res_counters_counter_drop(lib, c, &error));
    check(dropped(lib) == 2 && live(lib) == 1, "dropping a handle runs the destructor");
    check_error(res_counters_counter_drop(lib, c, &error), &error, "handle",
                "dropping a handle twice is an error");
    uint32_t n = 0;
    check_error(res_counters_counter_get(lib, c, &n, &error), &error, "handle",
                "a dropped handle cannot be borrowed: the call traps");
    res_free(lib);

    /* A trap with a handle lent: the instance is then refused. */
    lib = res_new(NULL, &error);
    if (lib == NULL) {
        printf("FAIL: res_new: %s\n", error);
        return 1;
    }
    MUST(res_counters_counter_new(lib, res_string_from_cstr("z"), 1, &a, &error));
    check_error(res_counters_crash(lib, a, &error), &error, "unreachable",
                "a trap with a borrowed handle is an error");
    check_error(res_counters_counter_drop(lib, a, &error), &error, "trapped",
                "after a trap, dropping is refused");
    res_free(lib);
    return 0;
}
