/*
 * sandbox.h - how hashgate-inspect shuts itself in before it reads any
 * request: process attributes, resource limits, the seccomp allow-list.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HG_INSPECT_SANDBOX_H
#define HG_INSPECT_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The socket to the caller (client.c puts it there). */
#define HG_SANDBOX_SOCK         3

/* RLIMIT_NOFILE: 0-2, the socket, one container, room for a stray one. */
#define HG_SANDBOX_NOFILE       8

/*
 * RLIMIT_CPU, seconds, for the helper's whole life: a backstop for a
 * helper spinning after its caller is gone (the caller's wall-clock limit
 * stops it long before, while there is a caller). The limit counts every
 * request a long-lived helper has served, so the helper retires (the
 * caller starts a fresh one) once it has used HG_SANDBOX_CPU_RETIRE:
 * every request then starts with at least that much left.
 */
#define HG_SANDBOX_CPU_LIMIT    600
#define HG_SANDBOX_CPU_RETIRE   300

/*
 * Before anything else: die with the caller (when pdeath_pid > 0, the
 * process that started us, from its main thread), no core dumps, no
 * ptrace attach by the same user, descriptors 0-2 open (on /dev/null when
 * the caller left them closed) and nothing above the socket. Returns 0, or
 * -1 with why.
 */
int hg_sandbox_early(pid_t pdeath_pid, char *why, size_t len);

/* The resource limits; memory is RLIMIT_AS in bytes. */
int hg_sandbox_limits(uint64_t memory, char *why, size_t len);

/* Load the seccomp filter. After it, only the allow-list runs. */
int hg_sandbox_filter(char *why, size_t len);

#endif
