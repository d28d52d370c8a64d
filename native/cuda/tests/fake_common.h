// Shared by the fake libcuda.so.1 and libcublas.so.* that CudaNativeTest points libvit4j_cuda.so at
// (no GPU, driver or cuBLAS is needed to run it). A fake learns what to do from the file
// "fake.control" next to itself (read at every call, so a test may change it between calls) and
// appends one line per call, with every argument it received, to "fake.log" there. Control lines:
//   fail <symbol> <code>     <symbol> returns <code> instead of success
//   hide <symbol>            cuGetProcAddress does not find <symbol>
//   params <bytes> ...       cuLaunchKernelEx logs that many kernel parameters of those sizes (hex)
// Tests copy the fakes into a directory of their own, so each copy is a separate library instance.
#ifndef VIT4J_FAKE_COMMON_H
#define VIT4J_FAKE_COMMON_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fake_dir(char* out, size_t size) {
    Dl_info info;
    out[0] = '\0';
    if (dladdr((void*) &fake_dir, &info) == 0 || info.dli_fname == NULL) return;
    snprintf(out, size, "%s", info.dli_fname);
    char* slash = strrchr(out, '/');
    if (slash != NULL) *slash = '\0';
    else snprintf(out, size, ".");
}

/** The control line that starts with "<verb> <symbol>", copied to line; 0 if none. */
static int fake_control(const char* verb, const char* symbol, char* line, size_t size) {
    char dir[4096], path[4200];
    fake_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fake.control", dir);
    FILE* f = fopen(path, "r");
    if (f == NULL) return 0;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s %s", verb, symbol);
    size_t plen = strlen(prefix);
    int found = 0;
    while (fgets(line, (int) size, f) != NULL) {
        if (strncmp(line, prefix, plen) == 0 && (line[plen] == ' ' || line[plen] == '\n' || line[plen] == '\0')) {
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

/** The code a "fail <symbol> <code>" line sets, else 0 (success). */
static int fake_result(const char* symbol) {
    char line[512];
    if (!fake_control("fail", symbol, line, sizeof line)) return 0;
    return atoi(line + strlen("fail ") + strlen(symbol));
}

static void fake_log(const char* format, ...) {
    char dir[4096], path[4200];
    fake_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/fake.log", dir);
    FILE* f = fopen(path, "a");
    if (f == NULL) return;
    va_list args;
    va_start(args, format);
    vfprintf(f, format, args);
    va_end(args);
    fputc('\n', f);
    fclose(f);
}
#endif
