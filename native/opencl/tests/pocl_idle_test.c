// pocl_idle_test FAKE_LIB: libvit4j_poclidle.so's policy on a fake PoCL pthread device library
// (fake_pocl_pthread.c): it refuses before the library is loaded, then patches it, the idle worker spins
// for the budget and then sleeps, work pushed while it spins is done, a heap condition variable is left
// alone, and budget 0 sleeps at once.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int vit4j_pocl_idle_install(long budget_us, char* why, size_t why_size);
long vit4j_pocl_idle_spurious_returns(void);
long vit4j_pocl_idle_real_waits(void);

static int failures;
#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fprintf(stderr, "\n");                        \
            failures++;                                   \
        }                                                 \
    } while (0)

static void sleep_us(long us) {
    struct timespec t = {us / 1000000, us % 1000000 * 1000};
    nanosleep(&t, NULL);
}

// Waits (up to 2 s) until the spin count holds still for 20 ms; false if it never does.
static int wait_until_spin_stops(void) {
    long before = vit4j_pocl_idle_spurious_returns();
    for (int i = 0; i < 100; i++) {
        sleep_us(20000);
        const long after = vit4j_pocl_idle_spurious_returns();
        if (after == before) return 1;
        before = after;
    }
    return 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: pocl_idle_test path/to/libpocl-devices-pthread.so (the fake)\n");
        return 2;
    }
    char why[256] = "";
    CHECK(vit4j_pocl_idle_install(2000, why, sizeof why) == -1 && strstr(why, "is not loaded"),
          "install before the library is loaded: want 'is not loaded', got '%s'", why);
    CHECK(vit4j_pocl_idle_install(-1, why, sizeof why) == -1 && strstr(why, ">= 0"), "negative budget: got '%s'", why);

    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    void (*fake_start)(void) = (void (*)(void)) dlsym(lib, "fake_start");
    void (*fake_push)(void) = (void (*)(void)) dlsym(lib, "fake_push");
    int (*fake_done)(void) = (int (*)(void)) dlsym(lib, "fake_done");
    void (*fake_stop)(void) = (void (*)(void)) dlsym(lib, "fake_stop");
    long (*fake_heap_wait)(long) = (long (*)(long)) dlsym(lib, "fake_heap_wait");
    if (!fake_start || !fake_push || !fake_done || !fake_stop || !fake_heap_wait) {
        fprintf(stderr, "the fake lacks its functions\n");
        return 2;
    }
    fake_start();
    sleep_us(20000); // the worker sleeps in the unpatched wait

    const long budget_us = 2000;
    CHECK(vit4j_pocl_idle_install(budget_us, why, sizeof why) == 0, "install: %s", why);
    CHECK(vit4j_pocl_idle_spurious_returns() == 0, "no spin before any work");

    // 1. after a job, the idle worker spins: spurious returns within the first millisecond
    fake_push();
    double t0 = now_s();
    while (fake_done() < 1 && now_s() - t0 < 2) sleep_us(50);
    CHECK(fake_done() == 1, "the first job was not done");
    t0 = now_s();
    while (vit4j_pocl_idle_spurious_returns() == 0 && now_s() - t0 < 0.5) sleep_us(100);
    CHECK(vit4j_pocl_idle_spurious_returns() > 0, "the idle worker did not spin");

    // 2. ... for the budget, then sleeps: the count stops growing
    CHECK(wait_until_spin_stops(), "still spinning 2 s after a %ld us budget", budget_us);
    const long s1 = vit4j_pocl_idle_spurious_returns();
    // each slice lasts >= 2 us of wall time, so a 2000 us budget is at most 1000 of them (+1: the one
    // that crosses it)
    CHECK(s1 >= 1 && s1 <= budget_us / 2 + 1, "%ld spin slices for a %ld us budget", s1, budget_us);

    // 3. jobs pushed 100 us apart, i.e. while the worker spins, are all done
    for (int i = 0; i < 200; i++) {
        fake_push();
        t0 = now_s();
        while (fake_done() < i + 2 && now_s() - t0 < 2) {}
        sleep_us(100);
    }
    CHECK(fake_done() == 201, "%d of 201 jobs done", fake_done());

    // 4. a heap condition variable (PoCL's queue and event waits) is not spun on
    CHECK(wait_until_spin_stops(), "still spinning after the jobs"); // the worker sleeps again
    const long s2 = vit4j_pocl_idle_spurious_returns();
    const long heap_returns = fake_heap_wait(5000);
    CHECK(vit4j_pocl_idle_spurious_returns() == s2, "the heap wait was spun on");
    CHECK(heap_returns >= 1 && heap_returns <= 2, "the heap wait returned %ld times", heap_returns);

    // 5. budget 0: sleeps at once
    CHECK(vit4j_pocl_idle_install(0, why, sizeof why) == 0, "budget 0: %s", why);
    const long w2 = vit4j_pocl_idle_real_waits();
    fake_push();
    t0 = now_s();
    while (fake_done() < 202 && now_s() - t0 < 2) sleep_us(50);
    CHECK(fake_done() == 202, "the job after budget 0 was not done");
    const long s3 = vit4j_pocl_idle_spurious_returns();
    sleep_us(10000);
    CHECK(vit4j_pocl_idle_spurious_returns() == s3, "spinning with budget 0");
    CHECK(vit4j_pocl_idle_real_waits() > w2, "no real wait with budget 0");

    fake_stop();
    if (failures) {
        fprintf(stderr, "pocl_idle: %d check(s) failed\n", failures);
        return 1;
    }
    printf("pocl_idle: all checks passed (%ld spin slices, %ld real waits)\n", vit4j_pocl_idle_spurious_returns(),
           vit4j_pocl_idle_real_waits());
    return 0;
}
