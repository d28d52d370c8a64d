// What a host <-> device round trip costs on an OpenCL CPU device (PoCL), apart from any kernel: the
// figures behind the choice not to stage transfers (README, "Performance, measured", tenth session).
// Each measurement starts on an idle queue (2 ms of sleep first), as a pass's upload and its final
// reads do: the device's threads are asleep, and on a VM each wake-up goes through the hypervisor.
//   apt-get install opencl-headers ocl-icd-opencl-dev
//   gcc -O2 -o /tmp/roundtrips bench/cpu/opencl_roundtrips.c -lOpenCL
//   /tmp/roundtrips [RUNS]      (default 200; prints the median and the 10th and 90th percentiles)
// Rows: a blocking 4 KB read (a pass's logits); a blocking write of one 224 x 224 image (588 KiB); the
// same write non-blocking, its enqueue and then the wait for it; a wait on an event already complete;
// two non-blocking 4 KB reads and one wait (what one wait for a pass's two downloads would cost).
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define CK(x) do { cl_int e_ = (x); if (e_) { fprintf(stderr, "%s:%d err %d\n", __FILE__, __LINE__, e_); exit(1); } } while (0)
static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static int cmp(const void* a, const void* b) { double x = *(const double*) a, y = *(const double*) b; return x < y ? -1 : x > y; }
enum { READ, WRITE, WRITE_ENQUEUE, WRITE_WAIT, WAIT_DONE, TWO_READS, ROWS };
int main(int argc, char** argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 200;
  if (runs < 10) { fprintf(stderr, "RUNS must be >= 10\n"); return 2; }
  cl_platform_id pf; CK(clGetPlatformIDs(1, &pf, NULL));
  cl_device_id dev; CK(clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, 1, &dev, NULL));
  char name[256]; CK(clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL));
  cl_int e; cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e); CK(e);
  cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &e); CK(e);
  const size_t image = 3 * 224 * 224 * sizeof(float), small = 1000 * sizeof(float);
  cl_mem big = clCreateBuffer(ctx, CL_MEM_READ_WRITE, image, NULL, &e); CK(e);
  cl_mem s1 = clCreateBuffer(ctx, CL_MEM_READ_WRITE, small, NULL, &e); CK(e);
  cl_mem s2 = clCreateBuffer(ctx, CL_MEM_READ_WRITE, small, NULL, &e); CK(e);
  float* hb = malloc(image); float* h1 = malloc(small); float* h2 = malloc(small);
  memset(hb, 0, image);
  double* t[ROWS];
  for (int k = 0; k < ROWS; k++) t[k] = malloc(runs * sizeof(double));
  for (int i = 0; i < runs; i++) {
    usleep(2000);
    double a = now_us(); CK(clEnqueueReadBuffer(q, s1, CL_TRUE, 0, small, h1, 0, NULL, NULL)); t[READ][i] = now_us() - a;
    usleep(2000);
    a = now_us(); CK(clEnqueueWriteBuffer(q, big, CL_TRUE, 0, image, hb, 0, NULL, NULL)); t[WRITE][i] = now_us() - a;
    usleep(2000);
    cl_event ev;
    a = now_us(); CK(clEnqueueWriteBuffer(q, big, CL_FALSE, 0, image, hb, 0, NULL, &ev)); double b = now_us();
    CK(clWaitForEvents(1, &ev)); double c = now_us();
    CK(clWaitForEvents(1, &ev)); t[WAIT_DONE][i] = now_us() - c;
    t[WRITE_ENQUEUE][i] = b - a; t[WRITE_WAIT][i] = c - b;
    CK(clReleaseEvent(ev));
    usleep(2000);
    a = now_us();
    CK(clEnqueueReadBuffer(q, s1, CL_FALSE, 0, small, h1, 0, NULL, NULL));
    CK(clEnqueueReadBuffer(q, s2, CL_FALSE, 0, small, h2, 0, NULL, &ev));
    CK(clWaitForEvents(1, &ev)); t[TWO_READS][i] = now_us() - a;
    CK(clReleaseEvent(ev));
  }
  static const char* rows[ROWS] = {"blocking read, 4 KB", "blocking write, 588 KiB", "non-blocking write: enqueue",
                                   "  then the wait", "wait on a completed event", "2 non-blocking 4 KB reads + 1 wait"};
  printf("# %s, %d runs each, us (median, p10, p90)\n", name, runs);
  for (int k = 0; k < ROWS; k++) {
    qsort(t[k], runs, sizeof(double), cmp);
    printf("%-36s %8.1f %8.1f %8.1f\n", rows[k], t[k][runs / 2], t[k][runs / 10], t[k][9 * runs / 10]);
  }
  return 0;
}
