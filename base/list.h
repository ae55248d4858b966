/*
 * base/list: intrusive circular doubly-linked lists.
 *
 * The node lives inside the owner's struct, so linking and unlinking never
 * allocates; parked requests and connection sets use it. An unlinked node
 * points at itself, which makes list_remove safe to call twice.
 */
#ifndef EDDY_BASE_LIST_H
#define EDDY_BASE_LIST_H

#include <stddef.h>

typedef struct list_s {
    struct list_s *next, *prev;
} list_t;

static inline void list_init(list_t *l)
{
    l->next = l->prev = l;
}
static inline int list_empty(const list_t *l)
{
    return l->next == l;
}
static inline void list_insert_tail(list_t *head, list_t *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}
static inline void list_remove(list_t *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = node->prev = node;
}

#define list_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define list_foreach_safe(pos, tmp, head)                                                                              \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#endif
