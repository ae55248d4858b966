/* cluster/etcd_txn: general txns against a real etcd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "cluster/etcd.h"
#include "etcd_fixture.h"

static etcd_fixture_t fx;
static uv_loop_t loop;
static etcd_client_t *cli;

typedef struct got_s {
    int done, rc, succeeded;
    int64_t revision;
    size_t n_ops;
    etcd_op_kind_t kinds[8];
    int64_t deleted[8];
    size_t n_kvs[8];
    char value[8][64];
    int64_t mod[8];
} got_t;

static void on_txn(void *arg, int rc, const etcd_txn_result_t *res)
{
    got_t *g = arg;
    g->done = 1;
    g->rc = rc;
    if (rc)
        return;
    g->succeeded = res->succeeded;
    g->revision = res->revision;
    g->n_ops = res->n_ops;
    for (size_t i = 0; i < res->n_ops && i < 8; i++) {
        g->kinds[i] = res->ops[i].kind;
        g->deleted[i] = res->ops[i].deleted;
        g->n_kvs[i] = res->ops[i].range.n_kvs;
        if (res->ops[i].range.n_kvs) {
            etcd_kv_t *kv = &res->ops[i].range.kvs[0];
            snprintf(g->value[i], sizeof g->value[i], "%.*s", (int)kv->value_len, kv->value);
            g->mod[i] = kv->mod_revision;
        }
    }
}

static void txn(const etcd_cmp_t *c, size_t nc, const etcd_op_t *s, size_t ns, const etcd_op_t *f, size_t nf, got_t *g)
{
    memset(g, 0, sizeof *g);
    assert_int_equal(etcd_txn(cli, c, nc, s, ns, f, nf, clock_mono_ms() + 3000, on_txn, g), 0);
    while (!g->done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g->rc, 0);
}

#define PUT(k, v)                                                                                                      \
    {                                                                                                                  \
        .kind = ETCD_OP_PUT, .key = (k), .key_len = strlen(k), .value = (v), .value_len = strlen(v)                    \
    }
#define GET(k, p)                                                                                                      \
    {                                                                                                                  \
        .kind = ETCD_OP_RANGE, .key = (k), .key_len = strlen(k), .prefix = (p)                                         \
    }

static int setup(void **state)
{
    if (etcd_fixture_missing())
        return 0;
    if (etcd_fixture_start(&fx))
        return -1;
    uv_loop_init(&loop);
    cli = etcd_client_new(&loop, fx.url, NULL);
    return cli ? 0 : -1;
}

static int teardown(void **state)
{
    if (cli) {
        etcd_client_free(cli);
        uv_run(&loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
    etcd_fixture_stop(&fx);
    return 0;
}

/* CAS on mod_revision: succeeds against the revision read, fails once
 * another put moved it, and the failure branch reads the current value. */
static void cas_on_mod_revision(void **state)
{
    if (etcd_fixture_missing())
        skip();
    got_t g;
    etcd_op_t put1[] = {PUT("/c/x", "one"), GET("/c/x", 0)};
    txn(NULL, 0, put1, 2, NULL, 0, &g);
    assert_true(g.succeeded); /* no compares: always the success branch */
    assert_int_equal(g.n_ops, 2);
    assert_int_equal(g.kinds[0], ETCD_OP_PUT);
    assert_int_equal(g.kinds[1], ETCD_OP_RANGE);
    assert_string_equal(g.value[1], "one");
    int64_t mod = g.mod[1];
    assert_int_equal(mod, g.revision);

    etcd_cmp_t cmp = {.key = "/c/x", .key_len = 4, .target = ETCD_CMP_MOD, .result = ETCD_CMP_EQUAL, .number = mod};
    etcd_op_t put2[] = {PUT("/c/x", "two")};
    etcd_op_t read[] = {GET("/c/x", 0)};
    txn(&cmp, 1, put2, 1, read, 1, &g);
    assert_true(g.succeeded);
    assert_int_equal(g.revision, mod + 1);

    /* a concurrent writer moved it past mod: the same CAS now fails */
    etcd_op_t put3[] = {PUT("/c/x", "three")};
    txn(&cmp, 1, put3, 1, read, 1, &g);
    assert_false(g.succeeded);
    assert_int_equal(g.n_ops, 1);
    assert_int_equal(g.kinds[0], ETCD_OP_RANGE);
    assert_string_equal(g.value[0], "two"); /* not "three": nothing ran */
    assert_int_equal(g.mod[0], mod + 1);

    /* greater/less on the same revision */
    etcd_cmp_t gt = {.key = "/c/x", .key_len = 4, .target = ETCD_CMP_MOD, .result = ETCD_CMP_GREATER, .number = mod};
    txn(&gt, 1, NULL, 0, NULL, 0, &g);
    assert_true(g.succeeded);
    etcd_cmp_t lt = {.key = "/c/x", .key_len = 4, .target = ETCD_CMP_MOD, .result = ETCD_CMP_LESS, .number = mod};
    txn(&lt, 1, NULL, 0, NULL, 0, &g);
    assert_false(g.succeeded);
}

