// libvit4j_poclidle.so: PoCL's idle CPU workers spin a while before they sleep.
//
// Why. PoCL's pthread device (libpocl-devices-pthread.so) runs kernels on one worker thread per core.
// A worker that finds no work sleeps in pthread_cond_wait on the scheduler's condition variable, and
// the next kernel wakes it. Between two dependent kernels that is every time: the worker that finished
// its last work-groups first sleeps while the other finishes, and the next kernel has to wake it. On
// the cloud VMs this project runs on, a sleeping thread runs again 8-30 us after the signal at the
// median, and 1-4 ms after it in the worst of 300 (bench/cpu/wake_latency.c,
// bench/results/2026-12-03-wake-latency-zen4.txt), against kernels of 15-400 us in a ViT-Ti/S pass at
// batch 1, a hundred of them a pass. ONNX Runtime's thread pool spins before it sleeps too.
//
// How. PoCL 3.1 has no option for it, so vit4j_pocl_idle_install() replaces, in that library only,
// the GOT entry of pthread_cond_wait with spinning_wait. For the scheduler's own condition variable
// (a static of that library; PoCL's other waits are left alone), spinning_wait releases the mutex,
// spins for a 2 us slice (the vCPU stays busy instead of halting) and yields the core once (a thread
// with work, the application's included, runs first), takes the mutex again and returns: a spurious
// wake-up, which POSIX allows and PoCL's scheduler handles by looking at its queues again.
// Once a worker has spun its budget without finding work it sleeps as before, so an idle process
// costs nothing after the budget. Budget 0 restores plain sleeping (the entry stays patched).
//
// Only the dynamic linker's view of one library is changed: no PoCL source, no LD_PRELOAD. Where the
// library is not loaded, or its relocations do not look as expected, nothing is patched and the
// reason is returned.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <jni.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define POCL_PTHREAD_LIB "libpocl-devices-pthread.so"

// One spin slice; a worker looks at PoCL's queues again after each. Short, so that a kernel pushed
// meanwhile is found within a few microseconds.
#define SLICE_NS 2000L
// A gap this long between a spurious return and the next wait means the worker ran something in
// between: a new idle period, with a fresh budget.
#define WORKED_NS 20000L

typedef int (*cond_wait_fn)(pthread_cond_t*, pthread_mutex_t*);

static cond_wait_fn real_wait;       // the entry before the patch (glibc's pthread_cond_wait)
static _Atomic(cond_wait_fn*) slot;  // the patched GOT entry, once installed
static _Atomic long budget_ns;       // spin budget of one idle period
static uintptr_t lib_base;           // load address of libpocl-devices-pthread.so
static _Atomic long spurious_returns, real_waits;

static __thread long idle_ns;        // spun so far in this idle period
static __thread long last_return_ns; // when spinning_wait last returned (0: never)

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

// The scheduler's condition variable is a static of the pthread device library; the others PoCL waits
// on (command queues, events) are heap objects.
static _Atomic(pthread_cond_t*) scheduler_cv; // once seen

static int is_scheduler_cv(pthread_cond_t* c) {
    if (c == atomic_load_explicit(&scheduler_cv, memory_order_relaxed)) return 1;
    Dl_info info;
    if (!dladdr(c, &info) || (uintptr_t) info.dli_fbase != lib_base) return 0;
    atomic_store(&scheduler_cv, c);
    return 1;
}

static int spinning_wait(pthread_cond_t* c, pthread_mutex_t* m) {
    const long budget = atomic_load_explicit(&budget_ns, memory_order_relaxed);
    if (budget > 0 && is_scheduler_cv(c)) {
        const long t0 = now_ns();
        if (last_return_ns == 0 || t0 - last_return_ns > WORKED_NS) idle_ns = 0;
        if (idle_ns < budget) {
            pthread_mutex_unlock(m);
            // pause (a spin-wait hint: the core's other hardware thread, if any, gets its resources),
            // then yield once a slice: a thread with work on this core, the application's included,
            // runs first. (Yielding all the slice long measured no better at ViT-Ti b1.)
            long t;
            do {
                for (int i = 0; i < 32; i++) __builtin_ia32_pause();
                t = now_ns();
            } while (t - t0 < SLICE_NS);
            sched_yield();
            pthread_mutex_lock(m);
            idle_ns += t - t0;
            last_return_ns = now_ns();
            atomic_fetch_add_explicit(&spurious_returns, 1, memory_order_relaxed);
            return 0;
        }
    }
    const int r = real_wait(c, m);
    last_return_ns = 0; // woken by a signal: whatever comes next is new
    idle_ns = 0;
    atomic_fetch_add_explicit(&real_waits, 1, memory_order_relaxed);
    return r;
}

// ---- finding the GOT entry ------------------------------------------------------------------------

struct search {
    const char* name; // library name fragment
    uintptr_t base;
    const ElfW(Dyn)* dynamic;
};

static int find_library(struct dl_phdr_info* info, size_t size, void* data) {
    (void) size;
    struct search* s = data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, s->name)) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
            s->base = info->dlpi_addr;
            s->dynamic = (const ElfW(Dyn)*) (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
            return 1;
        }
    }
    return 0;
}

// glibc stores some of these already relocated, other loaders not: an address below the base is an offset.
static uintptr_t dyn_address(uintptr_t base, ElfW(Addr) value) {
    return value < base ? base + value : value;
}

