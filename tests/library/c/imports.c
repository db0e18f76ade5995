/* smelt's native-imports test (tests/tests/library.rs): links the
 * component of tests/library/imports, whose imports host.c
 * (test:imports/host) and this file (test:imports/sensors, a resource)
 * implement, and checks what its exports, which call them, return against
 * what this program computes. Prints one line per check; exits 1 on the
 * first that fails. */
#include "imports.h"

#include <stdio.h>
#include <string.h>

extern unsigned add_calls;
extern uint64_t ticks;
extern char last_note[64];
extern void (*on_tick)(void);

/* test:imports/sensors: the sensors live in this table, and a handle is
 * an index into it. */
#define MAX_SENSORS 4
static struct {
    bool live;
    char name[16];
    uint32_t value;
} sensors[MAX_SENSORS];
/* The destructor's calls, and the handle of the last. */
static unsigned sensor_drops;
static uint32_t last_dropped = UINT32_MAX;
/* A handle that is not a live sensor's, seen by an implementation. */
static bool bad_handle;

static uint32_t sensor_at(imports_impl_sensors_sensor_t s) {
    if (s.rep >= MAX_SENSORS || !sensors[s.rep].live) {
        bad_handle = true;
        return 0;
    }
    return s.rep;
}

imports_impl_sensors_sensor_t imports_impl_sensors_sensor_new(imports_string_t name, uint32_t start) {
    for (uint32_t i = 0; i < MAX_SENSORS; i++) {
        if (!sensors[i].live) {
            sensors[i].live = true;
            snprintf(sensors[i].name, sizeof sensors[i].name, "%.*s", (int)name.len, (const char *)name.ptr);
            sensors[i].value = start;
            return (imports_impl_sensors_sensor_t){i};
        }
    }
    printf("FAIL: more than %d sensors\n", MAX_SENSORS);
    exit(1);
}

uint32_t imports_impl_sensors_sensor_read(imports_impl_sensors_sensor_t self_) {
    return sensors[sensor_at(self_)].value++;
}

imports_string_t imports_impl_sensors_sensor_name(imports_impl_sensors_sensor_t self_) {
    const char *name = sensors[sensor_at(self_)].name;
    imports_string_t out = {(uint8_t *)malloc(strlen(name) + 1), strlen(name)};
    memcpy(out.ptr, name, out.len + 1);
    return out;
}

uint32_t imports_impl_sensors_read_all(imports_list_impl_sensors_sensor_t list) {
    uint32_t sum = 0;
    for (size_t i = 0; i < list.len; i++) {
        sum += imports_impl_sensors_sensor_read(list.ptr[i]);
    }
    return sum;
}

uint32_t imports_impl_sensors_retire(imports_impl_sensors_sensor_t s) {
    /* The program owns it again: it is done with it. */
    uint32_t value = imports_impl_sensors_sensor_read(s);
    sensors[sensor_at(s)].live = false;
    return value;
}

void imports_impl_sensors_sensor_drop(imports_impl_sensors_sensor_t self_) {
    sensor_drops++;
    last_dropped = self_.rep;
    sensors[sensor_at(self_)].live = false;
}

static unsigned live_sensors(void) {
    unsigned n = 0;
    for (int i = 0; i < MAX_SENSORS; i++) n += sensors[i].live;
    return n;
}

/* The instance whose host.tick calls back into it. */
static imports_t *reentered;
static char *reentry_error;

static void call_back(void) {
    uint64_t last;
    if (imports_app_ticks(reentered, 1, &last, &reentry_error)) {
        printf("FAIL: a call back into the instance succeeded\n");
        exit(1);
    }
}

static void check(bool ok, const char *what) {
    if (!ok) {
        printf("FAIL: %s\n", what);
        exit(1);
    }
    printf("ok: %s\n", what);
}

static bool string_is(imports_string_t s, const char *expected) {
    return s.len == strlen(expected) && memcmp(s.ptr, expected, s.len) == 0;
}

