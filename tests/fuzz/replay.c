/* replay.c - a main for the fuzz targets without libFuzzer: runs every input
 * file named on the command line (a directory stands for the files in it,
 * in name order) through LLVMFuzzerTestOneInput once.
 *
 *   fuzz_queue_replay [-n rounds] path...
 *
 * ctest runs each target's seed corpus and regression inputs this way in the
 * plain, ASan+UBSan, TSan and clang builds (gcc or clang, no libFuzzer
 * needed).  A failed check aborts, naming the input being replayed (printed
 * before it runs).  An input that takes longer than REPLAY_TIMEOUT seconds
 * (default 60) is reported as a hang and fails the run.  -n runs the whole
 * list several times (the pool target is multi-threaded, so a race may need
 * more than one run to show).
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current; /* the input being replayed, for the hang report */

static void on_alarm(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here. */
    static const char msg[] = "replay: input hung (REPLAY_TIMEOUT): ";
    ssize_t r = write(2, msg, sizeof msg - 1);
    if (current)
        r = write(2, current, strlen(current));
    r = write(2, "\n", 1);
    (void)r;
    _exit(3);
}

static int run_file(const char *path, unsigned timeout)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "replay: out of memory reading %s\n", path);
            fclose(f);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        uint8_t *nb = realloc(buf, cap);
        if (!nb)
            free(buf);
        buf = nb;
    }
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    current = path;
    alarm(timeout);
    LLVMFuzzerTestOneInput(buf, n);
    alarm(0);
    current = NULL;
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs path (a file, or every regular file of a directory).  Returns the
 * number of inputs run, or -1. */
static long run_path(const char *path, unsigned timeout)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path, timeout) == 0 ? 1 : -1;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: cannot read directory %s\n", path);
        return -1;
    }
    size_t n = 0, cap = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and hidden files such as .gitkeep */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n])
            break;
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    long ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i], timeout) != 0)
                ran = -1;
            else if (ran >= 0)
                ran++;
        }
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    const char *t = getenv("REPLAY_TIMEOUT");
    unsigned timeout = t && atoi(t) > 0 ? (unsigned)atoi(t) : 60;
    long rounds = 1;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        rounds = atol(argv[2]);
        first = 3;
    }
    if (first >= argc || rounds < 1) {
        fprintf(stderr, "usage: %s [-n rounds] file-or-directory...\n", argv[0]);
        return 2;
    }
    signal(SIGALRM, on_alarm);
    long total = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = first; i < argc; i++) {
            long k = run_path(argv[i], timeout);
            if (k < 0)
                return 1;
            total += k;
        }
    }
    printf("replay: %ld inputs ran, every check held\n", total);
    return 0;
}