/* Several keys in one txn land at one revision; delete of a prefix counts. */
static void multi_key_atomic_put_and_prefix_delete(void **state)
{
    if (etcd_fixture_missing())
        skip();
    got_t g;
    etcd_cmp_t absent[] = {
        {.key = "/m/a", .key_len = 4, .target = ETCD_CMP_CREATE, .result = ETCD_CMP_EQUAL, .number = 0},
        {.key = "/m/b", .key_len = 4, .target = ETCD_CMP_VERSION, .result = ETCD_CMP_EQUAL, .number = 0},
    };
    etcd_op_t puts[] = {PUT("/m/a", "1"), PUT("/m/b", "2"), PUT("/m/c", "3")};
    txn(absent, 2, puts, 3, NULL, 0, &g);
    assert_true(g.succeeded);
    int64_t rev = g.revision;
    etcd_op_t all[] = {GET("/m/", 1)};
    txn(NULL, 0, all, 1, NULL, 0, &g);
    assert_int_equal(g.n_kvs[0], 3);
    assert_int_equal(g.mod[0], rev); /* all three at the txn's revision */
    /* again: the keys exist now, so the failure branch (empty) runs */
    txn(absent, 2, puts, 3, NULL, 0, &g);
    assert_false(g.succeeded);
    assert_int_equal(g.n_ops, 0);
    etcd_op_t del[] = {{.kind = ETCD_OP_DELETE, .key = "/m/", .key_len = 3, .prefix = 1}, GET("/m/", 1)};
    txn(NULL, 0, del, 2, NULL, 0, &g);
    assert_int_equal(g.kinds[0], ETCD_OP_DELETE);
    assert_int_equal(g.deleted[0], 3);
    assert_int_equal(g.n_kvs[1], 0);
}

/* Value compares, and a put under a lease that does not exist fails. */
static void value_compare_and_missing_lease(void **state)
{
    if (etcd_fixture_missing())
        skip();
    got_t g;
    etcd_op_t put[] = {PUT("/v/k", "blue")};
    txn(NULL, 0, put, 1, NULL, 0, &g);
    etcd_cmp_t eq = {.key = "/v/k",
                     .key_len = 4,
                     .target = ETCD_CMP_VALUE,
                     .result = ETCD_CMP_EQUAL,
                     .value = "blue",
                     .value_len = 4};
    etcd_op_t red[] = {PUT("/v/k", "red")};
    etcd_op_t read[] = {GET("/v/k", 0)};
    txn(&eq, 1, red, 1, read, 1, &g);
    assert_true(g.succeeded);
    txn(&eq, 1, red, 1, read, 1, &g); /* it is red now */
    assert_false(g.succeeded);
    assert_string_equal(g.value[0], "red");
    etcd_cmp_t ne = eq;
    ne.result = ETCD_CMP_NOT_EQUAL;
    txn(&ne, 1, NULL, 0, NULL, 0, &g);
    assert_true(g.succeeded);

    etcd_op_t leased[] = {PUT("/v/l", "x")};
    leased[0].lease = 987654;
    memset(&g, 0, sizeof g);
    assert_int_equal(etcd_txn(cli, NULL, 0, leased, 1, NULL, 0, clock_mono_ms() + 3000, on_txn, &g), 0);
    while (!g.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.rc, ETCD_ELEASE);
    /* caller mistakes are refused before anything is sent */
    etcd_cmp_t bogus = eq;
    bogus.target = (etcd_cmp_target_t)7;
    assert_int_equal(etcd_txn(cli, &bogus, 1, NULL, 0, NULL, 0, clock_mono_ms() + 3000, on_txn, &g), ETCD_EMALFORMED);
    assert_int_equal(etcd_txn(cli, NULL, 0, read, 129, NULL, 0, clock_mono_ms() + 3000, on_txn, &g), ETCD_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cas_on_mod_revision),
        cmocka_unit_test(multi_key_atomic_put_and_prefix_delete),
        cmocka_unit_test(value_compare_and_missing_lease),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
