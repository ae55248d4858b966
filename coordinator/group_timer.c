/*
 * coordinator/group_timer: one binary min-heap holding every deadline of the
 * group coordinator (sessions, pending member ids, rebalance and sync
 * deadlines, offsets retention). Timers are embedded in their owners and
 * remember their heap position, so re-arming and disarming are O(log n)
 * without searching. The heap owns only its array of pointers.
 */
#include <stdlib.h>

#include "base/diag.h"
#include "coordinator/group_internal.h"

void gtimer_init(gtimer_t *t, gtimer_kind_t kind, void *owner)
{
    t->deadline = 0;
    t->idx = -1;
    t->kind = kind;
    t->owner = owner;
}

static void heap_set(gheap_t *h, int32_t i, gtimer_t *t)
{
    h->items[i] = t;
    t->idx = i;
}

static void sift_up(gheap_t *h, int32_t i)
{
    gtimer_t *t = h->items[i];
    while (i > 0) {
        int32_t parent = (i - 1) / 2;
        if (h->items[parent]->deadline <= t->deadline)
            break;
        heap_set(h, i, h->items[parent]);
        i = parent;
    }
    heap_set(h, i, t);
}

static void sift_down(gheap_t *h, int32_t i)
{
    gtimer_t *t = h->items[i];
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = t->deadline;
        if (l < h->n && h->items[l]->deadline < best) {
            m = l;
            best = h->items[l]->deadline;
        }
        if (r < h->n && h->items[r]->deadline < best)
            m = r;
        if (m == i)
            break;
        heap_set(h, i, h->items[m]);
        i = m;
    }
    heap_set(h, i, t);
}

void gheap_arm(gheap_t *h, gtimer_t *t, int64_t deadline)
{
    if (t->idx >= 0) {
        int64_t old = t->deadline;
        t->deadline = deadline;
        if (deadline < old)
            sift_up(h, t->idx);
        else
            sift_down(h, t->idx);
        return;
    }
    if (h->n == h->cap) {
        int32_t cap = h->cap ? h->cap * 2 : 64;
        gtimer_t **items = realloc(h->items, (size_t)cap * sizeof(*items));
        DIAG_ASSERT(items != NULL);
        h->items = items;
        h->cap = cap;
    }
    t->deadline = deadline;
    heap_set(h, h->n++, t);
    sift_up(h, t->idx);
}

void gheap_disarm(gheap_t *h, gtimer_t *t)
{
    if (t->idx < 0)
        return;
    int32_t i = t->idx;
    DIAG_ASSERT(i < h->n && h->items[i] == t);
    t->idx = -1;
    h->n--;
    if (i == h->n)
        return;
    gtimer_t *last = h->items[h->n];
    heap_set(h, i, last);
    if (i > 0 && h->items[(i - 1) / 2]->deadline > last->deadline)
        sift_up(h, i);
    else
        sift_down(h, i);
}

gtimer_t *gheap_top(const gheap_t *h)
{
    return h->n > 0 ? h->items[0] : NULL;
}

void gheap_fini(gheap_t *h)
{
    for (int32_t i = 0; i < h->n; i++)
        h->items[i]->idx = -1;
    free(h->items);
    h->items = NULL;
    h->n = h->cap = 0;
}