/* Calls a string -> string export and checks its result. */
#define CHECK_STRING(call, arg, expected)                                        \
    do {                                                                         \
        imports_string_t out;                                                    \
        char *error = NULL;                                                      \
        bool ok = call(lib, imports_string_from_cstr(arg), &out, &error);        \
        if (!ok) {                                                               \
            printf("FAIL: %s(\"%s\"): %s\n", #call, arg, error);                 \
            free(error);                                                         \
            exit(1);                                                             \
        }                                                                        \
        check(string_is(out, expected), #call "(\"" arg "\") is \"" expected "\""); \
        imports_string_free(&out);                                               \
    } while (0)

int main(void) {
    char *error = NULL;
    imports_t *lib = imports_new(NULL, &error);
    if (lib == NULL) {
        printf("FAIL: imports_new: %s\n", error);
        return 1;
    }

    uint32_t values[100];
    uint32_t expected_sum = 0;
    for (uint32_t i = 0; i < 100; i++) {
        values[i] = i * 7 + 1;
        expected_sum += values[i];
    }
    imports_list_u32_t list = {values, 100};
    uint32_t sum = 0;
    check(imports_app_sum(lib, list, &sum, NULL), "sum returns");
    check(sum == expected_sum && add_calls == 100, "sum adds with host.add, once per value");

    CHECK_STRING(imports_app_shout, "hello", "HELLO!");
    CHECK_STRING(imports_app_words, "one two three", "ONE-TWO-THREE");
    CHECK_STRING(imports_app_words, "", "");
    CHECK_STRING(imports_app_describe, "a", "a: a=1");
    CHECK_STRING(imports_app_describe, "ab", "ab: a=1,b=2");
    CHECK_STRING(imports_app_describe, "zz", "zz: missing");

    imports_string_t out;
    check(imports_app_checked(lib, 21, &out, NULL) && string_is(out, "ok 42"), "checked(21) is \"ok 42\"");
    imports_string_free(&out);
    check(imports_app_checked(lib, -5, &out, NULL) && string_is(out, "err negative: -5"),
          "checked(-5) is \"err negative: -5\"");
    imports_string_free(&out);

    uint64_t last = 0;
    check(imports_app_ticks(lib, 1000, &last, NULL) && last == 1000 && ticks == 1000,
          "ticks(1000) calls host.tick 1000 times");
    check(strcmp(last_note, "ticked 1000 times") == 0, "host.note got the message");

    /* A resource the program implements: the component makes sensors
     * (handles 0 and 1 here), reads them through borrows, gives one back
     * and drops the other, which calls the destructor. */
    check(imports_app_sense(lib, &out, NULL) && string_is(out, "10 11 32 b 21"),
          "sense() is \"10 11 32 b 21\"");
    imports_string_free(&out);
    check(!bad_handle, "every handle an implementation got was a live sensor's");
    check(sensor_drops == 1 && last_dropped == 0, "dropping sensor a called the destructor, once");
    check(live_sensors() == 0, "no sensor is left: b was given back, a dropped");

    /* An implementation calling back into its instance gets an error,
     * and the instance goes on. */
    reentered = lib;
    on_tick = call_back;
    check(imports_app_ticks(lib, 1, &last, NULL) && last == 1001, "ticks(1) with a call back");
    on_tick = NULL;
    check(reentry_error != NULL && strstr(reentry_error, "already in a call") != NULL,
          "the call back into the instance is refused");
    free(reentry_error);

    /* A result the Canonical ABI forbids is a trap: the call fails, the
     * instance refuses further calls. */
    bool ok = imports_app_shout(lib, imports_string_from_cstr("invalid"), &out, &error);
    check(!ok && error != NULL, "an implementation's result that is not UTF-8 fails the call");
    printf("error: %s\n", error);
    free(error);
    error = NULL;
    check(!imports_app_sum(lib, list, &sum, NULL), "the instance refuses calls after it");
    imports_free(lib);

    lib = imports_new(NULL, NULL);
    check(lib != NULL, "a new instance");
    ok = imports_app_describe(lib, imports_string_from_cstr("corrupt"), &out, &error);
    check(!ok && error != NULL, "an implementation's variant with no such case fails the call");
    printf("error: %s\n", error);
    free(error);
    imports_free(lib);
    return 0;
}
