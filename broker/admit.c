/*
 * broker/admit: which new connections the broker takes — max.connections
 * and max.connections.per.ip (with max.connections.per.ip.overrides, a
 * "host:count,..." list). It owns the per-host counts (broker->conns_by_ip);
 * conn.c asks at accept and releases at close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/conn.h"

struct broker_conn_ip_s {
    int count;
    char host[48]; /* the map key */
};

/* The limit for host: its entry in max.connections.per.ip.overrides ("host:count,..."), else the default. */
static int32_t admit_limit(const broker_config_t *cfg, const char *host)
{
    const char *p = cfg->max_connections_per_ip_overrides;
    size_t hl = strlen(host);
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = NULL; /* the last one: IPv6 hosts have colons of their own */
        for (size_t i = 0; i < len; i++)
            if (p[i] == ':')
                colon = p + i;
        if (colon) {
            const char *h = p;
            size_t n = (size_t)(colon - p);
            while (n && *h == ' ')
                h++, n--;
            if (n == hl && memcmp(h, host, hl) == 0) {
                char num[16];
                size_t nl = len - n - (size_t)(h - p) - 1;
                if (nl > 0 && nl < sizeof(num)) {
                    memcpy(num, colon + 1, nl);
                    num[nl] = 0;
                    char *e;
                    long v = strtol(num, &e, 10);
                    if (e != num && v >= 0 && v <= INT32_MAX)
                        return (int32_t)v;
                }
            }
        }
        p = end ? end + 1 : NULL;
    }
    return cfg->max_connections_per_ip;
}

/* Counts the connection against its host; false when the host is at its limit. */
bool broker_admit_host(broker_conn_t *conn, const char *host)
{
    broker_t *broker = conn->broker;
    size_t hl = strlen(host);
    broker_conn_ip_t *ip = map_get(&broker->conns_by_ip, host, hl);
    int32_t limit = admit_limit(broker->cfg, host);
    if ((ip ? ip->count : 0) >= limit)
        return false;
    if (!ip) {
        ip = calloc(1, sizeof(*ip));
        if (!ip)
            return false;
        snprintf(ip->host, sizeof(ip->host), "%s", host);
        if (map_put(&broker->conns_by_ip, ip->host, strlen(ip->host), ip) != 0) {
            free(ip);
            return false;
        }
    }
    ip->count++;
    conn->ip = ip;
    return true;
}

void broker_admit_release(broker_conn_t *conn)
{
    broker_conn_ip_t *ip = conn->ip;
    if (!ip)
        return;
    conn->ip = NULL;
    if (--ip->count > 0)
        return;
    map_del(&conn->broker->conns_by_ip, ip->host, strlen(ip->host));
    free(ip);
}

void broker_admit_fini(broker_t *broker)
{
    size_t pos = 0;
    broker_conn_ip_t *ip;
    while ((ip = map_next(&broker->conns_by_ip, &pos)))
        free(ip);
    map_fini(&broker->conns_by_ip);
}
