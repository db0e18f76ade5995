/* smelt's library test (issue 18): calls the component of ../guest,
 * compiled by `smelt build --emit staticlib -o libshapes.a`, through the
 * generated header shapes.h, and prints one line per call:
 *
 *     INSTANCE: INTERFACE.FUNCTION(ARGUMENTS) -> VALUE
 *
 * VALUE in the format of ../native/src/bin/expected.rs, which makes the
 * same calls on the native build of the same functions; run.sh diffs the
 * two outputs. Formats: strings in double quotes, floats with %.3f, chars
 * as U+XXXX, lists [a, b], tuples (a, b), records {field: value, ...},
 * options some(v)/none, results ok(v)/ok/err(e), variant cases
 * case(payload)/case, enums by case name, flags as {label, ...}.
 *
 * Every result is freed with the header's free helpers (the test runs
 * under AddressSanitizer, whose leak check fails it otherwise). A result
 * string that is not NUL-terminated prints a marker, so the diff fails.
 * An unexpected trap ends the program with exit status 1. */
#include "shapes.h"

#include <stdio.h>
#include <string.h>

/* Bit i of a flags value is label i (CONTRACT.md). */
#define PERM_READ ((shapes_shapes_perms_t)(1u << 0))
#define PERM_WRITE ((shapes_shapes_perms_t)(1u << 1))
#define PERM_EXEC ((shapes_shapes_perms_t)(1u << 2))

/* The error message of the last call (malloc'd by the runtime). */
static char *error;

static void unexpected_trap(const char *instance, const char *call) {
    printf("%s: %s -> unexpected trap: %s\n", instance, call,
           error != NULL ? error : "(no message)");
    free(error);
    exit(1);
}

/* Makes the call EXPR (which passes &error), exits on a trap, and starts
 * the output line; the caller prints the value and ends the line. */
#define CALL(instance, call, expr)                                         \
    do {                                                                   \
        error = NULL;                                                      \
        if (!(expr)) unexpected_trap(instance, call);                      \
        if (error != NULL) {                                               \
            printf("%s: %s -> success but *error set: %s\n", instance,     \
                   call, error);                                           \
            free(error);                                                   \
            exit(1);                                                       \
        }                                                                  \
        printf("%s: %s -> ", instance, call);                              \
    } while (0)

static void end(void) { putchar('\n'); }

/* A borrowed argument string. */
static shapes_string_t str(const char *s) {
    return (shapes_string_t){(uint8_t *)s, strlen(s)};
}

static void put_string(shapes_string_t s) {
    printf("\"%.*s\"", (int)s.len, (const char *)s.ptr);
    if (s.ptr == NULL || s.ptr[s.len] != 0) printf("<not NUL-terminated>");
}

static void put_char(uint32_t c) { printf("U+%04X", (unsigned)c); }

static void put_point(shapes_shapes_point_t p) {
    printf("{x: %.3f, y: %.3f}", p.x, p.y);
}

static void put_shape(shapes_shapes_shape_t s) {
    switch (s.tag) {
    case SHAPES_SHAPES_SHAPE_CIRCLE:
        printf("circle(%.3f)", s.val.circle);
        break;
    case SHAPES_SHAPES_SHAPE_RECT:
        printf("rect(");
        put_point(s.val.rect);
        printf(")");
        break;
    case SHAPES_SHAPES_SHAPE_EMPTY:
        printf("empty");
        break;
    default:
        printf("<bad shape tag %u>", (unsigned)s.tag);
    }
}

static void put_color(shapes_shapes_color_t c) {
    switch (c) {
    case SHAPES_SHAPES_COLOR_RED: printf("red"); break;
    case SHAPES_SHAPES_COLOR_GREEN: printf("green"); break;
    case SHAPES_SHAPES_COLOR_BLUE: printf("blue"); break;
    default: printf("<bad color %u>", (unsigned)c);
    }
}

static void put_perms(shapes_shapes_perms_t p) {
    const char *names[] = {"read", "write", "exec"};
    const char *sep = "";
    printf("{");
    for (unsigned i = 0; i < 3; i++) {
        if (p & (1u << i)) {
            printf("%s%s", sep, names[i]);
            sep = ", ";
        }
    }
    if (p >> 3) printf("%s<unknown bits 0x%x>", sep, (unsigned)p);
    printf("}");
}

static void put_list_u32(shapes_list_u32_t xs) {
    printf("[");
    for (size_t i = 0; i < xs.len; i++) printf("%s%u", i ? ", " : "", (unsigned)xs.ptr[i]);
    printf("]");
}

