/*
 * broker/mstore_local: the metadata store of a single broker, in files.
 *
 *   <log.dirs>/eddy-meta/topics/<topic>     name, topic.id, partitions, config.<key>=<value>
 *   <log.dirs>/eddy-meta/broker.properties  default:<property>=<value> / node:<property>=<value>
 *
 * Each file is replaced atomically (broker_meta_write_atomic: temp file
 * named `~tmp.*`, which no topic name can be, fsync, rename, directory
 * fsync). Every change completes before its call returns: the listener
 * first, then done.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/diag.h"
#include "broker/meta.h"
#include "broker/mstore.h"
#include "broker/topic_configs.h"
#include "broker/topics.h"
#include "protocol/kafka_errors.h"

typedef struct local_store_s {
    broker_mstore_t base;
    char meta_dir[4096];
    char props_path[4200];
} local_store_t;

static void uuid_hex(const proto_uuid_t *u, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[u->b[i] >> 4];
        out[2 * i + 1] = hex[u->b[i] & 15];
    }
    out[32] = 0;
}

static int uuid_parse(const char *s, proto_uuid_t *u)
{
    if (strlen(s) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        u->b[i] = (uint8_t)v;
    }
    return 0;
}

static int topic_path(const local_store_t *ls, const char *name, char *out, size_t len)
{
    /* Named exactly like the topic: a 249-character name plus any suffix would pass NAME_MAX. */
    int n = snprintf(out, len, "%s/%s", ls->meta_dir, name);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int topic_write(const local_store_t *ls, const broker_mstore_topic_t *t)
{
    buf_t b;
    buf_init(&b);
    char line[1024], hex[33];
    uuid_hex(&t->id, hex);
    int n = snprintf(line, sizeof(line), "# eddy topic metadata\nname=%s\ntopic.id=%s\npartitions=%d\n", t->name, hex,
                     t->nparts);
    int rc = buf_append(&b, line, (size_t)n);
    for (int i = 0; i < t->nconfigs && rc == 0; i++) {
        n = snprintf(line, sizeof(line), "config.%s=%s\n", t->configs[i].key, t->configs[i].value);
        rc = n < 0 || (size_t)n >= sizeof(line) ? -EINVAL : buf_append(&b, line, (size_t)n);
    }
    char path[4200];
    if (rc == 0)
        rc = topic_path(ls, t->name, path, sizeof(path));
    if (rc == 0)
        rc = broker_meta_write_atomic(path, b.data, b.len);
    buf_fini(&b);
    return rc;
}

/* Appends key=value to a growing array; 0 or -ENOMEM. */
static int pairs_push(broker_topic_config_t **pairs, int *n, const char *key, const char *value)
{
    broker_topic_config_t *c = realloc(*pairs, sizeof(*c) * (size_t)(*n + 1));
    if (!c)
        return -ENOMEM;
    *pairs = c;
    c[*n].key = strdup(key);
    c[*n].value = strdup(value);
    if (!c[*n].key || !c[*n].value) {
        free(c[*n].key);
        free(c[*n].value);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

static void pairs_release(broker_topic_config_t *pairs, int n)
{
    for (int i = 0; i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
}

/* Reads one topic file and hands it to the listener; an unreadable one is skipped with a log line. */
static void topic_read(local_store_t *ls, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[2048], name[BROKER_TOPIC_NAME_MAX + 1] = "";
    broker_mstore_topic_t t = {.name = name};
    bool have_id = false;
    long nparts = -1;
    broker_topic_config_t *configs = NULL;
    int nconfigs = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = 0;
        const char *val = eq + 1;
        if (strcmp(line, "name") == 0)
            snprintf(name, sizeof(name), "%s", val);
        else if (strcmp(line, "topic.id") == 0)
            have_id = uuid_parse(val, &t.id) == 0;
        else if (strcmp(line, "partitions") == 0)
            nparts = strtol(val, NULL, 10);
        else if (strncmp(line, "config.", 7) == 0) {
            char why[256];
            /* A value this version no longer accepts falls back to the default rather than hide the topic. */
            if (broker_tcfg_validate(line + 7, val, why, sizeof(why)) != KERR_NONE)
                LOG_WARN("topics", "%s: ignoring config %s=%s: %s", path, line + 7, val, why);
            else
                (void)pairs_push(&configs, &nconfigs, line + 7, val);
        }
    }
    fclose(f);
    if (broker_topics_check_name(name, strlen(name)) != KERR_NONE || !have_id || nparts < 1 ||
        nparts > BROKER_TOPIC_MAX_PARTITIONS) {
        LOG_ERROR("topics", "ignoring unreadable topic metadata %s", path);
    } else {
        t.nparts = (int32_t)nparts;
        t.configs = configs;
        t.nconfigs = nconfigs;
        ls->base.listener.topic_put(ls->base.listener.arg, &t);
    }
    pairs_release(configs, nconfigs);
}

/* broker.properties: lines that do not parse or no longer validate are skipped with a warning. */
static void props_read(local_store_t *ls)
{
    FILE *f = fopen(ls->props_path, "r");
    if (!f)
        return; /* none yet */
    broker_topic_config_t *node = NULL, *def = NULL;
    int nnode = 0, ndef = 0;
    char line[2048];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !line[0])
            continue;
        bool is_node = strncmp(line, "node:", 5) == 0;
        bool is_def = strncmp(line, "default:", 8) == 0;
        if (!eq || (!is_node && !is_def)) {
            LOG_WARN("topics", "%s: ignoring line '%s'", ls->props_path, line);
            continue;
        }
        *eq = 0;
        const char *key = line + (is_node ? 5 : 8), *val = eq + 1;
        char why[256];
        if (broker_bcfg_validate_dynamic(key, val, is_node, why, sizeof(why)) != KERR_NONE) {
            LOG_WARN("topics", "%s: ignoring %s: %s", ls->props_path, key, why);
            continue;
        }
        /* A property set twice keeps its last value, as the file was meant. */
        broker_topic_config_t **pairs = is_node ? &node : &def;
        int *n = is_node ? &nnode : &ndef;
        int i = 0;
        while (i < *n && strcmp((*pairs)[i].key, key) != 0)
            i++;
        if (i < *n) {
            char *v = strdup(val);
            if (v) {
                free((*pairs)[i].value);
                (*pairs)[i].value = v;
            }
        } else {
            (void)pairs_push(pairs, n, key, val);
        }
    }
    fclose(f);
    if (nnode + ndef > 0) {
        LOG_INFO("topics", "%d dynamic broker configs from %s", nnode + ndef, ls->props_path);
        ls->base.listener.broker_configs(ls->base.listener.arg, node, nnode, def, ndef);
    }
    pairs_release(node, nnode);
    pairs_release(def, ndef);
}

