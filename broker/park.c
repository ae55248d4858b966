/*
 * broker/park: requests that wait. A handler that cannot answer yet parks
 * its request on one of the broker's three lists, by what can complete it —
 * data (an append or a transaction marker: long-poll Fetch), an fsync
 * (durable Produce and OffsetCommit) or a high watermark passing its
 * offsets (acks=all Produce waiting for followers; the replica layer says
 * when the HW advanced, broker_wake_replicated) — with a deadline on its
 * connection's timer. A request that waits for two things (a durable
 * acks=all Produce) parks for one, and its resume parks it again for the
 * other: it moves lists, keeping its deadline. A wake of that kind offers every request on the list a chance to
 * complete; the timer completes it with whatever is there. Past
 * eddy.max.parked.fetches a Fetch's deadline is now (answered on the next
 * loop turn with what is there). JoinGroup and
 * SyncGroup wait inside the group coordinator instead and only borrow the
 * finish and cancel here.
 *
 * It owns the lists and their counts, not the connection: a finished
 * request goes back to conn.c (broker_conn_request_done), which answers it
 * and goes on with the connection's next frame. A connection that closes
 * cancels its request here (broker_req_cancel), so conn.c needs no
 * knowledge of who the request waited for.
 */
#include "broker/broker.h"
#include "broker/conn.h"

static broker_parked_t *park_list(broker_t *broker, broker_wait_t kind)
{
    switch (kind) {
    case BROKER_WAIT_FLUSH: return &broker->parked_flush;
    case BROKER_WAIT_REPLICAS: return &broker->parked_replicas;
    default: return &broker->parked;
    }
}

static void park_unlink(broker_req_t *req)
{
    if (!req->parked)
        return;
    list_remove(&req->park_node);
    req->parked = false;
    req->broker->mem.nparked--;
    if (req->parked_fetch) {
        req->parked_fetch = false;
        req->broker->mem.nparked_fetches--;
    }
}

static void park_on_timer(uv_timer_t *t)
{
    broker_conn_t *conn = t->data;
    broker_req_t *req = &conn->req;
    if (!req->parked)
        return;
    broker_result_t r = req->resume(req, true);
    if (r == BROKER_PARKED) /* past its deadline a request may not wait on with no timer */
        r = BROKER_CLOSE;
    broker_req_finish(req, r);
}

void broker_req_park(broker_req_t *req, broker_wait_t kind, broker_resume_fn resume, void *state, int64_t deadline_ms)
{
    broker_t *broker = req->broker;
    req->resume = resume;
    req->park_state = state;
    if (req->parked && req->park_kind != kind) {
        /* From its resume, during a wake of the old kind: that wake has already put the node back on its
         * list and touches it no more, so moving it is safe. */
        list_remove(&req->park_node);
        list_insert_tail(&park_list(broker, kind)->list, &req->park_node);
        req->park_kind = kind;
    }
    if (!req->parked) {
        list_insert_tail(&park_list(broker, kind)->list, &req->park_node);
        req->parked = true;
        req->park_kind = kind;
        broker->mem.nparked++;
        if (req->api && req->api->key == PROTO_API_FETCH) {
            /* Past the bound a long poll is cut short: answered on the next loop turn with what is there. */
            if (broker->mem.nparked_fetches >= broker->cfg->max_parked_fetches)
                deadline_ms = (int64_t)uv_now(broker->loop);
            req->parked_fetch = true;
            broker->mem.nparked_fetches++;
        }
    }
    req->deadline_ms = deadline_ms;
    int64_t delay = deadline_ms - (int64_t)uv_now(broker->loop);
    uv_timer_start(&req->conn->timer, park_on_timer, delay > 0 ? (uint64_t)delay : 0, 0);
}

void broker_req_finish(broker_req_t *req, broker_result_t result)
{
    broker_conn_t *conn = req->conn;
    park_unlink(req);
    uv_timer_stop(&conn->timer);
    req->cancel = NULL;
    broker_conn_request_done(conn, result);
}

void broker_req_cancel(broker_req_t *req)
{
    park_unlink(req);
    broker_req_cancel_fn cancel = req->cancel;
    req->cancel = NULL;
    if (cancel)
        cancel(req);
}

/*
 * Finishing one parked request lets its connection run the next one, which
 * may append (and wake parked requests) or park: so this is re-entered. A
 * nested call for the same kind only asks the outer one to go round again,
 * and the outer one works from a private list, putting each request back on
 * its kind's list before resuming it, so nothing it holds is freed or moved
 * under it.
 */
static void park_resume_kind(broker_parked_t *pk, bool timed_out)
{
    if (pk->waking) {
        pk->wake_again = true;
        return;
    }
    pk->waking = true;
    do {
        pk->wake_again = false;
        list_t round;
        list_init(&round);
        while (!list_empty(&pk->list)) {
            list_t *node = pk->list.next;
            list_remove(node);
            list_insert_tail(&round, node);
        }
        while (!list_empty(&round)) {
            list_t *node = round.next;
            list_remove(node);
            list_insert_tail(&pk->list, node);
            broker_req_t *req = list_entry(node, broker_req_t, park_node);
            broker_result_t r = req->resume(req, timed_out);
            if (timed_out && r == BROKER_PARKED)
                r = BROKER_CLOSE;
            if (r != BROKER_PARKED)
                broker_req_finish(req, r);
        }
    } while (pk->wake_again);
    pk->waking = false;
}

void broker_resume_parked(broker_t *broker, bool timed_out)
{
    park_resume_kind(&broker->parked, timed_out);
    park_resume_kind(&broker->parked_flush, timed_out);
    park_resume_kind(&broker->parked_replicas, timed_out);
}

void broker_wake_parked(broker_t *broker)
{
    park_resume_kind(&broker->parked, false);
}

void broker_wake_flushed(broker_t *broker)
{
    park_resume_kind(&broker->parked_flush, false);
}

void broker_wake_replicated(broker_t *broker)
{
    park_resume_kind(&broker->parked_replicas, false);
}
