/* The C implementation of test:imports/host (tests/library/imports/wit),
 * the native imports of smelt's tests (tests/tests/library.rs): linked
 * with the component library of tests/library/imports by imports.c, and
 * into the executable of tests/library/command by `smelt build --link`.
 * Both headers name it with the prefix `imports`.
 *
 * With -DOMIT_ADD it leaves imports_impl_host_add out: linking must then
 * fail and name it. */
#define IMPORTS_IMPLEMENTATION
#include "imports.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* What the calls left, for imports.c's checks. */
unsigned add_calls;
uint64_t ticks;
char last_note[64];
/* Called by each host.tick when set. */
void (*on_tick)(void);

static imports_string_t copy_string(const char *s, size_t len) {
    imports_string_t out;
    out.ptr = (uint8_t *)malloc(len + 1);
    memcpy(out.ptr, s, len);
    out.ptr[len] = 0;
    out.len = len;
    return out;
}

#ifndef OMIT_ADD
uint32_t imports_impl_host_add(uint32_t a, uint32_t b) {
    add_calls++;
    return a + b;
}
#endif

imports_string_t imports_impl_host_upper(imports_string_t text) {
    if (text.len == 7 && memcmp(text.ptr, "invalid", 7) == 0) {
        /* Not UTF-8: the library must refuse it. */
        return copy_string("\xff\xfe", 2);
    }
    imports_string_t out = copy_string((const char *)text.ptr, text.len);
    for (size_t i = 0; i < out.len; i++) {
        out.ptr[i] = (uint8_t)toupper(out.ptr[i]);
    }
    return out;
}

imports_list_string_t imports_impl_host_split(imports_string_t text, uint32_t sep) {
    imports_list_string_t out;
    out.ptr = (imports_string_t *)malloc(sizeof(imports_string_t) * (text.len + 1));
    out.len = 0;
    size_t start = 0;
    for (size_t i = 0; i <= text.len; i++) {
        if (i == text.len || text.ptr[i] == sep) {
            out.ptr[out.len++] = copy_string((const char *)text.ptr + start, i - start);
            start = i + 1;
        }
    }
    return out;
}

static imports_host_entry_t entry(const char *key, uint32_t value) {
    imports_host_entry_t e;
    e.key = copy_string(key, strlen(key));
    e.value = value;
    return e;
}

imports_host_lookup_t imports_impl_host_find(imports_string_t key) {
    imports_host_lookup_t out;
    memset(&out, 0, sizeof out);
    /* A string argument is NUL-terminated. */
    const char *k = (const char *)key.ptr;
    if (strcmp(k, "a") == 0) {
        out.tag = IMPORTS_HOST_LOOKUP_FOUND;
        out.val.found = entry("a", 1);
    } else if (strcmp(k, "ab") == 0) {
        out.tag = IMPORTS_HOST_LOOKUP_MANY;
        out.val.many.ptr = (imports_host_entry_t *)malloc(2 * sizeof(imports_host_entry_t));
        out.val.many.ptr[0] = entry("a", 1);
        out.val.many.ptr[1] = entry("b", 2);
        out.val.many.len = 2;
    } else if (strcmp(k, "corrupt") == 0) {
        /* No such case: the library must refuse it. */
        out.tag = 9;
    } else {
        out.tag = IMPORTS_HOST_LOOKUP_MISSING;
    }
    return out;
}

imports_result_u64_string_t imports_impl_host_check(int64_t value) {
    imports_result_u64_string_t out;
    memset(&out, 0, sizeof out);
    if (value < 0) {
        char message[64];
        int n = snprintf(message, sizeof message, "negative: %lld", (long long)value);
        out.tag = IMPORTS_RESULT_ERR;
        out.val.err = copy_string(message, (size_t)n);
    } else {
        out.tag = IMPORTS_RESULT_OK;
        out.val.ok = (uint64_t)value * 2;
    }
    return out;
}

void imports_impl_host_note(imports_string_t message) {
    snprintf(last_note, sizeof last_note, "%.*s", (int)message.len, (const char *)message.ptr);
}

uint64_t imports_impl_host_tick(void) {
    if (on_tick != NULL) {
        on_tick();
    }
    return ++ticks;
}

