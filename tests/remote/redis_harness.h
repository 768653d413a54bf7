/* redis_harness.h - a private redis-server for crew-remote's tests, and
 * crew-worker processes beside it.
 *
 * rh_start writes a config into a fresh temporary directory (unix socket
 * there, or a free port on 127.0.0.1 only; appendonly yes; noeviction;
 * optionally requirepass and an ACL user), starts redis-server on it and
 * waits until it answers.  The server dies with the test: the child asks
 * the kernel for SIGKILL when its parent exits (PR_SET_PDEATHSIG), and an
 * atexit handler stops every server still running, by PID, and removes its
 * directory.  Nothing but loopback and unix sockets is ever touched.
 *
 * A test calls rh_require() first: without redis-server installed it
 * prints why and exits with RH_SKIP (ctest's SKIP_RETURN_CODE).
 */
#ifndef CREW_TESTS_REDIS_HARNESS_H
#define CREW_TESTS_REDIS_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RH_SKIP 77

typedef struct rh_opts {
    const char *password; /* requirepass, or NULL */
    bool fsync_always;    /* appendfsync always (else everysec) */
    bool tcp;             /* listen on a free port of 127.0.0.1 too */
    const char *acl_user; /* an extra `user` line for the config, or NULL */
    const char *policy;   /* maxmemory-policy, "noeviction" if NULL */
} rh_opts;

typedef struct rh_server {
    pid_t pid;          /* 0 when not running */
    char dir[128];
    char sock[192];
    char conf[192];
    int port;           /* 0 unless tcp */
    char url[256];      /* unix socket URL */
    char tcp_url[256];  /* redis://127.0.0.1:<port> when tcp */
    rh_opts o;
} rh_server;

static rh_server *rh_all_[8];

static inline bool rh_have(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[512];
    for (const char *p = path; *p;) {
        const char *c = strchr(p, ':');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return true;
        p += n + (c != NULL);
    }
    return access("/usr/bin/redis-server", X_OK) == 0 && !strcmp(prog, "redis-server");
}

static inline void rh_require(void)
{
    if (!rh_have("redis-server")) {
        printf("SKIP: redis-server is not installed (Debian: redis-server); "
               "crew-remote's integration tests need it\n");
        exit(RH_SKIP);
    }
}

static inline void rh_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline int64_t rh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kills the server with sig and reaps it. */
static inline void rh_kill(rh_server *s, int sig)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, sig);
    int64_t end = rh_now_ms() + 10000;
    while (waitpid(s->pid, NULL, WNOHANG) == 0) {
        if (rh_now_ms() > end) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            break;
        }
        rh_nap_ms(5);
    }
    s->pid = 0;
}

static inline int rh_rm_(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* Stops the server (SIGTERM: it writes its AOF and exits) and removes its
 * directory. */
static inline void rh_destroy(rh_server *s)
{
    rh_kill(s, SIGTERM);
    if (s->dir[0])
        nftw(s->dir, rh_rm_, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
    for (int i = 0; i < 8; i++)
        if (rh_all_[i] == s)
            rh_all_[i] = NULL;
}

static inline void rh_atexit_(void)
{
    for (int i = 0; i < 8; i++)
        if (rh_all_[i])
            rh_destroy(rh_all_[i]);
}

static inline redisContext *rh_connect_quiet_(const rh_server *s)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectUnixWithTimeout(s->sock, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    if (s->o.password) {
        redisReply *r = redisCommand(c, "AUTH %s", s->o.password);
        bool ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

/* A plain hiredis connection to the server (authenticated), for tests that
 * look at or write raw keys.  NULL on failure. */
static inline redisContext *rh_connect(const rh_server *s)
{
    redisContext *c = rh_connect_quiet_(s);
    if (!c)
        fprintf(stderr, "rh_connect: cannot connect to %s\n", s->sock);
    return c;
}

/* (Re)starts redis-server on the server's config; waits until it answers
 * PING (up to 20 s: it may be replaying its AOF).  0 or -1. */
static inline int rh_spawn(rh_server *s)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        execlp("redis-server", "redis-server", s->conf, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    int64_t end = rh_now_ms() + 20000;
    while (rh_now_ms() < end) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "rh_spawn: redis-server exited; see %s/redis.log\n", s->dir);
            s->pid = 0;
            return -1;
        }
        redisContext *c = rh_connect_quiet_(s);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 0;
        }
        rh_nap_ms(10);
    }
    fprintf(stderr, "rh_spawn: redis-server did not answer in 20 s\n");
    rh_kill(s, SIGKILL);
    return -1;
}