static int local_load(broker_mstore_t *s)
{
    local_store_t *ls = (local_store_t *)s;
    props_read(ls);
    DIR *d = opendir(ls->meta_dir);
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        /* Leftover temp files start with '~', which no topic name can. */
        if (broker_topics_check_name(de->d_name, strlen(de->d_name)) != KERR_NONE)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", ls->meta_dir, de->d_name);
        topic_read(ls, path);
    }
    closedir(d);
    return 0;
}

static void local_create(broker_mstore_t *s, const broker_mstore_topic_t *t, broker_mstore_done_fn done, void *arg)
{
    local_store_t *ls = (local_store_t *)s;
    char path[4200];
    int rc = topic_path(ls, t->name, path, sizeof(path));
    if (rc == 0 && access(path, F_OK) == 0)
        rc = -EEXIST;
    if (rc == 0)
        rc = topic_write(ls, t);
    if (rc == 0)
        s->listener.topic_put(s->listener.arg, t);
    done(arg, rc);
}

static void local_update(broker_mstore_t *s, const broker_mstore_topic_t *t, broker_mstore_done_fn done, void *arg)
{
    local_store_t *ls = (local_store_t *)s;
    char path[4200];
    int rc = topic_path(ls, t->name, path, sizeof(path));
    if (rc == 0 && access(path, F_OK) != 0)
        rc = -ENOENT;
    if (rc == 0)
        rc = topic_write(ls, t);
    if (rc == 0)
        s->listener.topic_put(s->listener.arg, t);
    done(arg, rc);
}

static void local_delete(broker_mstore_t *s, const char *name, broker_mstore_done_fn done, void *arg)
{
    local_store_t *ls = (local_store_t *)s;
    char path[4200];
    int rc = topic_path(ls, name, path, sizeof(path));
    if (rc == 0 && unlink(path) != 0 && errno != ENOENT) {
        rc = -errno;
        LOG_ERROR("topics", "cannot delete %s: %s", path, strerror(errno));
    }
    if (rc == 0)
        s->listener.topic_removed(s->listener.arg, name);
    done(arg, rc);
}

static void local_put_broker_configs(broker_mstore_t *s, const broker_topic_config_t *node, int nnode,
                                     const broker_topic_config_t *def, int ndef, broker_mstore_done_fn done, void *arg)
{
    local_store_t *ls = (local_store_t *)s;
    buf_t b;
    buf_init(&b);
    static const char head[] = "# eddy dynamic broker configs (AlterConfigs on the BROKER resource)\n";
    int rc = buf_append(&b, head, sizeof(head) - 1);
    char line[1024];
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const broker_topic_config_t *c = pass ? node : def;
        int n = pass ? nnode : ndef;
        for (int i = 0; i < n && rc == 0; i++) {
            int len = snprintf(line, sizeof(line), "%s:%s=%s\n", pass ? "node" : "default", c[i].key, c[i].value);
            rc = len < 0 || (size_t)len >= sizeof(line) ? -EINVAL : buf_append(&b, line, (size_t)len);
        }
    }
    if (rc == 0)
        rc = broker_meta_write_atomic(ls->props_path, b.data, b.len);
    buf_fini(&b);
    if (rc == 0)
        s->listener.broker_configs(s->listener.arg, node, nnode, def, ndef);
    done(arg, rc);
}

static void local_close(broker_mstore_t *s)
{
    free(s);
}

static const broker_mstore_ops_t local_ops = {
    .load = local_load,
    .create_topic = local_create,
    .update_topic = local_update,
    .delete_topic = local_delete,
    .put_broker_configs = local_put_broker_configs,
    .close = local_close,
};

int broker_mstore_local_open(const char *log_dirs, const broker_mstore_listener_t *listener, broker_mstore_t **out)
{
    local_store_t *ls = calloc(1, sizeof(*ls));
    if (!ls)
        return -ENOMEM;
    ls->base.ops = &local_ops;
    ls->base.listener = *listener;
    snprintf(ls->base.where, sizeof(ls->base.where), "files");
    int rc = 0;
    if (snprintf(ls->meta_dir, sizeof(ls->meta_dir), "%s/eddy-meta/topics", log_dirs) >= (int)sizeof(ls->meta_dir) ||
        snprintf(ls->props_path, sizeof(ls->props_path), "%s/eddy-meta/broker.properties", log_dirs) >=
            (int)sizeof(ls->props_path))
        rc = -ENAMETOOLONG;
    if (rc == 0)
        rc = broker_meta_mkdirs(ls->meta_dir);
    if (rc != 0) {
        free(ls);
        return rc;
    }
    *out = &ls->base;
    return 0;
}
