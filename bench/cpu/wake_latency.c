// How long a thread sleeping in pthread_cond_wait (as PoCL's idle CPU workers do) takes to run again
// after a pthread_cond_signal, after it has slept for 5 us .. 2 ms: the cost PoCL pays at the start of
// a kernel for each worker that went idle at the end of the last one (native/opencl/pocl_idle.c).
// On a VM whose idle vCPUs halt, that is the host waking a vCPU; with the vCPUs kept busy, a plain
// in-guest wake-up.
//   gcc -O2 -o /tmp/wake_latency bench/cpu/wake_latency.c -lpthread
//   /tmp/wake_latency [ROUNDS [BUSY]]     BUSY=1: a third thread keeps the vCPUs busy with sched_yield
// Prints min / median / p90 / max of ROUNDS (default 300) wake-ups per sleep length.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag, stop;
static volatile double woke;
static volatile int busy_stop;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void* waiter(void* p) {
    (void) p;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!flag && !stop) pthread_cond_wait(&cv, &mu);
        if (stop) break;
        woke = now();
        flag = 0;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void* keep_busy(void* p) {
    (void) p;
    while (!busy_stop) sched_yield();
    return NULL;
}

static int cmp(const void* a, const void* b) {
    double x = *(const double*) a, y = *(const double*) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 300, busy = argc > 2 && atoi(argv[2]);
    if (rounds < 1 || rounds > 10000) rounds = 300;
    pthread_t w, b;
    pthread_create(&w, NULL, waiter, NULL);
    if (busy) pthread_create(&b, NULL, keep_busy, NULL);
    const int sleeps_us[] = {5, 20, 100, 500, 2000};
    double* lat = malloc(sizeof(double) * rounds);
    for (int s = 0; s < 5; s++) {
        for (int r = 0; r < rounds; r++) {
            struct timespec ts = {0, sleeps_us[s] * 1000L};
            nanosleep(&ts, NULL); // the waiter has been asleep at least this long
            pthread_mutex_lock(&mu);
            flag = 1;
            woke = 0;
            const double signalled = now();
            pthread_cond_signal(&cv);
            pthread_mutex_unlock(&mu);
            while (woke == 0) {}
            lat[r] = (woke - signalled) * 1e6;
        }
        qsort(lat, rounds, sizeof(double), cmp);
        printf("asleep >= %4d us%s: wake-up us  min %6.1f  median %6.1f  p90 %7.1f  max %8.1f\n", sleeps_us[s],
               busy ? " (vCPUs kept busy)" : "", lat[0], lat[rounds / 2], lat[rounds * 9 / 10], lat[rounds - 1]);
    }
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(w, NULL);
    busy_stop = 1;
    if (busy) pthread_join(b, NULL);
    free(lat);
    return 0;
}
