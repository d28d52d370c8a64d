// A stand-in for PoCL's libpocl-devices-pthread.so (built under that file name) for pocl_idle_test: one
// worker that waits for jobs on a static condition variable and looks at its queue again after every
// return from pthread_cond_wait, as PoCL's pthread_scheduler_get_work does; and a wait on a heap
// condition variable, as PoCL's command-queue and event waits are, which the policy must leave alone.
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_pool = PTHREAD_COND_INITIALIZER; // the "scheduler" condition variable
static int queued, done, stop;
static long wakeups; // returns from pthread_cond_wait, spurious or not
static pthread_t worker;

static void* work(void* arg) {
    (void) arg;
    pthread_mutex_lock(&lock);
    while (!stop) {
        if (queued > 0) {
            queued--;
            done++;
            continue;
        }
        pthread_cond_wait(&wake_pool, &lock);
        wakeups++;
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

void fake_start(void) { pthread_create(&worker, NULL, work, NULL); }

void fake_push(void) {
    pthread_mutex_lock(&lock);
    queued++;
    pthread_cond_signal(&wake_pool);
    pthread_mutex_unlock(&lock);
}

int fake_done(void) {
    pthread_mutex_lock(&lock);
    int d = done;
    pthread_mutex_unlock(&lock);
    return d;
}

long fake_wakeups(void) {
    pthread_mutex_lock(&lock);
    long w = wakeups;
    pthread_mutex_unlock(&lock);
    return w;
}

void fake_stop(void) {
    pthread_mutex_lock(&lock);
    stop = 1;
    pthread_cond_signal(&wake_pool);
    pthread_mutex_unlock(&lock);
    pthread_join(worker, NULL);
}

// Waits on a heap condition variable until a second thread sets the flag after `us` microseconds;
// returns how many times pthread_cond_wait returned.
struct heap_wait { pthread_mutex_t m; pthread_cond_t c; int flag; long us; };

static void* set_later(void* p) {
    struct heap_wait* h = p;
    struct timespec t = {h->us / 1000000, h->us % 1000000 * 1000};
    nanosleep(&t, NULL);
    pthread_mutex_lock(&h->m);
    h->flag = 1;
    pthread_cond_signal(&h->c);
    pthread_mutex_unlock(&h->m);
    return NULL;
}

long fake_heap_wait(long us) {
    struct heap_wait* h = calloc(1, sizeof *h);
    pthread_mutex_init(&h->m, NULL);
    pthread_cond_init(&h->c, NULL);
    h->us = us;
    pthread_t t;
    pthread_create(&t, NULL, set_later, h);
    long returns = 0;
    pthread_mutex_lock(&h->m);
    while (!h->flag) {
        pthread_cond_wait(&h->c, &h->m);
        returns++;
    }
    pthread_mutex_unlock(&h->m);
    pthread_join(t, NULL);
    free(h);
    return returns;
}
