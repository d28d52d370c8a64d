// Does replaying a recorded pass cost the device less than enqueueing its kernels one by one? The same
// chain of small kernels run both ways on an OpenCL device with cl_khr_command_buffer (PoCL 3.1 has it):
// 100 launches in an in-order queue, then one command buffer holding the same 100, each after the one
// before (sync points), timed from the first enqueue to clFinish; the median of ROUNDS rounds.
// README, "Performance, measured", tenth session: on PoCL 3.1 the replay was no faster, so vit4j does
// not record passes on OpenCL.
//   apt-get install opencl-headers ocl-icd-opencl-dev
//   gcc -O2 -o /tmp/command_buffer bench/cpu/opencl_command_buffer.c -lOpenCL
//   /tmp/command_buffer [ITERS [GLOBAL [LOCAL]]]   (defaults 10 4096 64: a kernel of 64 work-groups doing
//                                                   ITERS multiply-adds per work-item; 128 64 is two groups)
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define CK(x) do { cl_int e_ = (x); if (e_) { fprintf(stderr, "%s:%d err %d\n", __FILE__, __LINE__, e_); exit(1); } } while (0)
static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static int cmp(const void* a, const void* b) { double x = *(const double*) a, y = *(const double*) b; return x < y ? -1 : x > y; }
static const char* SRC = "__kernel void k(__global float* a, int iters) { int i = get_global_id(0); float x = a[i];"
                         " for (int j = 0; j < iters; j++) x = x * 0.999f + 0.001f; a[i] = x; }";
enum { LAUNCHES = 100, ROUNDS = 40 };
#define EXT(pf, name) ((name##_fn) clGetExtensionFunctionAddressForPlatform(pf, #name))
int main(int argc, char** argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 10;
  size_t global = argc > 2 ? (size_t) atol(argv[2]) : 4096, local = argc > 3 ? (size_t) atol(argv[3]) : 64;
  if (global == 0 || local == 0 || global % local != 0) { fprintf(stderr, "GLOBAL must be a multiple of LOCAL\n"); return 2; }
  cl_platform_id pf; CK(clGetPlatformIDs(1, &pf, NULL));
  cl_device_id dev; CK(clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, 1, &dev, NULL));
  char name[256]; CK(clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL));
  cl_int e; cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e); CK(e);
  cl_command_queue q = clCreateCommandQueueWithProperties(ctx, dev, NULL, &e); CK(e);
  cl_program p = clCreateProgramWithSource(ctx, 1, &SRC, NULL, &e); CK(e);
  CK(clBuildProgram(p, 1, &dev, "", NULL, NULL));
  cl_kernel k = clCreateKernel(p, "k", &e); CK(e);
  cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, global * sizeof(float), NULL, &e); CK(e);
  float zero = 0; CK(clEnqueueFillBuffer(q, m, &zero, sizeof zero, 0, global * sizeof(float), 0, NULL, NULL));
  CK(clSetKernelArg(k, 0, sizeof m, &m)); CK(clSetKernelArg(k, 1, sizeof iters, &iters));
  clCreateCommandBufferKHR_fn create = EXT(pf, clCreateCommandBufferKHR);
  clCommandNDRangeKernelKHR_fn record = EXT(pf, clCommandNDRangeKernelKHR);
  clFinalizeCommandBufferKHR_fn finalize = EXT(pf, clFinalizeCommandBufferKHR);
  clEnqueueCommandBufferKHR_fn replay = EXT(pf, clEnqueueCommandBufferKHR);
  if (!create || !record || !finalize || !replay) { fprintf(stderr, "%s: no cl_khr_command_buffer\n", name); return 2; }
  cl_command_buffer_khr cb = create(1, &q, NULL, &e); CK(e);
  cl_sync_point_khr prev = 0, sp;
  for (int i = 0; i < LAUNCHES; i++) {
    CK(record(cb, NULL, NULL, k, 1, NULL, &global, &local, i ? 1 : 0, i ? &prev : NULL, &sp, NULL));
    prev = sp;
  }
  CK(finalize(cb));
  double one[ROUNDS], each[ROUNDS], buffer[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double a = now_us();
    CK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL)); CK(clFinish(q));
    one[r] = now_us() - a;
    a = now_us();
    for (int i = 0; i < LAUNCHES; i++) CK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL));
    CK(clFinish(q));
    each[r] = now_us() - a;
    a = now_us();
    CK(replay(1, &q, cb, 0, NULL, NULL)); CK(clFinish(q));
    buffer[r] = now_us() - a;
  }
  qsort(one, ROUNDS, sizeof(double), cmp); qsort(each, ROUNDS, sizeof(double), cmp); qsort(buffer, ROUNDS, sizeof(double), cmp);
  printf("# %s, kernel of %zu work-items in groups of %zu, %d multiply-adds each; medians of %d rounds\n", name, global,
         local, iters, ROUNDS);
  printf("one kernel alone (enqueue to finish)   %9.1f us\n", one[ROUNDS / 2]);
  printf("%d kernels enqueued one by one        %9.1f us (%.1f us a kernel)\n", LAUNCHES, each[ROUNDS / 2], each[ROUNDS / 2] / LAUNCHES);
  printf("the same %d replayed (command buffer) %9.1f us (%.1f us a kernel)\n", LAUNCHES, buffer[ROUNDS / 2], buffer[ROUNDS / 2] / LAUNCHES);
  return 0;
}