static void put_list_string(shapes_list_string_t xs) {
    printf("[");
    for (size_t i = 0; i < xs.len; i++) {
        if (i) printf(", ");
        put_string(xs.ptr[i]);
    }
    printf("]");
}

static void put_option_u32(shapes_option_u32_t x) {
    if (x.tag == 1) printf("some(%u)", (unsigned)x.val.some);
    else if (x.tag == 0) printf("none");
    else printf("<bad option tag %u>", (unsigned)x.tag);
}

static void put_option_char(shapes_option_char_t x) {
    if (x.tag == 1) {
        printf("some(");
        put_char(x.val.some);
        printf(")");
    } else if (x.tag == 0) {
        printf("none");
    } else {
        printf("<bad option tag %u>", (unsigned)x.tag);
    }
}

static void put_option_string(shapes_option_string_t x) {
    if (x.tag == 1) {
        printf("some(");
        put_string(x.val.some);
        printf(")");
    } else if (x.tag == 0) {
        printf("none");
    } else {
        printf("<bad option tag %u>", (unsigned)x.tag);
    }
}

static void put_shape_info(shapes_shapes_shape_info_t i) {
    printf("{name: ");
    put_string(i.name);
    printf(", area: %.3f, corners: [", i.area);
    for (size_t k = 0; k < i.corners.len; k++) {
        if (k) printf(", ");
        put_point(i.corners.ptr[k]);
    }
    printf("]}");
}

static shapes_t *instantiate(const char *name, const char *const *env, size_t env_len) {
    const char *const args[] = {name};
    smelt_config config = {
        .args = args, .args_len = 1,
        .env = env, .env_len = env_len,
        .dirs = NULL, .dirs_len = 0,
    };
    char *message = NULL;
    shapes_t *instance = shapes_new(&config, &message);
    if (instance == NULL) {
        printf("%s: shapes_new failed: %s\n", name, message != NULL ? message : "(no message)");
        free(message);
        exit(1);
    }
    if (message != NULL) {
        printf("%s: shapes_new succeeded but set *error: %s\n", name, message);
        free(message);
        exit(1);
    }
    return instance;
}

