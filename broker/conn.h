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
/* Frees the per-host connection counts (after the loop ended). */
void broker_conn_limits_fini(broker_t *broker);

#endif
