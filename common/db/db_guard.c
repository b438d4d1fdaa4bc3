/*
 * db_guard.c - survive a database file truncated in place under a live
 * mapping.
 *
 * Servers map the database file itself. When someone rewrites that file in
 * place (cp over it, rsync --inplace, a download straight to the path)
 * instead of renaming a new file over it, the kernel takes away the pages
 * past the new end, and the next read of one kills the reading process
 * with SIGBUS: a milter down, an nginx worker gone mid-request. A process
 * that opts in (hg_db_guard_install) gets a SIGBUS handler instead: when
 * the faulting address lies in a mapped database, it maps anonymous zero
 * pages over the whole of that mapping and marks the handle lost, and the
 * faulting read is retried and sees zeros. Zeros are garbage the readers
 * already survive (every bound read from the mapping is clamped), the
 * handle reports hg_db_lost(), and hg_scan_end turns that into an error,
 * so the caller's fail mode applies instead of a crash.
 *
 * Mappings are registered in a fixed table the handler can walk without
 * locks or allocation. A mapping that finds the table full is simply not
 * guarded (it behaves as before). A SIGBUS outside every registered
 * mapping goes to the handler that was installed before ours, or, if that
 * was the default, kills the process as it would have.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "db/db_format.h"
#include "hashgate/db.h"

/*
 * Mappings alive at once in one process: the current database and the old
 * ones still held by messages or requests that began before a reload. A
 * server reloading every few seconds under slow mail stays far below.
 */
#define HG_DB_GUARD_SLOTS  64

typedef struct {
    _Atomic uintptr_t  base;        /* 0: free */
    _Atomic size_t     len;
    _Atomic(hg_db_t *) db;
} hg_guard_slot_t;

static hg_guard_slot_t    slots[HG_DB_GUARD_SLOTS];
static atomic_int         installed;
static struct sigaction   previous;

static void
_hg_guard_handler(int sig, siginfo_t *si, void *uc)
{
    uintptr_t  addr = (uintptr_t) si->si_addr, base;
    size_t     len;
    hg_db_t   *db;
    int        i;

    for (i = 0; i < HG_DB_GUARD_SLOTS; i++) {
        base = atomic_load_explicit(&slots[i].base, memory_order_acquire);
        if (base <= 1 || addr < base) {      /* 1: being filled */
            continue;
        }
        len = atomic_load_explicit(&slots[i].len, memory_order_relaxed);
        if (addr - base >= len) {
            continue;
        }
        /* only a thread holding a reference reads the mapping, so the
         * handle outlives this handler */
        db = atomic_load_explicit(&slots[i].db, memory_order_relaxed);
        if (mmap((void *) base, len, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
            == MAP_FAILED)
        {
            break;
        }
        atomic_store_explicit(&db->lost, 1, memory_order_release);
        return;
    }

    /* not a database page: what would have happened without us */
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != NULL) {
        previous.sa_sigaction(sig, si, uc);
        return;
    }
    if (!(previous.sa_flags & SA_SIGINFO)
        && previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN)
    {
        previous.sa_handler(sig);
        return;
    }
    /* default action: die of SIGBUS, with a core if so configured; the
     * signal stays blocked until we return, then kills */
    signal(sig, SIG_DFL);
    raise(sig);
}

hg_status_t
hg_db_guard_install(hg_err_t *err)
{
    struct sigaction  sa;
    int               expected = 0;

    if (!atomic_compare_exchange_strong(&installed, &expected, 1)) {
        return HG_OK;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = _hg_guard_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) != 0) {
        atomic_store(&installed, 0);
        return hg_err_sys(err, HG_EIO, "cannot install the SIGBUS handler");
    }
    return HG_OK;
}

void
hg_db_guard_add(hg_db_t *db)
{
    uintptr_t  expected;
    int        i;

    db->guard_slot = -1;
    if (!atomic_load(&installed)) {
        return;
    }
    for (i = 0; i < HG_DB_GUARD_SLOTS; i++) {
        expected = 0;
        /* claim the slot with a base nobody can fault on (1), fill it,
         * then publish the real base */
        if (atomic_compare_exchange_strong(&slots[i].base, &expected, 1)) {
            atomic_store_explicit(&slots[i].db, db, memory_order_relaxed);
            atomic_store_explicit(&slots[i].len, db->size,
                                  memory_order_relaxed);
            atomic_store_explicit(&slots[i].base, (uintptr_t) db->base,
                                  memory_order_release);
            db->guard_slot = i;
            return;
        }
    }
}

void
hg_db_guard_remove(hg_db_t *db)
{
    if (db->guard_slot >= 0) {
        atomic_store_explicit(&slots[db->guard_slot].base, 0,
                              memory_order_release);
        db->guard_slot = -1;
    }
}

int
hg_db_lost(const hg_db_t *db)
{
    return db != NULL
           && atomic_load_explicit(&db->lost, memory_order_acquire) != 0;
}
