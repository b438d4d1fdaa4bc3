/*
 * thread.c - the signal mask of the threads libhashgate and the wrappers
 * start (the parallel-digest helpers, nginx's hashing and verify threads).
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <pthread.h>
#include <signal.h>

#include "hashgate/thread.h"

void
hg_thread_block_signals(void)
{
    sigset_t  set;

    sigfillset(&set);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}
