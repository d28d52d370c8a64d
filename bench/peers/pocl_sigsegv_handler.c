/* pocl_sigsegv_handler.c: which SIGSEGV handler a process has after PoCL creates a context and builds a
 * program (bench/results/2026-12-02-pocl-signal-stress.txt). Installs a JVM-like SA_SIGINFO handler first.
 *   cc -o /tmp/pocl_sigsegv_handler bench/peers/pocl_sigsegv_handler.c -ldl && /tmp/pocl_sigsegv_handler */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
typedef int cl_int; typedef unsigned int cl_uint; typedef void *ptr;
static void show(const char *when) {
  struct sigaction sa; sigaction(SIGSEGV, NULL, &sa);
  Dl_info info; void *h = (sa.sa_flags & SA_SIGINFO) ? (void *)sa.sa_sigaction : (void *)sa.sa_handler;
  const char *lib = "?", *sym = "?";
  if (h && dladdr(h, &info)) { lib = info.dli_fname; sym = info.dli_sname ? info.dli_sname : "?"; }
  printf("%s: SIGSEGV handler %p (%s in %s) flags SA_RESETHAND=%d SA_NODEFER=%d SA_ONSTACK=%d SA_SIGINFO=%d\n", when, h, sym, lib,
         !!(sa.sa_flags & SA_RESETHAND), !!(sa.sa_flags & SA_NODEFER), !!(sa.sa_flags & SA_ONSTACK), !!(sa.sa_flags & SA_SIGINFO));
}
static void mine(int s, siginfo_t *i, void *c) { (void)s; (void)i; (void)c; }
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = mine; sa.sa_flags = SA_SIGINFO | SA_RESTART; sigaction(SIGSEGV, &sa, NULL);
  show("before OpenCL (a JVM-like SA_SIGINFO handler of the program)");
  void *cl = dlopen("libOpenCL.so.1", RTLD_NOW);
  cl_int (*getPlatforms)(cl_uint, ptr *, cl_uint *) = dlsym(cl, "clGetPlatformIDs");
  cl_int (*getDevices)(ptr, unsigned long, cl_uint, ptr *, cl_uint *) = dlsym(cl, "clGetDeviceIDs");
  ptr (*createContext)(ptr, cl_uint, ptr *, ptr, ptr, cl_int *) = dlsym(cl, "clCreateContext");
  ptr (*createProgram)(ptr, cl_uint, const char **, const size_t *, cl_int *) = dlsym(cl, "clCreateProgramWithSource");
  cl_int (*build)(ptr, cl_uint, ptr *, const char *, ptr, ptr) = dlsym(cl, "clBuildProgram");
  ptr p[4]; cl_uint n; getPlatforms(4, p, &n); ptr d; getDevices(p[0], 0xFFFFFFFF, 1, &d, NULL);
  cl_int err; ptr ctx = createContext(NULL, 1, &d, NULL, NULL, &err);
  show("after clCreateContext");
  const char *src = "__kernel void k(__global float *a) { a[get_global_id(0)] *= 2.0f; }";
  ptr prog = createProgram(ctx, 1, &src, NULL, &err);
  err = build(prog, 1, &d, "", NULL, NULL);
  printf("clBuildProgram: %d\n", err);
  show("after clBuildProgram");
  return 0;
}
