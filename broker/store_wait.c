/*
 * broker/store_wait: an admin request waiting for its metadata-store changes.
 *
 * CreateTopics, DeleteTopics, CreatePartitions and the config APIs send one
 * change per resource to the store (broker/mstore.h), which may finish them
 * before returning (files) or later (etcd). The request counts what is
 * outstanding and is answered when the count reaches zero: at once when
 * everything finished inline, else from the last callback. The wait is on
 * the heap, not in the request's arena, because the callbacks may outlive
 * the request: when the connection closes meanwhile, the wait forgets the
 * request and only counts down.
 */
#include <stdlib.h>

#include "broker/broker.h"

struct broker_store_wait_s {
    broker_req_t *req; /* NULL once its connection closed */
    broker_store_fill_fn fill;
    int32_t pending; /* changes outstanding, plus one until broker_store_wait_end */
    bool parked;
    broker_store_slot_t slots[];
};

broker_store_wait_t *broker_store_wait_new(broker_req_t *req, int32_t nslots, broker_store_fill_fn fill)
{
    broker_store_wait_t *w = malloc(sizeof(*w) + sizeof(w->slots[0]) * (size_t)(nslots > 0 ? nslots : 0));
    if (!w)
        return NULL;
    w->req = req;
    w->fill = fill;
    w->pending = 1;
    w->parked = false;
    for (int32_t i = 0; i < nslots; i++)
        w->slots[i] = (broker_store_slot_t){w, i};
    return w;
}

void *broker_store_wait_slot(broker_store_wait_t *w, int32_t index)
{
    w->pending++;
    return &w->slots[index];
}

static void store_wait_release(broker_store_wait_t *w)
{
    if (--w->pending > 0)
        return;
    broker_req_t *req = w->req;
    bool parked = w->parked;
    free(w);
    if (req && parked)
        broker_req_finish(req, BROKER_RESPOND);
}

void broker_store_wait_done(void *arg, int16_t err, const char *errmsg)
{
    broker_store_slot_t *slot = arg;
    broker_store_wait_t *w = slot->w;
    if (w->req)
        w->fill(w->req, slot->index, err, errmsg);
    store_wait_release(w);
}

static void store_wait_cancel(broker_req_t *req)
{
    broker_store_wait_t *w = req->park_state;
    w->req = NULL;
}

broker_result_t broker_store_wait_end(broker_store_wait_t *w)
{
    if (w->pending == 1) {
        free(w);
        return BROKER_RESPOND;
    }
    w->pending--;
    w->parked = true;
    w->req->park_state = w;
    w->req->cancel = store_wait_cancel;
    return BROKER_PARKED;
}
