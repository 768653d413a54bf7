/*
 * spawn.h - starting one job's process.
 *
 * Jobs start with posix_spawn (glibc's clones with CLONE_VFORK: no page
 * tables are copied, the cheapest way to start a process), each in a process
 * group of its own so the whole job tree can be signalled with one kill(),
 * with standard input from /dev/null, standard output and error on the
 * job's pipes, the signal mask and dispositions crew found at startup, and
 * PARALLEL_SEQ / PARALLEL_JOBSLOT / PARALLEL_PID in the environment (as
 * parallel sets them).  A program that exists but is not an executable
 * format (a script without #!) is run by /bin/sh, as execvp does.
 */
#ifndef CREW_CLI_SPAWN_H
#define CREW_CLI_SPAWN_H

#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>

struct spawner {
    posix_spawnattr_t attr;
    int devnull;
    char **envp;      /* crew's environment + the three PARALLEL_* entries */
    size_t nenv;
    char seqvar[48], slotvar[48], pidvar[48];
};

/* child_mask: the signal mask jobs start with. */
int spawner_init(struct spawner *s, const sigset_t *child_mask);
void spawner_free(struct spawner *s);

/* Starts path with argv.  out and err are the write ends of the job's
 * pipes, or -1 to leave crew's own stdout/stderr (-u).  Returns 0 with *pid,
 * or an errno if the program could not be started (nothing runs then). */
int spawner_run(struct spawner *s, const char *path, char *const argv[], int out, int err,
                uint64_t seq, unsigned slot, pid_t *pid);

/* Looks name up in PATH once (names with a '/' are kept as they are).
 * Returns a new string, or NULL with *err = ENOENT or EACCES. */
char *resolve_program(const char *name, int *err);

#endif /* CREW_CLI_SPAWN_H */
