/* remote_impl.h - what the files of crew-remote share (internal).
 *
 * The protocol (keys, message layout, scripts, the delivery guarantee and
 * its proof sketch) is written up in README.md beside this file; the names
 * here follow it.  Files, by concern:
 *   opts.c          options: defaults, checks, the URL, key names, logging
 *   args.c          building a command's argument vector
 *   conn.c          one Redis connection: connect, AUTH, SELECT, replies
 *                   with deadlines, reconnect with backoff, scripts
 *   scripts.c       the Lua scripts (the atomic steps of the protocol)
 *   msg.c           encoding and decoding jobs and result records
 *   idmap.c         the client's table of jobs waiting for their result
 *   client.c        client: create, submit, cancel, destroy
 *   client_read.c   client: the result thread
 *   worker.c        worker: create, register, serve (the fetch loop), stop
 *   worker_run.c    worker: running a job on the pool, a task's output
 *   worker_commit.c worker: storing results with their acks, leases, retries
 *   worker_keep.c   worker: taking over expired jobs, dead letters, trimming
 *
 * Internal names start with crew__ (public ones with crew_remote_).
 */
#ifndef CREW_REMOTE_IMPL_H
#define CREW_REMOTE_IMPL_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crew.h"
#include "crew/remote.h"

/* Internal invariants, checked in Debug and sanitizer builds (a failure is
 * a bug in this module, never bad input: that gets a code). */
#if !defined(NDEBUG) || defined(CREW_SANITIZER_BUILD)
#define CREW__CHECK(cond) ((cond) ? (void)0 : crew__check_failed(#cond, __FILE__, __LINE__))
#else
#define CREW__CHECK(cond) ((void)0)
#endif
void crew__check_failed(const char *what, const char *file, int line) __attribute__((noreturn));

/* ---- limits of the message layout (README.md, "Messages") ------------- */
#define CREW__TASK_MAX 255    /* bytes of a task name */
#define CREW__QUEUE_MAX 64    /* bytes of a queue name */
#define CREW__CLIENT_MAX 64   /* bytes of a client id */
#define CREW__ID_MAX 48       /* a stream id as text: "<ms>-<seq>", two u64 */
#define CREW__RETRIES_MAX 1000
#define CREW__SEQ_MAX (((uint64_t)1 << 53) - 1) /* exact in the scripts' doubles */
#define CREW__GROUP "crew"    /* the consumer group of every queue */
#define CREW__SCRIPT_IDS 1000 /* ids (or jobs) per script call: Lua's unpack() limit */

/* ---- opts.c: options, URL, keys, log ----------------------------------- */

typedef struct crew__url {
    char *host;     /* TCP host, or NULL for a unix socket */
    int port;
    char *path;     /* unix socket path, or NULL */
    char *user;     /* ACL user, or NULL */
    char *password; /* or NULL */
    int db;
} crew__url;

/* Parses url into u (owned strings; crew__url_free).  0, CREW_EINVAL,
 * CREW_ENOMEM. */
int crew__url_parse(const char *url, crew__url *u);
void crew__url_free(crew__url *u);

/* The key names of one queue (README.md, "Keys"). */
typedef struct crew__keys {
    char jobs[CREW__QUEUE_MAX + 16];     /* crew:{Q}:jobs    stream of jobs */
    char dead[CREW__QUEUE_MAX + 16];     /* crew:{Q}:dead    dead letters */
    char delayed[CREW__QUEUE_MAX + 16];  /* crew:{Q}:delayed retries waiting */
    char keeper[CREW__QUEUE_MAX + 16];   /* crew:{Q}:keeper  housekeeping turn */
    char res_prefix[CREW__QUEUE_MAX + 16]; /* crew:{Q}:res:  + client id */
} crew__keys;

/* Fills in defaults for zero fields (o may be NULL), checks ranges and the
 * queue name, resolves the password (URL, option, environment) into u and
 * fills k.  0, CREW_EINVAL, CREW_ENOMEM. */
int crew__opts_resolve(const crew_remote_options *o, crew_remote_options *out, crew__url *u,
                       crew__keys *k);

