// The runtime behind cuda_cpu.h: runs a CUDA grid on the CPU. Each block's threads are fibers on
// one worker thread, taking turns at barriers and warp collectives (see cuda_cpu.h for the model);
// blocks are spread over a pool of worker threads, the launching thread being one of them.
//
// Scheduling a block, in rounds: every runnable thread runs (in forward or reverse order) until it
// waits or returns; then the warp collectives whose lanes have all arrived complete; when nothing
// else can move and every thread still running waits at __syncthreads, the barrier opens. A round in
// which nothing can move is a deadlock. A fault (strict mode) abandons the block: its fibers are
// never resumed (kernels hold no resources on their stacks) and the launch reports the first fault.
#include "cuda_cpu.h"

#include <boost/context/detail/fcontext.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define VIT4J_ASAN 1
#endif

namespace fc = boost::context::detail;

namespace vit4j_cpu {

namespace {

enum class St : uint8_t { READY, BARRIER, WARP, EXITED, FAULTED };

const char* kCollective[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync",
                             "__ballot_sync", "__syncwarp"};

#if defined(VIT4J_ASAN)
constexpr size_t kDefaultStack = 256 << 10; // ASan's redzones make frames larger
#else
constexpr size_t kDefaultStack = 64 << 10;
#endif

struct Stack {
    void* base = nullptr; // lowest address of the mapping (a guard page)
    size_t size = 0;      // usable bytes above the guard page
};

} // namespace

struct ThreadState {
    uint3 idx{};
    int linear = 0, lane = 0, warp = 0;
    St state = St::READY;
    fc::fcontext_t fctx = nullptr;
    Stack stack;
    // a pending warp collective
    int kind = 0, arg = 0, width = 32;
    unsigned mask = 0;
    uint64_t bits = 0, result = 0;
    // a pending __syncthreads_{count,and,or}
    int reduce_op = -1, pred = 0;
#if defined(VIT4J_ASAN)
    void* fake_stack = nullptr;
#endif
};

namespace {

/** A worker thread's state: its fibers, and what the block it runs now needs. */
struct Worker {
    std::vector<ThreadState> threads;
    std::vector<Stack> stacks;
    std::vector<unsigned char> dyn_shared_store; // dyn_shared_bytes from a 1024-byte boundary of this
    unsigned char* dyn_shared = nullptr;         // (wgmma's 128-byte swizzle repeats every 1024 bytes of
    size_t dyn_shared_bytes = 0;                 // shared address: the fallback's addresses are offsets)
    fc::fcontext_t sched = nullptr;
    const std::function<void()>* body = nullptr;
    const char* kernel = "";
    int flags = 0;
    int nthreads = 0;
    std::string error;
#if defined(VIT4J_ASAN)
    void* sched_fake = nullptr;
    const void* sched_bottom = nullptr;
    size_t sched_size = 0;
#endif
    ~Worker() {
        const size_t page = (size_t) sysconf(_SC_PAGESIZE);
        for (Stack& s : stacks) munmap(static_cast<char*>(s.base) - page, s.size + page); // with its guard page
    }
};

thread_local Worker* tl_worker = nullptr;

size_t stack_size() {
    static const size_t size = [] {
        const char* e = std::getenv("VIT4J_CUDA_CPU_STACK_KB");
        size_t kb = e ? (size_t) std::strtoul(e, nullptr, 10) : 0;
        return kb >= 16 ? kb << 10 : kDefaultStack;
    }();
    return size;
}

Stack new_stack() {
    const size_t page = (size_t) sysconf(_SC_PAGESIZE);
    Stack s;
    s.size = stack_size();
    void* p = mmap(nullptr, s.size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mprotect(p, page, PROT_NONE); // a fiber that overflows its stack faults here, not in a neighbour
    s.base = static_cast<char*>(p) + page;
    return s;
}

std::string where(const Worker& w, const ThreadState& t) {
    std::ostringstream o;
    o << "kernel " << w.kernel << ", block (" << tl_geometry.block.x << "," << tl_geometry.block.y << ","
      << tl_geometry.block.z << "), thread (" << t.idx.x << "," << t.idx.y << "," << t.idx.z << ") (warp "
      << t.warp << ", lane " << t.lane << ")";
    return o.str();
}

// ---- switching ----------------------------------------------------------------------------------

void to_scheduler(Worker* w, ThreadState* t, bool for_good) {
#if defined(VIT4J_ASAN)
    __sanitizer_start_switch_fiber(for_good ? nullptr : &t->fake_stack, w->sched_bottom, w->sched_size);
#else
    (void) for_good;
#endif
    fc::transfer_t back = fc::jump_fcontext(w->sched, t);
    w->sched = back.fctx;
#if defined(VIT4J_ASAN)
    __sanitizer_finish_switch_fiber(t->fake_stack, nullptr, nullptr);
#endif
}

void fiber_main(fc::transfer_t from) {
    Worker* w = tl_worker;
    w->sched = from.fctx;
    ThreadState* t = static_cast<ThreadState*>(from.data);
#if defined(VIT4J_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, &w->sched_bottom, &w->sched_size);
#endif
    (*w->body)();
    t->state = St::EXITED;
    to_scheduler(w, t, true);
    std::abort(); // never resumed
}

void resume(Worker* w, ThreadState* t) {
    tl_thread = t;
#if defined(VIT4J_ASAN)
    __sanitizer_start_switch_fiber(&w->sched_fake, t->stack.base, t->stack.size);
#endif
    fc::transfer_t back = fc::jump_fcontext(t->fctx, t);
#if defined(VIT4J_ASAN)
    __sanitizer_finish_switch_fiber(w->sched_fake, nullptr, nullptr);
#endif
    t->fctx = back.fctx;
    tl_thread = nullptr;
}

/** Called on a fiber: marks it waiting and gives the worker back to the scheduler. */
void wait_here(St why) {
    ThreadState* t = tl_thread;
    t->state = why;
    to_scheduler(tl_worker, t, false);
}

// ---- warp collectives -----------------------------------------------------------------------------

bool lane_gone(const Worker& w, int warp, int lane) {
    const int i = warp * 32 + lane;
    return i >= w.nthreads || w.threads[i].state == St::EXITED || w.threads[i].state == St::FAULTED;
}

/** The lane a shuffle reads, or -1 where it reads its own value (outside its width segment). */
int source_lane(const ThreadState& t) {
    const int seg = t.lane & ~(t.width - 1), end = seg + t.width;
    switch (t.kind) {
        case 0: return seg + (t.arg & (t.width - 1));
        case 1: { int s = t.lane - t.arg; return s >= seg ? s : -1; }
        case 2: { int s = t.lane + t.arg; return s < end ? s : -1; }
        case 3: { int s = t.lane ^ t.arg; return s >= seg && s < end ? s : -1; }
        default: return -1;
    }
}

/** Completes every warp collective whose lanes have all arrived. Returns whether any did. */
bool complete_collectives(Worker& w) {
    bool any = false;
    const bool strict = (w.flags & STRICT) != 0;
    const int warps = (w.nthreads + 31) / 32;
    for (int wp = 0; wp < warps && w.error.empty(); wp++) {
        ThreadState* lanes = &w.threads[wp * 32];
        const int nl = std::min(32, w.nthreads - wp * 32);
        for (int l = 0; l < nl; l++) {
            ThreadState& t = lanes[l];
            if (t.state != St::WARP) continue;
            bool ready = true;
            for (int m = 0; m < 32 && ready; m++) {
                if (!(t.mask >> m & 1u) || lane_gone(w, wp, m)) continue;
                const ThreadState& o = lanes[m];
                ready = o.state == St::WARP && o.mask == t.mask && o.kind == t.kind;
            }
            if (!ready) continue;
            unsigned ballot = 0;
            for (int m = 0; m < 32; m++)
                if ((t.mask >> m & 1u) && !lane_gone(w, wp, m) && lanes[m].bits != 0) ballot |= 1u << m;
            for (int m = 0; m < nl; m++) {
                ThreadState& o = lanes[m];
                if (!(t.mask >> m & 1u) || o.state != St::WARP) continue;
                if (o.kind == 4) o.result = ballot;
                else if (o.kind == 5) o.result = 0;
                else {
                    const int s = source_lane(o);
                    o.result = o.bits;
                    if (s >= 0) {
                        if (!(o.mask >> s & 1u) || lane_gone(w, wp, s)) {
                            if (strict) {
                                std::ostringstream e;
                                e << where(w, o) << ": " << kCollective[o.kind] << " reads lane " << s << ", which "
                                  << (!(o.mask >> s & 1u) ? "is outside its mask 0x" : "has exited (mask 0x")
                                  << std::hex << o.mask << (!(o.mask >> s & 1u) ? "" : ")");
                                w.error = e.str();
                                return false;
                            }
                        } else {
                            o.result = lanes[s].bits;
                        }
                    }
                }
            }
            for (int m = 0; m < nl; m++)
                if ((t.mask >> m & 1u) && lanes[m].state == St::WARP) lanes[m].state = St::READY;
            any = true;
        }
    }
    return any;
}

std::string describe_states(const Worker& w) {
    std::ostringstream o;
    const char* names[] = {"runnable", "wait at __syncthreads", "wait at a warp collective", "exited", "faulted"};
    for (int s = 0; s < 5; s++) {
        int count = 0;
        const ThreadState* first = nullptr;
        for (int i = 0; i < w.nthreads; i++)
            if ((int) w.threads[i].state == s) {
                if (!first) first = &w.threads[i];
                count++;
            }
        if (!count) continue;
        o << "; " << count << " thread(s) " << names[s] << ", first (" << first->idx.x << "," << first->idx.y << ","
          << first->idx.z << ")";
        if (s == (int) St::WARP)
            o << " at " << kCollective[first->kind] << " mask 0x" << std::hex << first->mask << std::dec;
    }
    return o.str();
}

// ---- one block ------------------------------------------------------------------------------------

void run_block(Worker& w, uint3 bidx) {
    tl_geometry.block = bidx;
    const dim3 bd = tl_geometry.block_dim;
    const int n = w.nthreads;
    while ((int) w.stacks.size() < n) w.stacks.push_back(new_stack());
    w.threads.assign(n, ThreadState{});
    for (int i = 0; i < n; i++) {
        ThreadState& t = w.threads[i];
        t.linear = i;
        t.idx = uint3{(unsigned) (i % bd.x), (unsigned) ((i / bd.x) % bd.y), (unsigned) (i / (bd.x * bd.y))};
        t.lane = i % 32;
        t.warp = i / 32;
        t.stack = w.stacks[i];
#if defined(VIT4J_ASAN)
        __asan_unpoison_memory_region(t.stack.base, t.stack.size); // an abandoned fiber may have left poison
#endif
        t.fctx = fc::make_fcontext(static_cast<char*>(t.stack.base) + t.stack.size, t.stack.size, fiber_main);
    }
    if (w.dyn_shared_bytes != 0) std::memset(w.dyn_shared, 0xFF, w.dyn_shared_bytes); // NaN: unwritten reads show
    const bool reverse = (w.flags & REVERSE) != 0, strict = (w.flags & STRICT) != 0;
    for (;;) {
        for (int k = 0; k < n; k++) {
            ThreadState& t = w.threads[reverse ? n - 1 - k : k];
            if (t.state != St::READY) continue;
            resume(&w, &t);
            if (!w.error.empty()) return;
        }
        int exited = 0, barrier = 0, warp = 0;
        for (int i = 0; i < n; i++) {
            St s = w.threads[i].state;
            exited += s == St::EXITED;
            barrier += s == St::BARRIER;
            warp += s == St::WARP;
        }
        if (exited == n) return;
        if (warp > 0 && complete_collectives(w)) continue;
        if (!w.error.empty()) return;
        if (warp == 0 && barrier > 0) {
            if (strict && exited > 0) {
                const ThreadState *waiting = nullptr, *gone = nullptr;
                for (int i = 0; i < n; i++) {
                    if (!waiting && w.threads[i].state == St::BARRIER) waiting = &w.threads[i];
                    if (!gone && w.threads[i].state == St::EXITED) gone = &w.threads[i];
                }
                std::ostringstream e;
                e << where(w, *waiting) << ": __syncthreads reached by part of the block: " << barrier
                  << " thread(s) wait there while " << exited << " have exited, first (" << gone->idx.x << ","
                  << gone->idx.y << "," << gone->idx.z << ")";
                w.error = e.str();
                return;
            }
            // __syncthreads_{count,and,or}: every waiting thread gets the reduction over those waiting
            int count = 0, all = 1, some = 0;
            for (int i = 0; i < n; i++) {
                const ThreadState& t = w.threads[i];
                if (t.state != St::BARRIER) continue;
                count += t.pred != 0;
                all &= t.pred != 0;
                some |= t.pred != 0;
            }
            for (int i = 0; i < n; i++) {
                ThreadState& t = w.threads[i];
                if (t.state != St::BARRIER) continue;
                t.result = (uint64_t) (t.reduce_op == 0 ? count : t.reduce_op == 1 ? all : some);
                t.state = St::READY;
            }
            continue;
        }
        std::ostringstream e;
        e << "kernel " << w.kernel << ", block (" << bidx.x << "," << bidx.y << "," << bidx.z
          << "): deadlock: no thread can run" << describe_states(w);
        w.error = e.str();
        return;
    }
}

// ---- the worker pool --------------------------------------------------------------------------------

struct Job {
    const char* kernel;
    dim3 grid, block;
    size_t shared;
    int flags;
    const std::function<void()>* body;
    long long total;
    std::atomic<long long> next{0};
    std::atomic<bool> abort{false};
    std::mutex mu;
    std::string error;
};

void run_blocks(Job& job) {
    static thread_local Worker worker;
    Worker& w = worker;
    tl_worker = &w;
    w.body = job.body;
    w.kernel = job.kernel;
    w.flags = job.flags;
    w.nthreads = (int) (job.block.x * job.block.y * job.block.z);
#if defined(VIT4J_ASAN)
    if (!w.dyn_shared_store.empty()) __asan_unpoison_memory_region(w.dyn_shared_store.data(), w.dyn_shared_store.size());
#endif
    w.dyn_shared_store.assign(job.shared + 1024, 0);
    w.dyn_shared = w.dyn_shared_store.data() + (1024 - reinterpret_cast<uintptr_t>(w.dyn_shared_store.data()) % 1024) % 1024;
    w.dyn_shared_bytes = job.shared;
#if defined(VIT4J_ASAN) // the slack around it: a read past either end is reported, as without the alignment
    __asan_poison_memory_region(w.dyn_shared_store.data(), w.dyn_shared - w.dyn_shared_store.data());
    __asan_poison_memory_region(w.dyn_shared + job.shared, w.dyn_shared_store.data() + w.dyn_shared_store.size() - (w.dyn_shared + job.shared));
#endif
    w.error.clear();
    tl_geometry.block_dim = job.block;
    tl_geometry.grid_dim = job.grid;
    const long long gx = job.grid.x, gy = job.grid.y;
    for (long long b; !job.abort.load(std::memory_order_relaxed) && (b = job.next.fetch_add(1)) < job.total;) {
        run_block(w, uint3{(unsigned) (b % gx), (unsigned) ((b / gx) % gy), (unsigned) (b / (gx * gy))});
        if (!w.error.empty()) {
            std::lock_guard<std::mutex> g(job.mu);
            if (job.error.empty()) job.error = w.error;
            job.abort = true;
        }
    }
    tl_worker = nullptr;
}

class Pool {
  public:
    static Pool& get() {
        static Pool* pool = new Pool(); // never destroyed: workers may outlive static destruction
        return *pool;
    }
    int workers() const { return (int) helpers_.size() + 1; }

    void run(Job& job) {
        std::unique_lock<std::mutex> one_launch(launch_mu_);
        {
            std::lock_guard<std::mutex> g(mu_);
            job_ = &job;
            pending_ = (int) helpers_.size();
            generation_++;
        }
        cv_.notify_all();
        run_blocks(job); // the launching thread works too
        std::unique_lock<std::mutex> g(mu_);
        done_.wait(g, [&] { return pending_ == 0; });
        job_ = nullptr;
    }

  private:
    Pool() {
        int n = (int) std::thread::hardware_concurrency();
        if (const char* e = std::getenv("VIT4J_CUDA_CPU_WORKERS")) n = std::atoi(e);
        if (n < 1) n = 1;
        for (int i = 1; i < n; i++) helpers_.emplace_back([this] { loop(); });
        for (auto& t : helpers_) t.detach();
    }
    void loop() {
        unsigned long long seen = 0;
        for (;;) {
            Job* job;
            {
                std::unique_lock<std::mutex> g(mu_);
                cv_.wait(g, [&] { return generation_ != seen; });
                seen = generation_;
                job = job_;
            }
            run_blocks(*job);
            std::lock_guard<std::mutex> g(mu_);
            if (--pending_ == 0) done_.notify_all();
        }
    }
    std::mutex launch_mu_, mu_;
    std::condition_variable cv_, done_;
    std::vector<std::thread> helpers_;
    Job* job_ = nullptr;
    int pending_ = 0;
    unsigned long long generation_ = 0;
};

std::mutex last_error_mu;
std::string last_error;

} // namespace

thread_local ThreadState* tl_thread = nullptr;
thread_local Geometry tl_geometry{};

const uint3& thread_idx() { return tl_thread->idx; }

void* dynamic_shared() { return tl_worker->dyn_shared_bytes == 0 ? nullptr : tl_worker->dyn_shared; }

size_t dynamic_shared_bytes() { return tl_worker->dyn_shared_bytes; }

int worker_count() { return Pool::get().workers(); }

std::string run_grid(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, int flags,
                     const std::function<void()>& body) {
    std::ostringstream bad;
    const unsigned long long threads = (unsigned long long) block.x * block.y * block.z;
    if (block.x == 0 || block.y == 0 || block.z == 0 || threads > 1024 || block.z > 64)
        bad << "block (" << block.x << "," << block.y << "," << block.z << ") is not 1..1024 threads";
    else if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
        bad << "grid (" << grid.x << "," << grid.y << "," << grid.z << ") is outside 1..2^31-1 x 1..65535 x 1..65535";
    else if (shared_bytes > (227u << 10))
        bad << "dynamic shared memory " << shared_bytes << " bytes exceeds 227 KiB";
    if (!bad.str().empty()) return std::string("kernel ") + kernel + ": invalid launch: " + bad.str();
    if (tl_thread != nullptr) return std::string("kernel ") + kernel + ": launched from inside a kernel";
    Job job;
    job.kernel = kernel;
    job.grid = grid;
    job.block = block;
    job.shared = shared_bytes;
    job.flags = flags;
    job.body = &body;
    job.total = (long long) grid.x * grid.y * grid.z;
    Pool::get().run(job);
    return job.error;
}

int env_flags() {
    int flags = STRICT;
    const char* order = std::getenv("VIT4J_CUDA_CPU_ORDER");
    if (order && std::strcmp(order, "reverse") == 0) flags |= REVERSE;
    const char* strict = std::getenv("VIT4J_CUDA_CPU_STRICT");
    if (strict && std::strcmp(strict, "0") == 0) flags &= ~STRICT;
    return flags;
}

void syncthreads() {
    tl_thread->reduce_op = -1;
    wait_here(St::BARRIER);
}

int syncthreads_reduce(int op, int predicate) {
    tl_thread->reduce_op = op;
    tl_thread->pred = predicate;
    wait_here(St::BARRIER);
    return (int) tl_thread->result;
}

void fail(const char* what) {
    Worker* w = tl_worker;
    ThreadState* t = tl_thread;
    if (w->error.empty()) w->error = where(*w, *t) + ": " + what;
    t->state = St::FAULTED;
    to_scheduler(w, t, true);
    std::abort(); // never resumed
}

uint64_t warp_collective(int kind, unsigned mask, uint64_t bits, int arg, int width) {
    ThreadState* t = tl_thread;
    const bool strict = (tl_worker->flags & STRICT) != 0;
    if (strict && !(mask >> t->lane & 1u)) {
        char m[160];
        std::snprintf(m, sizeof m, "%s with mask 0x%x, which does not include the calling lane %d",
                      kCollective[kind], mask, t->lane);
        fail(m);
    }
    if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
        char m[120];
        std::snprintf(m, sizeof m, "%s with width %d: not a power of two in 1..32", kCollective[kind], width);
        fail(m);
    }
    t->kind = kind;
    t->mask = mask;
    t->bits = bits;
    t->arg = arg;
    t->width = width;
    wait_here(St::WARP);
    return t->result;
}

// The lanes of the calling thread's warp that exist in the block. Fibers run one at a time, so
// "converged now" has no meaning here; kernels written for converged warps see the whole warp.
unsigned active_mask() {
    const Worker& w = *tl_worker;
    const int lanes = std::min(32, w.nthreads - tl_thread->warp * 32);
    return lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
}

void set_last_error(const std::string& err) {
    std::lock_guard<std::mutex> g(last_error_mu);
    if (last_error.empty()) last_error = err;
    std::fprintf(stderr, "vit4j cuda-cpu: %s\n", err.c_str());
}

} // namespace vit4j_cpu

