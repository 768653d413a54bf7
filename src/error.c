/* error.c - crew_strerror, crew_err_name and the monotonic clock. */
#include "crew/error.h"

#include <time.h>

struct crew__error_text {
    const char *name;
    const char *text;
};

/* Indexed by -code. */
static const struct crew__error_text crew__errors[CREW_ERROR_COUNT_] = {
    {"CREW_OK", "success"},
    {"CREW_EINVAL", "invalid argument"},
    {"CREW_ENOMEM", "out of memory"},
    {"CREW_EEMPTY", "queue is empty"},
    {"CREW_EFULL", "queue is full"},
    {"CREW_ETIMEDOUT", "timed out"},
    {"CREW_ESHUTDOWN", "shut down"},
    {"CREW_EBUSY", "threads are still blocked on the object"},
    {"CREW_ECANCELLED", "cancelled"},
    {"CREW_EBROKEN", "pool is broken: a worker initializer failed"},
    {"CREW_EFORKED", "object was created before fork() in the parent process"},
    {"CREW_ETHREAD", "could not create a thread"},
    {"CREW_ETOOMANY", "task_done() called more times than items were put"},
    {"CREW_EPENDING", "not finished yet"},
    {"CREW_ETASK", "the task returned an error"},
    {"CREW_EDEADLK", "the call would wait for itself"},
};

const char *crew_strerror(int code)
{
    if (code > 0 || code <= -CREW_ERROR_COUNT_)
        return "unknown crew error";
    return crew__errors[-code].text;
}

const char *crew_err_name(int code)
{
    if (code > 0 || code <= -CREW_ERROR_COUNT_)
        return "CREW_E?";
    return crew__errors[-code].name;
}

int64_t crew_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
