/*
 * thread.h - what every thread libhashgate or a wrapper starts does first.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_THREAD_H
#define HASHGATE_THREAD_H

/*
 * Block every signal in the calling thread but the faults (SIGBUS,
 * SIGSEGV, SIGFPE, SIGILL): signals are the process's business (the
 * server's main thread handles them), while a fault must stay deliverable
 * where it happens, since the database guard turns a SIGBUS on a lookup
 * into zeros (db_guard.c); blocked, it would kill the process instead.
 */
void hg_thread_block_signals(void);

#endif
