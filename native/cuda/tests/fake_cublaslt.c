// A fake libcublasLt.so.13 for CudaNativeTest (see fake_common.h). Its descriptors, layouts and
// preferences are structs that remember what was set on them; cublasLtMatmul logs all of it with its
// own arguments in one line, so a test sees every argument that reached cuBLASLt. Every create and
// destroy is logged with the object's address and counted (live), so a test sees what was made, that
// nothing leaked and that nothing was destroyed twice: a destroyed object is only marked dead (never
// freed), so destroying or using it again is logged ("... twice", "... destroyed ...") and fails with
// CUBLAS_STATUS_INVALID_VALUE instead of corrupting the heap. cublasLtMatmulAlgoGetHeuristic returns
// one algorithm (data[0] = 0xa160) unless told to fail. Prototypes as ../cublas_decl.h declares them.
#include "fake_common.h"

#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

static int handle_storage;
static int live; // descriptors, layouts and preferences not yet destroyed

typedef struct {
    int dead;
    int compute, scale, transa, transb, biasType;
    unsigned epilogue;
    const void* bias;
} Desc;
typedef struct {
    int dead;
    int type;
    unsigned long long rows, cols;
    long long ld;
} Layout;
typedef struct {
    int dead;
    unsigned long long maxWorkspace;
} Pref;

#define ADDR(p) ((unsigned long long) (uintptr_t) (p))

/** Marks a live object dead (0), or logs the second destroy of one (7). */
static int fake_destroy(const char* call, int* dead, const void* p) {
    if (*dead) {
        fake_log("%s 0x%llx twice", call, ADDR(p));
        return 7;
    }
    *dead = 1;
    live--;
    fake_log("%s 0x%llx", call, ADDR(p));
    return 0;
}

/** 0 if every object is alive, else logs that {@code call} was given a destroyed one and returns 7. */
static int fake_alive(const char* call, const Desc* d, const Layout* a, const Layout* b, const Layout* c,
                      const Layout* dl) {
    if ((d != NULL && d->dead) || (a != NULL && a->dead) || (b != NULL && b->dead) || (c != NULL && c->dead)
        || (dl != NULL && dl->dead)) {
        fake_log("%s given a destroyed descriptor or layout", call);
        return 7;
    }
    return 0;
}


EXPORT int cublasLtCreate(void** handle) {
    fake_log("cublasLtCreate");
    *handle = &handle_storage;
    return fake_result("cublasLtCreate");
}

EXPORT int cublasLtDestroy(void* handle) {
    fake_log("cublasLtDestroy own=%d live=%d", handle == &handle_storage, live);
    return fake_result("cublasLtDestroy");
}

EXPORT int cublasLtMatmulDescCreate(Desc** desc, int compute, int scale) {
    *desc = calloc(1, sizeof(Desc));
    (*desc)->compute = compute;
    (*desc)->scale = scale;
    (*desc)->biasType = -1;
    live++;
    fake_log("cublasLtMatmulDescCreate 0x%llx compute=%d scale=%d", ADDR(*desc), compute, scale);
    return fake_result("cublasLtMatmulDescCreate");
}

EXPORT int cublasLtMatmulDescDestroy(Desc* desc) {
    return fake_destroy("cublasLtMatmulDescDestroy", &desc->dead, desc);
}

EXPORT int cublasLtMatmulDescSetAttribute(Desc* d, int attr, const void* buf, size_t size) {
    if (fake_alive("cublasLtMatmulDescSetAttribute", d, NULL, NULL, NULL, NULL) != 0) return 7;
    switch (attr) {
    case 3: if (size != 4) return 7; d->transa = *(const int32_t*) buf; break;
    case 4: if (size != 4) return 7; d->transb = *(const int32_t*) buf; break;
    case 7: if (size != 4) return 7; d->epilogue = *(const uint32_t*) buf; break;
    case 8: if (size != sizeof(void*)) return 7; d->bias = *(const void* const*) buf; break;
    case 26: if (size != 4) return 7; d->biasType = *(const int32_t*) buf; break;
    default: fake_log("cublasLtMatmulDescSetAttribute unexpected attribute %d", attr); return 7;
    }
    return fake_result("cublasLtMatmulDescSetAttribute");
}