// The protection of the page holding p, from /proc/self/maps: 1 writable, 0 read-only, -1 unknown.
static int page_writable(uintptr_t p) {
    FILE* f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[512];
    int result = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && p >= lo && p < hi) {
            result = perms[1] == 'w';
            break;
        }
    }
    fclose(f);
    return result;
}

// Finds lib's relocation of `symbol` (a PLT slot, or a GOT slot under -fno-plt); null if none.
static void** find_slot(uintptr_t base, const ElfW(Dyn)* dyn, const char* symbol, char* why, size_t why_size) {
    const ElfW(Sym)* symtab = NULL;
    const char* strtab = NULL;
    const ElfW(Rela)* tables[2] = {NULL, NULL};
    size_t sizes[2] = {0, 0};
    long pltrel = -1;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym)*) dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const char*) dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_JMPREL: tables[0] = (const ElfW(Rela)*) dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: sizes[0] = dyn->d_un.d_val; break;
        case DT_PLTREL: pltrel = (long) dyn->d_un.d_val; break;
        case DT_RELA: tables[1] = (const ElfW(Rela)*) dyn_address(base, dyn->d_un.d_ptr); break;
        case DT_RELASZ: sizes[1] = dyn->d_un.d_val; break;
        }
    }
    if (!symtab || !strtab) {
        snprintf(why, why_size, "%s has no dynamic symbol table", POCL_PTHREAD_LIB);
        return NULL;
    }
    if (tables[0] && pltrel != DT_RELA) {
        snprintf(why, why_size, "%s: PLT relocations are not RELA", POCL_PTHREAD_LIB);
        return NULL;
    }
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; tables[t] && i < sizes[t] / sizeof(ElfW(Rela)); i++) {
            const ElfW(Rela)* r = &tables[t][i];
            const unsigned long type = ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
            if (strcmp(strtab + symtab[ELF64_R_SYM(r->r_info)].st_name, symbol) == 0) return (void**) (base + r->r_offset);
        }
    }
    snprintf(why, why_size, "%s does not import %s", POCL_PTHREAD_LIB, symbol);
    return NULL;
}

// Installs the policy with a budget of budget_us microseconds (0: sleep at once, as PoCL does), or sets
// the budget where it is installed. Returns 0, else -1 with the reason in why.
EXPORT int vit4j_pocl_idle_install(long budget_us, char* why, size_t why_size) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (budget_us < 0) {
        snprintf(why, why_size, "spin budget must be >= 0 us, not %ld", budget_us);
        return -1;
    }
    pthread_mutex_lock(&lock);
    int result = 0;
    if (!atomic_load(&slot)) {
        struct search s = {POCL_PTHREAD_LIB, 0, NULL};
        void** entry = NULL;
        if (!dl_iterate_phdr(find_library, &s)) {
            snprintf(why, why_size, "%s is not loaded (no PoCL CPU device opened yet)", POCL_PTHREAD_LIB);
            result = -1;
        } else if (!(entry = find_slot(s.base, s.dynamic, "pthread_cond_wait", why, why_size))) {
            result = -1;
        } else {
            const int writable = page_writable((uintptr_t) entry);
            const long page = sysconf(_SC_PAGESIZE);
            void* page_start = (void*) ((uintptr_t) entry & ~(uintptr_t) (page - 1));
            if (writable < 0) {
                snprintf(why, why_size, "the GOT of %s is not in /proc/self/maps", POCL_PTHREAD_LIB);
                result = -1;
            } else if (!writable && mprotect(page_start, (size_t) page, PROT_READ | PROT_WRITE) != 0) {
                snprintf(why, why_size, "cannot make the GOT of %s writable", POCL_PTHREAD_LIB);
                result = -1;
            } else {
                lib_base = s.base;
                real_wait = (cond_wait_fn) __atomic_load_n(entry, __ATOMIC_ACQUIRE);
                atomic_store(&budget_ns, budget_us * 1000L); // before the entry: a caller sees both
                __atomic_store_n(entry, (void*) spinning_wait, __ATOMIC_RELEASE);
                if (!writable) mprotect(page_start, (size_t) page, PROT_READ); // RELRO again
                atomic_store(&slot, (cond_wait_fn*) entry);
            }
        }
    }
    if (result == 0) atomic_store(&budget_ns, budget_us * 1000L);
    pthread_mutex_unlock(&lock);
    return result;
}

// How often the scheduler's workers returned from a spin slice, and slept for real, since loading.
EXPORT long vit4j_pocl_idle_spurious_returns(void) { return atomic_load(&spurious_returns); }
EXPORT long vit4j_pocl_idle_real_waits(void) { return atomic_load(&real_waits); }

// ---- JNI: org.vit4j.backend.opencl.PoclIdle -----------------------------------------------------

EXPORT JNIEXPORT jstring JNICALL Java_org_vit4j_backend_opencl_PoclIdle_install0(JNIEnv* env, jclass cls, jlong budget_us) {
    (void) cls;
    char why[256] = "";
    return vit4j_pocl_idle_install((long) budget_us, why, sizeof why) == 0 ? NULL : (*env)->NewStringUTF(env, why);
}

EXPORT JNIEXPORT jlongArray JNICALL Java_org_vit4j_backend_opencl_PoclIdle_counts0(JNIEnv* env, jclass cls) {
    (void) cls;
    jlongArray out = (*env)->NewLongArray(env, 2);
    if (!out) return NULL;
    const jlong v[2] = {vit4j_pocl_idle_spurious_returns(), vit4j_pocl_idle_real_waits()};
    (*env)->SetLongArrayRegion(env, out, 0, 2, v);
    return out;
}
