/* test.h - the tiny check framework every C test uses.
 * Each test binary ends with TEST_END(), which prints "N passed, N failed". */
#ifndef BPFVM_TEST_H
#define BPFVM_TEST_H

#include <stdio.h>

static int test_passed, test_failed;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (cond) {                                                               \
            test_passed++;                                                        \
        } else {                                                                  \
            test_failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
        }                                                                         \
    } while (0)

#define TEST_END() (printf("%d passed, %d failed\n", test_passed, test_failed), test_failed != 0)

#endif