// ---- the runtime API of the standalone checks ----------------------------------------------------

struct vit4j_cpu_event {
    std::chrono::steady_clock::time_point at;
};

cudaError_t cudaMalloc(void** p, size_t bytes) {
    // Exactly `bytes` (no rounding up), so AddressSanitizer sees a read one past the end.
    if (posix_memalign(p, 256, bytes > 0 ? bytes : 1) != 0) return cudaErrorMemoryAllocation;
    return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
    std::free(p);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
    if (bytes) std::memset(p, value, bytes);
    return cudaSuccess;
}
static cudaError_t take_error(bool clear) {
    std::lock_guard<std::mutex> g(vit4j_cpu::last_error_mu);
    cudaError_t e = vit4j_cpu::last_error.empty() ? cudaSuccess : cudaErrorLaunchFailure;
    (void) clear; // launch faults are sticky, as on a device
    return e;
}
cudaError_t cudaDeviceSynchronize() { return take_error(false); }
cudaError_t cudaGetLastError() { return take_error(true); }
cudaError_t cudaPeekAtLastError() { return take_error(false); }
const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        default: return "cudaErrorLaunchFailure";
    }
}
const char* cudaGetErrorString(cudaError_t e) {
    if (e == cudaErrorLaunchFailure) {
        std::lock_guard<std::mutex> g(vit4j_cpu::last_error_mu);
        static thread_local std::string copy;
        copy = vit4j_cpu::last_error;
        return copy.c_str();
    }
    return cudaGetErrorName(e);
}
cudaError_t cudaEventCreate(cudaEvent_t* e) {
    *e = new vit4j_cpu_event();
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    e->at = std::chrono::steady_clock::now(); // launches are synchronous: now is when the work before ended
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = std::chrono::duration<float, std::milli>(b->at - a->at).count();
    return cudaSuccess;
}
