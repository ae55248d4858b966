/*
 * broker/outq: response frames made of memory and segment-file parts reach
 * the socket whole and in order — through a full socket buffer, across
 * frames, and with the segment deleted under them — and a range the file
 * no longer holds is an error, never a short frame.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "broker/outq.h"
#include "log/tests/log_test_util.h"

typedef struct {
    tu_dir_t dir;
    log_partition_t *p;
    int sv[2]; /* sv[0]: the broker's end (non-blocking), sv[1]: the client's */
} fixture_t;

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    tu_quiet();
    tu_dir_make(&fx->dir);
    log_config_t cfg = tu_config(1 << 20, 4096);
    if (log_partition_open(fx->dir.part, &cfg, &fx->p) != 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fx->sv) != 0)
        return -1;
    int small = 4096; /* the kernel rounds it up, still far below the frames sent */
    setsockopt(fx->sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    fcntl(fx->sv[0], F_SETFL, fcntl(fx->sv[0], F_GETFL) | O_NONBLOCK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    close(fx->sv[0]);
    close(fx->sv[1]);
    log_partition_close(fx->p);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

/* A frame: header bytes, the records of rd, trailer bytes. */
static broker_out_frame_t *frame_around(const char *head, log_read_t *rd, const char *tail)
{
    buf_t mem;
    buf_init(&mem);
    assert_int_equal(buf_append(&mem, head, strlen(head)), 0);
    assert_int_equal(buf_append(&mem, tail, strlen(tail)), 0);
    broker_out_frame_t *f = broker_out_frame_new(&mem, 3);
    assert_non_null(f);
    assert_null(mem.data); /* the frame took the memory */
    broker_out_frame_mem(f, 0, strlen(head));
    broker_out_frame_file(f, rd);
    assert_null(rd->seg); /* ... and the reference */
    broker_out_frame_mem(f, strlen(head), strlen(tail));
    return f;
}

/* Flushes q into the socket while reading the other end, until q is empty; returns what arrived. */
static uint8_t *drain(fixture_t *fx, broker_outq_t *q, size_t expect, int *blocked_seen)
{
    uint8_t *got = malloc(expect + 1);
    size_t have = 0;
    *blocked_seen = 0;
    while (q->head || have < expect) {
        bool blocked = false;
        if (q->head) {
            ssize_t n = broker_outq_flush(q, fx->sv[0], &blocked);
            assert_true(n >= 0);
            *blocked_seen += blocked;
        }
        ssize_t r = recv(fx->sv[1], got + have, expect + 1 - have, q->head ? MSG_DONTWAIT : 0);
        if (r > 0)
            have += (size_t)r;
        assert_true(have <= expect);
    }
    assert_int_equal(q->bytes, 0);
    return got;
}

static void test_frames_arrive_whole_and_in_order_through_a_full_socket(void **state)
{
    fixture_t *fx = *state;
    uint8_t *b1, *b2;
    size_t l1, l2;
    tu_append(fx->p, 10, 1000, 200000, 1, &b1, &l1);
    tu_append(fx->p, 5, 1001, 300000, 7, &b2, &l2);
    log_read_t r1, r2;
    assert_int_equal(log_partition_read(fx->p, 0, l1, 1, &r1), 0);
    assert_int_equal(r1.len, l1);
    assert_int_equal(log_partition_read(fx->p, 10, 1 << 20, 1, &r2), 0);
    assert_int_equal(r2.len, l2);

    broker_outq_t q;
    broker_outq_init(&q, NULL);
    broker_outq_push(&q, frame_around("HEAD-ONE", &r1, "tail1"));
    broker_outq_push(&q, frame_around("HEAD-TWO", &r2, "tail-two"));
    size_t expect = 8 + l1 + 5 + 8 + l2 + 8;
    assert_int_equal(q.bytes, expect);
    int blocked;
    uint8_t *got = drain(fx, &q, expect, &blocked);
    assert_true(blocked > 0); /* the small send buffer filled: partial sends resumed */
    size_t at = 0;
    assert_memory_equal(got + at, "HEAD-ONE", 8), at += 8;
    assert_memory_equal(got + at, b1, l1), at += l1;
    assert_memory_equal(got + at, "tail1", 5), at += 5;
    assert_memory_equal(got + at, "HEAD-TWO", 8), at += 8;
    assert_memory_equal(got + at, b2, l2), at += l2;
    assert_memory_equal(got + at, "tail-two", 8);
    free(got);
    free(b1);
    free(b2);
}

static void test_a_deleted_segment_is_still_sent_from_its_open_file(void **state)
{
    fixture_t *fx = *state;
    uint8_t *b1;
    size_t l1;
    tu_append(fx->p, 3, 1000, 50000, 3, &b1, &l1);
    log_read_t rd;
    assert_int_equal(log_partition_read(fx->p, 0, 1 << 20, 1, &rd), 0);
    broker_outq_t q;
    broker_outq_init(&q, NULL);
    broker_outq_push(&q, frame_around("H", &rd, "T"));
    /* Retention or DeleteTopics may unlink the files while the answer waits. */
    log_partition_close(fx->p);
    fx->p = NULL;
    tu_dir_remove(&fx->dir);
    int blocked;
    uint8_t *got = drain(fx, &q, 1 + l1 + 1, &blocked);
    assert_memory_equal(got + 1, b1, l1);
    free(got);
    free(b1);
    tu_dir_make(&fx->dir);
}

static void test_a_range_past_the_end_of_the_file_is_an_error(void **state)
{
    fixture_t *fx = *state;
    size_t l1;
    uint8_t *b1;
    tu_append(fx->p, 1, 1000, 100, 3, &b1, &l1);
    log_read_t rd;
    assert_int_equal(log_partition_read(fx->p, 0, 1 << 20, 1, &rd), 0);
    rd.len += 1000; /* as if the file had been cut under a queued answer */
    broker_outq_t q;
    broker_outq_init(&q, NULL);
    broker_outq_push(&q, frame_around("H", &rd, "T"));
    bool blocked = false;
    ssize_t n = 0;
    uint8_t sink[4096];
    for (int i = 0; i < 100 && n >= 0; i++) {
        n = broker_outq_flush(&q, fx->sv[0], &blocked);
        (void)!recv(fx->sv[1], sink, sizeof(sink), MSG_DONTWAIT);
    }
    assert_int_equal(n, -EIO);
    broker_outq_clear(&q); /* releases the segment reference (ASan would see a leak) */
    assert_null(q.head);
    assert_int_equal(q.bytes, 0);
    free(b1);
}

static void test_clear_drops_unsent_frames_and_their_references(void **state)
{
    fixture_t *fx = *state;
    size_t l1;
    uint8_t *b1;
    tu_append(fx->p, 2, 1000, 1000, 3, &b1, &l1);
    broker_outq_t q;
    broker_outq_init(&q, NULL);
    for (int i = 0; i < 3; i++) {
        log_read_t rd;
        assert_int_equal(log_partition_read(fx->p, 0, 1 << 20, 1, &rd), 0);
        broker_outq_push(&q, frame_around("H", &rd, "T"));
    }
    assert_int_equal(q.bytes, 3 * (l1 + 2));
    broker_outq_clear(&q);
    assert_null(q.head);
    assert_null(q.tail);
    assert_int_equal(q.bytes, 0);
    free(b1);
}

static void test_sent_frames_are_reused_with_their_buffers(void **state)
{
    fixture_t *fx = *state;
    broker_out_pool_t pool = {0};
    broker_outq_t q;
    broker_outq_init(&q, &pool);
    buf_t mem;
    broker_out_frame_t *f = broker_out_frame_get(&pool, 1, 100, &mem);
    assert_non_null(f);
    assert_true(mem.cap >= 100);
    assert_int_equal(buf_append(&mem, "answer-one", 10), 0);
    uint8_t *first_buf = mem.data;
    broker_out_frame_set_mem(f, &mem);
    broker_out_frame_mem(f, 0, 10);
    broker_outq_push(&q, f);
    int blocked;
    uint8_t *got = drain(fx, &q, 10, &blocked);
    assert_memory_equal(got, "answer-one", 10);
    free(got);
    assert_int_equal(pool.n, 1); /* sent, then kept */

    /* The next answer gets the same frame and buffer back, empty. */
    broker_out_frame_t *g = broker_out_frame_get(&pool, 1, 50, &mem);
    assert_ptr_equal(g, f);
    assert_ptr_equal(mem.data, first_buf);
    assert_int_equal(mem.len, 0);
    assert_int_equal(pool.n, 0);
    assert_int_equal(buf_append(&mem, "two", 3), 0);
    broker_out_frame_set_mem(g, &mem);
    broker_out_frame_mem(g, 0, 3);
    assert_int_equal(g->total, 3);
    broker_outq_push(&q, g);
    got = drain(fx, &q, 3, &blocked);
    assert_memory_equal(got, "two", 3);
    free(got);

    /* Big answers and many-part frames are not kept. */
    broker_out_frame_t *big = broker_out_frame_get(&pool, 1, BROKER_OUT_POOL_BYTES * 4, &mem);
    broker_out_frame_set_mem(big, &mem);
    broker_out_frame_put(&pool, big);
    broker_out_frame_t *wide = broker_out_frame_get(&pool, 9, 10, &mem);
    broker_out_frame_set_mem(wide, &mem);
    broker_out_frame_put(&pool, wide);
    assert_int_equal(pool.n, 1);
    broker_out_pool_fini(&pool);
    assert_int_equal(pool.n, 0);
    assert_null(pool.free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frames_arrive_whole_and_in_order_through_a_full_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_deleted_segment_is_still_sent_from_its_open_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_range_past_the_end_of_the_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_drops_unsent_frames_and_their_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_frames_are_reused_with_their_buffers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
