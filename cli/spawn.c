/*
 * spawn.c - starting a job's process with posix_spawn (see spawn.h).
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

static bool is_parallel_var(const char *e)
{
    return strncmp(e, "PARALLEL_SEQ=", 13) == 0 || strncmp(e, "PARALLEL_JOBSLOT=", 17) == 0 ||
           strncmp(e, "PARALLEL_PID=", 13) == 0;
}

int spawner_init(struct spawner *s, const sigset_t *child_mask)
{
    memset(s, 0, sizeof *s);
    s->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->devnull < 0)
        return errno;
    int rc = posix_spawnattr_init(&s->attr);
    if (rc != 0)
        return rc;
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE); /* crew ignores it; jobs must not */
    posix_spawnattr_setsigdefault(&s->attr, &dflt);
    posix_spawnattr_setsigmask(&s->attr, child_mask);
    posix_spawnattr_setpgroup(&s->attr, 0);
    posix_spawnattr_setflags(&s->attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF);

    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    s->envp = xcalloc(n + 4, sizeof *s->envp);
    for (char **e = environ; e && *e; e++)
        if (!is_parallel_var(*e))
            s->envp[s->nenv++] = *e;
    snprintf(s->pidvar, sizeof s->pidvar, "PARALLEL_PID=%ld", (long)getpid());
    s->envp[s->nenv] = s->seqvar;
    s->envp[s->nenv + 1] = s->slotvar;
    s->envp[s->nenv + 2] = s->pidvar;
    s->envp[s->nenv + 3] = NULL;
    return 0;
}

void spawner_free(struct spawner *s)
{
    posix_spawnattr_destroy(&s->attr);
    if (s->devnull >= 0)
        close(s->devnull);
    free(s->envp);
    s->envp = NULL;
    s->devnull = -1;
}

int spawner_run(struct spawner *s, const char *path, char *const argv[], int out, int err,
                uint64_t seq, unsigned slot, pid_t *pid)
{
    /* The environment strings are read by the child before spawn returns
     * (CLONE_VFORK), so rewriting them for the next job is safe. */
    snprintf(s->seqvar, sizeof s->seqvar, "PARALLEL_SEQ=%llu", (unsigned long long)seq);
    snprintf(s->slotvar, sizeof s->slotvar, "PARALLEL_JOBSLOT=%u", slot);
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return rc;
    rc = posix_spawn_file_actions_adddup2(&fa, s->devnull, 0);
    if (rc == 0 && out >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out, 1);
    if (rc == 0 && err >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, err, 2);
    if (rc == 0)
        rc = posix_spawn(pid, path, &fa, &s->attr, argv, s->envp);
    if (rc == ENOEXEC) {
        /* No #! line: let the shell run it, as execvp does. */
        size_t n = 0;
        while (argv[n])
            n++;
        char **sh = xcalloc(n + 2, sizeof *sh);
        sh[0] = "sh";
        sh[1] = (char *)path;
        for (size_t i = 1; i < n; i++)
            sh[i + 1] = argv[i];
        rc = posix_spawn(pid, "/bin/sh", &fa, &s->attr, sh, s->envp);
        free(sh);
    }
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

char *resolve_program(const char *name, int *err)
{
    if (strchr(name, '/'))
        return xstrdup(name);
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    *err = ENOENT;
    struct strbuf b = {0};
    const char *p = path;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        sb_reset(&b);
        if (len == 0)
            sb_addc(&b, '.'); /* an empty PATH entry is the current directory */
        else
            sb_add(&b, p, len);
        sb_addc(&b, '/');
        sb_adds(&b, name);
        struct stat st;
        if (stat(b.s, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(b.s, X_OK) == 0)
                return b.s;
            *err = EACCES;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    sb_free(&b);
    return NULL;
}
