/*
 * broker/conn: accepting, reading, framing and answering one connection.
 * The types live in broker/broker.h; this header holds the entry points the
 * server uses.
 */
#ifndef EDDY_BROKER_CONN_H
#define EDDY_BROKER_CONN_H

#include "broker/broker.h"

/* The listener's readiness callback: accepts what is pending. */
void broker_conn_on_listener(uv_poll_t *h, int status, int events);
/* Takes over fd, a connection accepted from addr (its peer): admits it or closes it. */
int broker_conn_accept(broker_t *broker, int fd, const struct sockaddr *addr);
/* Closes the connection (once); why is logged when not NULL. */
void broker_conn_close(broker_conn_t *conn, const char *why);
/* Starts the sweep that enforces connections.max.idle.ms (after broker_init, on the broker's loop). */
void broker_conn_limits_start(broker_t *broker);
/* Closes the limit timers (shutdown). */
void broker_conn_limits_stop(broker_t *broker, uv_close_cb on_closed);
/* Answers the request in flight with result and goes on with the connection's next frame (park.c). */
void broker_conn_request_done(broker_conn_t *conn, broker_result_t result);

/* Admission (broker/admit.c): counts conn against host; false when the host is at its limit. */
bool broker_admit_host(broker_conn_t *conn, const char *host);
/* Gives conn's count back (at close). */
void broker_admit_release(broker_conn_t *conn);
/* Frees the per-host connection counts (after the loop ended). */
void broker_admit_fini(broker_t *broker);

#endif
