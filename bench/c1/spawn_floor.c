/*
 * spawn_floor.c - C1's floor: the cheapest way to run N jobs of a program
 * one after another, a bare posix_spawn + waitpid loop with nothing else
 * (no pipes, no bookkeeping).  Whatever a job runner adds is measured
 * against this.
 *
 *   spawn_floor N [program]     (default program: true, looked up in PATH once)
 *
 * Prints "ms_total ms_per_job" on stderr (stdout is the jobs'); exits
 * non-zero if a job failed or could not be started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* PATH lookup, once, as the job runners do. */
static char *lookup(const char *name, char *buf, size_t size)
{
    if (strchr(name, '/'))
        return (char *)name;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(buf, size, "%.*s/%s", (int)len, path, name);
        if (access(buf, X_OK) == 0)
            return buf;
        path += len + (path[len] == ':');
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
    const char *prog = argc > 2 ? argv[2] : "true";
    char buf[4096];
    char *path = lookup(prog, buf, sizeof buf);
    if (n < 1 || !path) {
        fprintf(stderr, "usage: spawn_floor N [program]  (program must be in PATH)\n");
        return 2;
    }
    char *args[] = {(char *)prog, NULL};
    double t0 = now_ms();
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int rc = posix_spawn(&pid, path, NULL, NULL, args, environ);
        if (rc != 0) {
            fprintf(stderr, "spawn_floor: %s: %s\n", path, strerror(rc));
            return 1;
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                return 1;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    double ms = now_ms() - t0;
    fprintf(stderr, "%.3f %.6f\n", ms, ms / (double)n);
    return 0;
}