EXPORT int cublasLtMatrixLayoutCreate(Layout** layout, int type, unsigned long long rows, unsigned long long cols,
                                      long long ld) {
    *layout = calloc(1, sizeof(Layout));
    (*layout)->type = type;
    (*layout)->rows = rows;
    (*layout)->cols = cols;
    (*layout)->ld = ld;
    live++;
    fake_log("cublasLtMatrixLayoutCreate 0x%llx type=%d rows=%llu cols=%llu ld=%lld", ADDR(*layout), type, rows, cols, ld);
    return fake_result("cublasLtMatrixLayoutCreate");
}

EXPORT int cublasLtMatrixLayoutDestroy(Layout* layout) {
    return fake_destroy("cublasLtMatrixLayoutDestroy", &layout->dead, layout);
}

EXPORT int cublasLtMatmulPreferenceCreate(Pref** pref) {
    *pref = calloc(1, sizeof(Pref));
    live++;
    fake_log("cublasLtMatmulPreferenceCreate 0x%llx", ADDR(*pref));
    return fake_result("cublasLtMatmulPreferenceCreate");
}

EXPORT int cublasLtMatmulPreferenceDestroy(Pref* pref) {
    return fake_destroy("cublasLtMatmulPreferenceDestroy", &pref->dead, pref);
}

EXPORT int cublasLtMatmulPreferenceSetAttribute(Pref* pref, int attr, const void* buf, size_t size) {
    if (attr != 1 || size != 8) {
        fake_log("cublasLtMatmulPreferenceSetAttribute unexpected attribute %d size %zu", attr, size);
        return 7;
    }
    pref->maxWorkspace = *(const unsigned long long*) buf;
    return 0;
}

typedef struct {
    unsigned long long data[8];
    size_t workspaceSize;
    int state;
    float wavesCount;
    int reserved[4];
} Result;

EXPORT int cublasLtMatmulAlgoGetHeuristic(void* handle, Desc* d, Layout* a, Layout* b, Layout* c, Layout* dl, Pref* p,
                                          int requested, Result* results, int* found) {
    (void) handle;
    if (fake_alive("cublasLtMatmulAlgoGetHeuristic", d, a, b, c, dl) != 0 || p->dead) return 7;
    fake_log("cublasLtMatmulAlgoGetHeuristic requested=%d maxWorkspace=%llu desc=0x%llx", requested, p->maxWorkspace,
             ADDR(d));
    int r = fake_result("cublasLtMatmulAlgoGetHeuristic");
    if (r != 0) return r;
    char line[256];
    if (fake_control("hide", "algorithms", line, sizeof line)) {
        *found = 0;
        return 0;
    }
    memset(results, 0, sizeof(Result));
    results[0].data[0] = 0xa160;
    results[0].workspaceSize = 1024;
    *found = 1;
    return 0;
}

static void layout_text(char* out, size_t size, const Layout* l) {
    snprintf(out, size, "%d:%llux%llu/%lld", l->type, l->rows, l->cols, l->ld);
}

EXPORT int cublasLtMatmul(void* handle, Desc* d, const void* alpha, const void* A, Layout* la, const void* B, Layout* lb,
                          const void* beta, const void* C, Layout* lc, void* D, Layout* ld,
                          const unsigned long long* algo, void* workspace, size_t workspaceBytes, void* stream) {
    char a[64], b[64], c[64], dd[64];
    if (fake_alive("cublasLtMatmul", d, la, lb, lc, ld) != 0) return 7;
    layout_text(a, sizeof a, la);
    layout_text(b, sizeof b, lb);
    layout_text(c, sizeof c, lc);
    layout_text(dd, sizeof dd, ld);
    fake_log("cublasLtMatmul own=%d compute=%d scale=%d transa=%d transb=%d epilogue=%u bias=0x%llx biasType=%d "
             "alpha=%g A=0x%llx %s B=0x%llx %s beta=%g C=0x%llx %s D=0x%llx %s algo=0x%llx workspace=0x%llx bytes=%zu "
             "stream=0x%llx",
             handle == &handle_storage, d->compute, d->scale, d->transa, d->transb, d->epilogue,
             (unsigned long long) (uintptr_t) d->bias, d->biasType, (double) *(const float*) alpha,
             (unsigned long long) (uintptr_t) A, a, (unsigned long long) (uintptr_t) B, b, (double) *(const float*) beta,
             (unsigned long long) (uintptr_t) C, c, (unsigned long long) (uintptr_t) D, dd, algo[0],
             (unsigned long long) (uintptr_t) workspace, workspaceBytes, (unsigned long long) (uintptr_t) stream);
    return fake_result("cublasLtMatmul");
}
