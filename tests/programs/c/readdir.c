/* The C twin of src/bin/readdir.rs, built with clang and wasi-libc: lists
 * the directory given as the first argument, one line per entry, sorted by
 * name, as `dir NAME`, `file NAME (N bytes)`, `symlink NAME` (the link
 * itself, not followed) or `other NAME`; then `N entries`. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct line {
    char *name;
    char *text;
};

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct line *)a)->name, ((const struct line *)b)->name);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: readdir DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "readdir: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    struct line *lines = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            fprintf(stderr, "readdir: %s: %s\n", e->d_name, strerror(errno));
            return 1;
        }
        char text[4200];
        if (S_ISDIR(st.st_mode))
            snprintf(text, sizeof text, "dir %s", e->d_name);
        else if (S_ISLNK(st.st_mode))
            snprintf(text, sizeof text, "symlink %s", e->d_name);
        else if (S_ISREG(st.st_mode))
            snprintf(text, sizeof text, "file %s (%lld bytes)", e->d_name, (long long)st.st_size);
        else
            snprintf(text, sizeof text, "other %s", e->d_name);
        lines = realloc(lines, (n + 1) * sizeof *lines);
        lines[n].name = strdup(e->d_name);
        lines[n].text = strdup(text);
        n++;
    }
    closedir(d);
    qsort(lines, n, sizeof *lines, by_name);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", lines[i].text);
    printf("%zu entries\n", n);
    return 0;
}