/* A free TCP port on 127.0.0.1 (the kernel's choice), or 0. */
static inline int rh_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Creates the directory and config, starts the server.  0 or -1. */
static inline int rh_start(rh_server *s, const rh_opts *o)
{
    memset(s, 0, sizeof *s);
    if (o)
        s->o = *o;
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/crew-redis-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
    snprintf(s->conf, sizeof s->conf, "%s/redis.conf", s->dir);
    snprintf(s->url, sizeof s->url, "unix://%s", s->sock);
    if (s->o.tcp) {
        s->port = rh_free_port();
        snprintf(s->tcp_url, sizeof s->tcp_url, "redis://127.0.0.1:%d", s->port);
    }
    FILE *f = fopen(s->conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "port %d\nbind 127.0.0.1\nprotected-mode yes\nunixsocket %s\nunixsocketperm 700\n"
            "dir %s\nlogfile %s/redis.log\ndaemonize no\nsave \"\"\n"
            "appendonly yes\nappendfsync %s\nmaxmemory-policy %s\ndatabases 4\n",
            s->o.tcp ? s->port : 0, s->sock, s->dir, s->dir,
            s->o.fsync_always ? "always" : "everysec", s->o.policy ? s->o.policy : "noeviction");
    if (s->o.password)
        fprintf(f, "requirepass \"%s\"\n", s->o.password);
    if (s->o.acl_user)
        fprintf(f, "%s\n", s->o.acl_user);
    fclose(f);
    static bool registered;
    if (!registered) {
        atexit(rh_atexit_);
        registered = true;
    }
    for (int i = 0; i < 8; i++)
        if (!rh_all_[i]) {
            rh_all_[i] = s;
            break;
        }
    return rh_spawn(s);
}

/* ---- raw commands for tests -------------------------------------------------- */

/* An integer reply of a command (-1 on error). */
static inline long long rh_int(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

/* The number of pending entries of stream key's group "crew" (-1 on error). */
static inline long long rh_pending(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "XPENDING %s crew", key);
    long long v = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                          r->element[0]->type == REDIS_REPLY_INTEGER
                      ? r->element[0]->integer
                      : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

/* ---- crew-worker processes ------------------------------------------------------ */

/* Starts crew-worker (CREW_WORKER_PATH) with url and the NULL-terminated
 * extra arguments; password (or NULL) through CREW_REDIS_PASSWORD.  It dies
 * with the test.  The pid, or -1. */
static inline pid_t rh_worker(const char *url, const char *password, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = CREW_WORKER_PATH;
    argv[n++] = "-u";
    argv[n++] = url;
    va_list ap;
    va_start(ap, password);
    const char *a;
    while (n < 31 && (a = va_arg(ap, const char *)))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (password)
            setenv("CREW_REDIS_PASSWORD", password, 1);
        else
            unsetenv("CREW_REDIS_PASSWORD");
        execv(CREW_WORKER_PATH, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Waits up to ms for pid; its exit status (as waitpid's), or -1 if it is
 * still running. */
static inline int rh_wait_pid(pid_t pid, long ms)
{
    int64_t end = rh_now_ms() + ms;
    int st;
    do {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -1;
        rh_nap_ms(5);
    } while (rh_now_ms() < end);
    return -1;
}

/* Kills a worker process with sig and reaps it. */
static inline void rh_kill_pid(pid_t pid, int sig)
{
    if (pid <= 0)
        return;
    kill(pid, sig);
    if (rh_wait_pid(pid, 10000) == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

#endif