/* Formats a line to the options' log hook (nothing if there is none). */
void crew__log(const crew_remote_options *o, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Is name a valid task name (1-255 bytes of '!'..'~')? */
bool crew__task_name_ok(const char *name, size_t len);

/* n random bytes as 2n lowercase hex digits + NUL into out. */
void crew__random_hex(char *out, size_t n);

/* Wall-clock milliseconds (retry due times are compared with Redis's TIME). */
int64_t crew__wall_ms(void);

/* ---- args.c: one command's arguments ----------------------------------- */

/* Arguments are either borrowed (pointer kept: must live until the command
 * is appended) or copied into the builder (numbers, short strings). */
typedef struct crew__args {
    size_t n, cap;
    const char **v;  /* a copied argument's v[i] is set by crew__args_done */
    size_t *len;
    size_t *off;
    char *arena;
    size_t used, room;
    bool oom;        /* an allocation failed: crew__args_done returns CREW_ENOMEM */
} crew__args;

void crew__args_init(crew__args *a);
void crew__args_free(crew__args *a);
void crew__args_reset(crew__args *a);
void crew__args_add(crew__args *a, const void *p, size_t len);   /* borrowed */
void crew__args_str(crew__args *a, const char *s);               /* borrowed, strlen */
void crew__args_copy(crew__args *a, const void *p, size_t len);  /* copied */
void crew__args_u64(crew__args *a, uint64_t x);                  /* copied, decimal */
void crew__args_i64(crew__args *a, int64_t x);
/* Resolves the copied arguments' pointers.  0 or CREW_ENOMEM. */
int crew__args_done(crew__args *a);

/* ---- conn.c: one connection -------------------------------------------- */

enum crew__script_id {
    CREW__S_COMMIT,  /* results + dead letters + retries, then XACK */
    CREW__S_RECLAIM, /* expired jobs: take over, or dead-letter */
    CREW__S_EXTEND,  /* renew the lease of held jobs still ours */
    CREW__S_CANCEL,  /* remove a job no worker has taken */
    CREW__S_PROMOTE, /* retries whose delay passed back into the stream */
    CREW__S_KEEP,    /* trim acknowledged jobs, remove dead consumers */
    CREW__S_GIVEBACK,/* held jobs never started: make them expire now */
    CREW__S_COUNT
};
extern const char *const crew__script_text[CREW__S_COUNT];

typedef struct crew__conn {
    redisContext *rc;                 /* NULL while down */
    const crew__url *url;
    const crew_remote_options *opts;
    const char *what;                 /* for the log: "client", "worker fetch" ... */
    char sha[CREW__S_COUNT][41];      /* loaded scripts' SHA1, "" until loaded */
    int64_t backoff_ns;               /* the next reconnection delay */
    atomic_uint_fast64_t connects;    /* successful connections so far (A: read by stats) */
    int last_error;                   /* the last connect's code */
} crew__conn;

void crew__conn_init(crew__conn *c, const crew__url *url, const crew_remote_options *o,
                     const char *what);
/* One attempt: connect, AUTH, SELECT, load the scripts.  0, CREW_ECONN,
 * CREW_EAUTH, CREW_EBROKER, CREW_ENOMEM.  Logs a reconnection. */
int crew__conn_open(crew__conn *c);
/* Reconnects until it works, a non-transient code (CREW_EAUTH), the
 * deadline (CREW_ECONN) or *stop (CREW_ESHUTDOWN), sleeping the backoff
 * (100 ms doubling to 2 s, with jitter) between attempts.  0 at once if up. */
int crew__conn_ensure(crew__conn *c, int64_t deadline_ns, const atomic_int *stop);
void crew__conn_drop(crew__conn *c);
/* Sleeps ns (in steps of at most 20 ms) or until *stop is set. */
void crew__nap(int64_t ns, const atomic_int *stop);
/* Appends a command to the output buffer (no I/O).  0, CREW_ENOMEM, CREW_ECONN. */
int crew__conn_append(crew__conn *c, crew__args *a);
/* Flushes and reads the next reply, waiting until deadline (monotonic ns)
 * or until wakefd (>= 0) becomes readable.  0 and *reply (an error reply
 * included); CREW_ECONN (I/O error or timeout: the connection is dropped);
 * CREW_ECANCELLED (woken: the connection is dropped, a reply was pending). */
int crew__conn_reply(crew__conn *c, redisReply **reply, int64_t deadline_ns, int wakefd);
/* Append + reply with the options' io timeout. */
int crew__conn_call(crew__conn *c, crew__args *a, redisReply **reply);
/* Appends EVALSHA of script id with keys/args already in a after the
 * placeholder arguments crew__script_begin put first. */
void crew__script_begin(crew__conn *c, crew__args *a, enum crew__script_id id, unsigned nkeys);
/* Runs a script built with crew__script_begin; reloads the scripts once on
 * NOSCRIPT.  Codes as crew__conn_call; an error reply is mapped by
 * crew__reply_code (the reply is freed then). */
int crew__script_call(crew__conn *c, crew__args *a, redisReply **reply);
/* The code of an error reply: CREW_EFULL (OOM), CREW_EAUTH (NOAUTH,
 * WRONGPASS, NOPERM), CREW_ECONN (LOADING, BUSY, MASTERDOWN, READONLY,
 * TRYAGAIN: transient, reconnect), CREW_EBROKER (anything else); 0 for a
 * reply that is not an error. */
int crew__reply_code(const redisReply *r);
/* Checks the server once connected: version >= 6.2, maxmemory-policy
 * noeviction (unless allow_eviction), persistence (warns, or CREW_ECONFIG
 * when required).  Logs what it found.  0, CREW_ECONFIG, CREW_ECONN. */
int crew__conn_check_server(crew__conn *c);
/* XGROUP CREATE <jobs> crew 0 MKSTREAM; an existing group is fine. */
int crew__conn_ensure_group(crew__conn *c, const crew__keys *k);

/* ---- msg.c: jobs and results ------------------------------------------- */

/* A job as a worker decoded it (README.md, "Messages"); strings point into
 * the reply it came from unless copied. */
typedef struct crew__job_fields {
    const char *task;
    size_t task_len;
    const char *client; /* NULL: fire-and-forget */
    size_t client_len;
    uint64_t seq;
    const char *payload;
    size_t payload_len;
    unsigned retries;    /* left */
    uint32_t backoff_ms;
    unsigned attempt;    /* runs before this one, by status failures */
    const char *err;     /* last failure, or NULL */
    size_t err_len;
} crew__job_fields;

/* Appends the XADD of one job to a: XADD <jobs> * t <task> [c <client>/<seq>]
 * p <payload> [o <retries>:<backoff>:<attempt>] [e <err>].  seq is ignored when
 * client is NULL. */
void crew__msg_job_args(crew__args *a, const char *jobs_key, const crew__job_fields *j);

/* Decodes one entry's field array (name, value, ...).  0 and *j; or a
 * CREW_E* code (CREW_EPROTO, CREW_ETOOBIG) with why filled (a sentence):
 * such a job is dead-lettered. */
int crew__msg_job_decode(const redisReply *fields, size_t max_payload, crew__job_fields *j,
                         char *why, size_t why_len);

/* Parses a reply address "<client>/<seq>" (the 'c' field).  true if good:
 * the client id is s[0..*client_len). */
bool crew__msg_reply_to(const char *s, size_t n, size_t *client_len, uint64_t *seq);

/* A result record: seq u64 LE | status i32 LE | len u32 LE | bytes. */
#define CREW__REC_HEAD 16
size_t crew__rec_put(unsigned char *dst, uint64_t seq, int32_t status, const void *b,
                     uint32_t len);
/* Decodes the record at *p (advancing it) within end.  0 or CREW_EPROTO. */
int crew__rec_get(const unsigned char **p, const unsigned char *end, uint64_t *seq,
                  int32_t *status, const unsigned char **b, uint32_t *len);

/* A msgpack array of byte strings (the retry set's members: README.md). */
typedef struct crew__buf {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} crew__buf;
void crew__buf_put(crew__buf *b, const void *p, size_t n);
void crew__buf_free(crew__buf *b);
void crew__mp_array(crew__buf *b, uint32_t n);
void crew__mp_str(crew__buf *b, const void *p, size_t n);

/* Parses "<ms>-<seq>" (a stream id).  true if well formed. */
bool crew__id_parse(const char *s, size_t len, uint64_t *ms, uint64_t *seq);

/* ---- idmap.c: u64 -> record, open addressing --------------------------- */

typedef struct crew__rec {
    uint64_t key;     /* 0: empty slot */
    crew_future *f;   /* for the by-seq table: the future; by-future: unused */
    uint64_t a, b;    /* by-seq: the stream id (ms, seq); by-future: a = seq */
} crew__rec;

typedef struct crew__idmap {
    crew__rec *slot;
    size_t mask;      /* capacity - 1 (a power of two) */
    size_t count;
} crew__idmap;

void crew__idmap_init(crew__idmap *m);
void crew__idmap_free(crew__idmap *m);
/* Inserts (key != 0, not present).  0 or CREW_ENOMEM. */
int crew__idmap_put(crew__idmap *m, const crew__rec *r);
crew__rec *crew__idmap_get(crew__idmap *m, uint64_t key);
/* Removes key; copies the record to *out if not NULL.  true if it was there. */
bool crew__idmap_del(crew__idmap *m, uint64_t key, crew__rec *out);
/* The validator: every key is found from its home slot (no hole in its
 * probe run) and count is the number of keys.  For tests and checks. */
bool crew__idmap_valid(const crew__idmap *m);

#endif