/* interface text, on instance a */
static void text_calls(shapes_t *a) {
    shapes_string_t s;
    CALL("a", "text.greet(\"Wörld\")", shapes_text_greet(a, str("Wörld"), &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    CALL("a", "text.concat(\"foo\", \"bär\")", shapes_text_concat(a, str("foo"), str("bär"), &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    /* Empty arguments, one of them without a buffer at all. */
    shapes_string_t none = {NULL, 0};
    CALL("a", "text.concat(\"\", \"\")", shapes_text_concat(a, str(""), none, &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    uint32_t n;
    CALL("a", "text.count-chars(\"héllo wörld\")", shapes_text_count_chars(a, str("héllo wörld"), &n, &error));
    printf("%u", (unsigned)n); end();

    shapes_list_string_t words;
    CALL("a", "text.split-words(\"  the quick  brown fox \")",
         shapes_text_split_words(a, str("  the quick  brown fox "), &words, &error));
    put_list_string(words); end();
    shapes_list_string_free(&words);

    CALL("a", "text.split-words(\"\")", shapes_text_split_words(a, str(""), &words, &error));
    put_list_string(words); end();
    shapes_list_string_free(&words);

    shapes_string_t abc[] = {str("a"), str("b"), str("c")};
    CALL("a", "text.join-words([\"a\", \"b\", \"c\"], \", \")",
         shapes_text_join_words(a, (shapes_list_string_t){abc, 3}, str(", "), &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    CALL("a", "text.join-words([], \"-\")",
         shapes_text_join_words(a, (shapes_list_string_t){NULL, 0}, str("-"), &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    shapes_tuple2_string_string_t halves;
    CALL("a", "text.split-at(\"naïve\", 3)", shapes_text_split_at(a, str("naïve"), 3, &halves, &error));
    printf("(");
    put_string(halves.f0);
    printf(", ");
    put_string(halves.f1);
    printf(")"); end();
    shapes_tuple2_string_string_free(&halves);

    const char *numbers[] = {"12345", "12x"};
    for (int i = 0; i < 2; i++) {
        char call[64];
        snprintf(call, sizeof call, "text.parse-number(\"%s\")", numbers[i]);
        shapes_result_u32_string_t r;
        CALL("a", call, shapes_text_parse_number(a, str(numbers[i]), &r, &error));
        if (r.tag == 0) {
            printf("ok(%u)", (unsigned)r.val.ok);
        } else if (r.tag == 1) {
            printf("err(");
            put_string(r.val.err);
            printf(")");
        } else {
            printf("<bad result tag %u>", (unsigned)r.tag);
        }
        end();
        shapes_result_u32_string_free(&r);
    }

    const char *names[] = {"abc123", "a b"};
    for (int i = 0; i < 2; i++) {
        char call[64];
        snprintf(call, sizeof call, "text.check-name(\"%s\")", names[i]);
        shapes_result_void_string_t r;
        CALL("a", call, shapes_text_check_name(a, str(names[i]), &r, &error));
        if (r.tag == 0) {
            printf("ok");
        } else if (r.tag == 1) {
            printf("err(");
            put_string(r.val.err);
            printf(")");
        } else {
            printf("<bad result tag %u>", (unsigned)r.tag);
        }
        end();
        shapes_result_void_string_free(&r);
    }

    shapes_option_char_t first;
    CALL("a", "text.first-char(\"émile\")", shapes_text_first_char(a, str("émile"), &first, &error));
    put_option_char(first); end();
    CALL("a", "text.first-char(\"\")", shapes_text_first_char(a, str(""), &first, &error));
    put_option_char(first); end();

    uint32_t c;
    CALL("a", "text.to-upper(U+00E9)", shapes_text_to_upper(a, 0xE9, &c, &error));
    put_char(c); end();
    CALL("a", "text.to-upper(U+00DF)", shapes_text_to_upper(a, 0xDF, &c, &error));
    put_char(c); end();

    shapes_option_u32_t at;
    CALL("a", "text.find-char(\"hello\", U+006C)", shapes_text_find_char(a, str("hello"), 'l', &at, &error));
    put_option_u32(at); end();
    CALL("a", "text.find-char(\"hello\", U+007A)", shapes_text_find_char(a, str("hello"), 'z', &at, &error));
    put_option_u32(at); end();

    shapes_option_string_t value;
    CALL("a", "text.get-env(\"GREETING\")", shapes_text_get_env(a, str("GREETING"), &value, &error));
    put_option_string(value); end();
    shapes_option_string_free(&value);
    CALL("a", "text.get-env(\"MISSING\")", shapes_text_get_env(a, str("MISSING"), &value, &error));
    put_option_string(value); end();
    shapes_option_string_free(&value);

    /* The guest's line goes to the same stdout: ours is line-buffered
     * (main), so nothing of ours is pending when the guest writes. */
    CALL("a", "text.log(\"from the guest\")", shapes_text_log(a, str("from the guest"), &error));
    printf("ok"); end();
}

/* interface shapes, on instance a */
static void shapes_calls(shapes_t *a) {
    uint64_t sum;
    uint32_t xs[] = {1, 2, 3, 4000000000u};
    CALL("a", "shapes.sum([1, 2, 3, 4000000000])", shapes_shapes_sum(a, (shapes_list_u32_t){xs, 4}, &sum, &error));
    printf("%llu", (unsigned long long)sum); end();
    CALL("a", "shapes.sum([])", shapes_shapes_sum(a, (shapes_list_u32_t){NULL, 0}, &sum, &error));
    printf("%llu", (unsigned long long)sum); end();

    shapes_list_u32_t range;
    CALL("a", "shapes.range(5)", shapes_shapes_range(a, 5, &range, &error));
    put_list_u32(range); end();
    shapes_list_u32_free(&range);
    CALL("a", "shapes.range(0)", shapes_shapes_range(a, 0, &range, &error));
    put_list_u32(range); end();
    shapes_list_u32_free(&range);

    shapes_option_tuple2_u32_u32_t mm;
    uint32_t ys[] = {7, 3, 9, 1};
    for (int empty = 0; empty < 2; empty++) {
        shapes_list_u32_t list = empty ? (shapes_list_u32_t){NULL, 0} : (shapes_list_u32_t){ys, 4};
        CALL("a", empty ? "shapes.min-max([])" : "shapes.min-max([7, 3, 9, 1])",
             shapes_shapes_min_max(a, list, &mm, &error));
        if (mm.tag == 1) printf("some((%u, %u))", (unsigned)mm.val.some.f0, (unsigned)mm.val.some.f1);
        else if (mm.tag == 0) printf("none");
        else printf("<bad option tag %u>", (unsigned)mm.tag);
        end();
    }

    uint32_t n;
    shapes_option_u32_t five = {.tag = 1, .val.some = 5};
    shapes_option_u32_t nothing = {.tag = 0};
    CALL("a", "shapes.or-default(some(5), 7)", shapes_shapes_or_default(a, five, 7, &n, &error));
    printf("%u", (unsigned)n); end();
    CALL("a", "shapes.or-default(none, 7)", shapes_shapes_or_default(a, nothing, 7, &n, &error));
    printf("%u", (unsigned)n); end();

    shapes_shapes_point_t p;
    CALL("a", "shapes.scale({x: 1.5, y: -2.25}, 2)",
         shapes_shapes_scale(a, (shapes_shapes_point_t){1.5, -2.25}, 2.0, &p, &error));
    put_point(p); end();

    shapes_shapes_shape_t circle = {.tag = SHAPES_SHAPES_SHAPE_CIRCLE, .val.circle = 1.5};
    shapes_shapes_shape_t rect = {.tag = SHAPES_SHAPES_SHAPE_RECT, .val.rect = {2.0, 3.5}};
    shapes_shapes_shape_t empty = {.tag = SHAPES_SHAPES_SHAPE_EMPTY};
    double area;
    CALL("a", "shapes.area(circle(1.5))", shapes_shapes_area(a, circle, &area, &error));
    printf("%.3f", area); end();
    CALL("a", "shapes.area(rect({x: 2, y: 3.5}))", shapes_shapes_area(a, rect, &area, &error));
    printf("%.3f", area); end();
    CALL("a", "shapes.area(empty)", shapes_shapes_area(a, empty, &area, &error));
    printf("%.3f", area); end();

    shapes_shapes_shape_info_t info;
    CALL("a", "shapes.describe(rect({x: 2, y: 3.5}))", shapes_shapes_describe(a, rect, &info, &error));
    put_shape_info(info); end();
    shapes_shapes_shape_info_free(&info);
    shapes_shapes_shape_t unit = {.tag = SHAPES_SHAPES_SHAPE_CIRCLE, .val.circle = 1.0};
    CALL("a", "shapes.describe(circle(1))", shapes_shapes_describe(a, unit, &info, &error));
    put_shape_info(info); end();
    shapes_shapes_shape_info_free(&info);

    shapes_shapes_shape_t several[] = {
        unit,
        {.tag = SHAPES_SHAPES_SHAPE_RECT, .val.rect = {2.0, 3.0}},
        empty,
    };
    shapes_option_shapes_shape_t biggest;
    for (int none = 0; none < 2; none++) {
        shapes_list_shapes_shape_t list = none ? (shapes_list_shapes_shape_t){NULL, 0}
                                               : (shapes_list_shapes_shape_t){several, 3};
        CALL("a", none ? "shapes.largest([])" : "shapes.largest([circle(1), rect({x: 2, y: 3}), empty])",
             shapes_shapes_largest(a, list, &biggest, &error));
        if (biggest.tag == 1) {
            printf("some(");
            put_shape(biggest.val.some);
            printf(")");
        } else if (biggest.tag == 0) {
            printf("none");
        } else {
            printf("<bad option tag %u>", (unsigned)biggest.tag);
        }
        end();
    }

    shapes_shapes_shape_t grown;
    shapes_shapes_shape_t small = {.tag = SHAPES_SHAPES_SHAPE_CIRCLE, .val.circle = 1.25};
    shapes_shapes_shape_t thin = {.tag = SHAPES_SHAPES_SHAPE_RECT, .val.rect = {0.5, 4.0}};
    CALL("a", "shapes.grow(circle(1.25))", shapes_shapes_grow(a, small, &grown, &error));
    put_shape(grown); end();
    CALL("a", "shapes.grow(rect({x: 0.5, y: 4}))", shapes_shapes_grow(a, thin, &grown, &error));
    put_shape(grown); end();
    CALL("a", "shapes.grow(empty)", shapes_shapes_grow(a, empty, &grown, &error));
    put_shape(grown); end();

    shapes_shapes_color_t color;
    CALL("a", "shapes.next-color(blue)", shapes_shapes_next_color(a, SHAPES_SHAPES_COLOR_BLUE, &color, &error));
    put_color(color); end();
    CALL("a", "shapes.next-color(red)", shapes_shapes_next_color(a, SHAPES_SHAPES_COLOR_RED, &color, &error));
    put_color(color); end();

    shapes_string_t s;
    CALL("a", "shapes.color-name(green)", shapes_shapes_color_name(a, SHAPES_SHAPES_COLOR_GREEN, &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    CALL("a", "shapes.perms-string({read, exec})",
         shapes_shapes_perms_string(a, PERM_READ | PERM_EXEC, &s, &error));
    put_string(s); end();
    shapes_string_free(&s);
    CALL("a", "shapes.perms-string({})", shapes_shapes_perms_string(a, 0, &s, &error));
    put_string(s); end();
    shapes_string_free(&s);

    shapes_shapes_perms_t perms;
    CALL("a", "shapes.toggle({read, write}, {write, exec})",
         shapes_shapes_toggle(a, PERM_READ | PERM_WRITE, PERM_WRITE | PERM_EXEC, &perms, &error));
    put_perms(perms); end();

    bool yes;
    CALL("a", "shapes.allows({read, write}, {read})",
         shapes_shapes_allows(a, PERM_READ | PERM_WRITE, PERM_READ, &yes, &error));
    printf("%s", yes ? "true" : "false"); end();
    CALL("a", "shapes.allows({read}, {read, write})",
         shapes_shapes_allows(a, PERM_READ, PERM_READ | PERM_WRITE, &yes, &error));
    printf("%s", yes ? "true" : "false"); end();

    for (int i = 0; i < 2; i++) {
        CALL("a", "shapes.next-id()", shapes_shapes_next_id(a, &n, &error));
        printf("%u", (unsigned)n); end();
    }

    int32_t signed_xs[] = {-5, INT32_MAX, INT32_MIN, 10};
    int64_t total;
    CALL("a", "shapes.total([-5, 2147483647, -2147483648, 10])",
         shapes_shapes_total(a, (shapes_list_s32_t){signed_xs, 4}, &total, &error));
    printf("%lld", (long long)total); end();
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *const env_a[] = {"GREETING=hello from A", "LANG=C"};
    const char *const env_b[] = {"GREETING=hello from B"};
    shapes_t *a = instantiate("a", env_a, 2);

    text_calls(a);
    shapes_calls(a);

    /* A second instance, alive with the first: its own environment and
     * its own state (next-id starts again at 1). */
    shapes_t *b = instantiate("b", env_b, 1);
    shapes_option_string_t value;
    CALL("b", "text.get-env(\"GREETING\")", shapes_text_get_env(b, str("GREETING"), &value, &error));
    put_option_string(value); end();
    shapes_option_string_free(&value);
    uint32_t n;
    CALL("b", "shapes.next-id()", shapes_shapes_next_id(b, &n, &error));
    printf("%u", (unsigned)n); end();
    CALL("a", "shapes.next-id()", shapes_shapes_next_id(a, &n, &error));
    printf("%u", (unsigned)n); end();

    /* A trap comes back as false and a message, not as an exit. */
    CALL("a", "text.boom(4)", shapes_text_boom(a, 4, &n, &error));
    printf("%u", (unsigned)n); end();
    error = NULL;
    n = 12345;
    bool ok = shapes_text_boom(a, 0, &n, &error);
    printf("a: text.boom(0) -> ");
    if (ok) {
        printf("no trap");
    } else {
        printf("trap: message %s", error == NULL ? "none" : error[0] != 0 ? "yes" : "no");
        if (n != 12345) printf(" (but *ret was written)");
    }
    end();
    if (error != NULL) fprintf(stderr, "text.boom(0) trapped: %s\n", error);
    free(error);
    shapes_free(a);
    printf("a: freed\n");

    /* The other instance is unaffected. */
    shapes_string_t s;
    CALL("b", "text.greet(\"again\")", shapes_text_greet(b, str("again"), &s, &error));
    put_string(s); end();
    shapes_string_free(&s);
    shapes_free(b);
    printf("b: freed\n");

    /* A result string that is not UTF-8 is a trap too (CanonicalABI.md
     * load_string_from_range), with nothing written at *ret. */
    shapes_t *c = instantiate("c", NULL, 0);
    s.ptr = NULL;
    ok = shapes_text_not_utf8(c, &s, &error);
    printf("c: text.not-utf8() -> %s", ok ? "no trap" : "trap");
    if (!ok && s.ptr != NULL) printf(" (but *ret was written)");
    end();
    if (error != NULL) fprintf(stderr, "text.not-utf8() trapped: %s\n", error);
    free(error);
    shapes_free(c);
    printf("c: freed\n");
    return 0;
}
