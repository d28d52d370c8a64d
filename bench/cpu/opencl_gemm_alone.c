// linear_v5 alone through OpenCL (PoCL on a CPU): what the GEMM does outside a forward pass, to tell
// the kernel's own speed from what the pass around it costs (README, "Performance, measured").
// Builds common.cl + linear.cl from a kernel directory with the given defines, packs W with
// linear_pack_v5, times linear_v5 (median and best of REPS after 2 untimed), checks 2000 outputs
// against a double dot product (relative L2).
//   apt-get install opencl-headers ocl-icd-opencl-dev
//   gcc -O2 -o /tmp/gemm_alone bench/cpu/opencl_gemm_alone.c -lOpenCL -lm
//   /tmp/gemm_alone kernels/opencl "-D GEMM_V5_VW=16 -D GEMM_V5_MR=6 -D GEMM_V5_NR=64" 6 64 8 EPILOGUE M K N [REPS]
// EPILOGUE: 0 none, 1 bias, 2 bias + GELU, 3 bias + residual (linear.cl's EPI_*). Environment:
//   NSETS=12   rotate 12 copies (at most 64) of A, packed W and C, as the 12 layers of a pass do (caches no longer
//              hold them; at batch 1 W's copies need more than L3 to come from DRAM as they do in the pass: NSETS=40)
//   ROTATE=AWC which of them rotate (default all three; ROTATE=W: only the weights come in cold)
//   PAIR=X     also time rotation X paired with ROTATE, run by run in alternating order (X: none rotates)
//   KDIR2=dir  with PAIR: the paired runs take linear_v5 from this kernel directory (an A/B of two kernel versions)
//   FLUSH=MB   touch MB megabytes between runs (cold caches)
//   HEADS=h TOKENS=t   QKV output layout (the check then does not apply)
//   ALL=1      print every run;  BATCHED=n  also time n launches queued back to back (launch overhead)
//   INPLACE=1  the residual is C itself (epilogue 3 as the pass runs it: x += proj(...), fc2(...))
//   GROUP=g    linear_v5's work order: g row work-groups through every panel at a time (default: all, plain)
// Run it with nothing else busy on the machine: a second busy process halves what two threads get here.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#define CK(x) do { cl_int e_ = (x); if (e_) { fprintf(stderr, "%s:%d err %d\n", __FILE__, __LINE__, e_); exit(1);} } while (0)
static char* slurp(const char* p) { FILE* f = fopen(p, "rb"); if (!f) { perror(p); exit(1);} fseek(f, 0, 2); long n = ftell(f); rewind(f);
  char* s = malloc(n + 1); fread(s, 1, n, f); s[n] = 0; fclose(f); return s; }
static double now() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
// common.cl + linear.cl from kernel directory `dir`, built with `opts` (the build log on failure)
static cl_program build(cl_context ctx, cl_device_id dev, const char* dir, const char* opts) {
  char path[512]; snprintf(path, sizeof path, "%s/common.cl", dir); char* c = slurp(path);
  snprintf(path, sizeof path, "%s/linear.cl", dir); char* l = slurp(path);
  char* src = malloc(strlen(c) + strlen(l) + 32); sprintf(src, "%s\n#line 1\n%s", c, l);
  cl_int e; cl_program p = clCreateProgramWithSource(ctx, 1, (const char**)&src, NULL, &e); CK(e);
  if (clBuildProgram(p, 1, &dev, opts, NULL, NULL)) { char log[65536]; clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL); fprintf(stderr, "%s\n", log); exit(1); }
  return p;
}
static int cmp(const void* a, const void* b) { double x = *(double*)a, y = *(double*)b; return x < y ? -1 : x > y; }
int main(int argc, char** argv) {
  const char* dir = argv[1]; const char* opt = argv[2];
  int MR = atoi(argv[3]), NR = atoi(argv[4]), WGX = atoi(argv[5]), EPI = atoi(argv[6]);
  int M = atoi(argv[7]), K = atoi(argv[8]), N = atoi(argv[9]); int reps = argc > 10 ? atoi(argv[10]) : 20;
  const char* kname = argc > 11 ? argv[11] : "linear_v5";
  cl_platform_id pf; CK(clGetPlatformIDs(1, &pf, NULL)); cl_device_id dev; CK(clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, 1, &dev, NULL));
  cl_int e; cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e); CK(e);
  cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &e); CK(e);
  char o[1024]; snprintf(o, sizeof o, "-cl-std=CL1.2 -D VIT4J_STORAGE_F32 -D EPILOGUE=%d %s", EPI, opt);
  cl_program p = build(ctx, dev, dir, o);
  size_t panels = (N + NR - 1) / NR;
  float* A = malloc(sizeof(float) * M * K); float* W = malloc(sizeof(float) * N * K); float* B = malloc(sizeof(float) * N);
  float* R = malloc(sizeof(float) * M * N); float* C = malloc(sizeof(float) * M * N);
  srand(1); for (long i = 0; i < (long)M * K; i++) A[i] = rand() / (float)RAND_MAX - .5f;
  for (long i = 0; i < (long)N * K; i++) W[i] = rand() / (float)RAND_MAX - .5f;
  for (int i = 0; i < N; i++) B[i] = rand() / (float)RAND_MAX - .5f;
  for (long i = 0; i < (long)M * N; i++) R[i] = rand() / (float)RAND_MAX - .5f;
  cl_mem dA = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * M * K, A, &e); CK(e);
  cl_mem dW = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * N * K, W, &e); CK(e);
  cl_mem dWp = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4L * panels * NR * K + 4096, NULL, &e); CK(e);
  cl_mem dB = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * N, B, &e); CK(e);
  cl_mem dR = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * M * N, R, &e); CK(e);
  cl_mem dC = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4L * M * N, NULL, &e); CK(e);
  cl_kernel pk = clCreateKernel(p, "linear_pack_v5", &e); CK(e);
  clSetKernelArg(pk, 0, 8, &dW); clSetKernelArg(pk, 1, 8, &dWp); clSetKernelArg(pk, 2, 4, &N); clSetKernelArg(pk, 3, 4, &K);
  size_t pg[2] = {K, panels * NR}; CK(clEnqueueNDRangeKernel(q, pk, 2, NULL, pg, NULL, 0, NULL, NULL)); CK(clFinish(q));
  cl_kernel k = clCreateKernel(p, kname, &e); CK(e);
  cl_kernel k2 = NULL; // KDIR2: the same kernel from a second kernel directory, for PAIR
  if (getenv("KDIR2")) { k2 = clCreateKernel(build(ctx, dev, getenv("KDIR2"), o), kname, &e); CK(e); }

  int tokens = getenv("TOKENS") ? atoi(getenv("TOKENS")) : 1, heads = getenv("HEADS") ? atoi(getenv("HEADS")) : 0;
  int nsets = getenv("NSETS") ? atoi(getenv("NSETS")) : 1; cl_mem sA[64], sW[64], sC[64];
  if (nsets < 1 || nsets > 64) { fprintf(stderr, "NSETS must be 1 to 64, not %d\n", nsets); return 2; } sA[0] = dA; sW[0] = dWp; sC[0] = dC;
  for (int i = 1; i < nsets; i++) { sA[i] = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * M * K, A, &e); CK(e);
    sW[i] = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4L * panels * NR * K + 4096, NULL, &e); CK(e); CK(clEnqueueCopyBuffer(q, dWp, sW[i], 0, 0, 4L * panels * NR * K, 0, NULL, NULL));
    sC[i] = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4L * M * N, NULL, &e); CK(e); }
  clFinish(q);
  cl_mem args[5] = {dA, dWp, dB, dR, dC};
  size_t gx = (M + MR - 1) / MR; gx = (gx + WGX - 1) / WGX * WGX;
  // linear_v5's work order: GROUP row work-groups through every panel at a time (default: all of them,
  // the plain order; LinearOps.v5Group picks it in vit4j)
  int group = getenv("GROUP") ? atoi(getenv("GROUP")) : (int) (gx / WGX);
  const int inplace = getenv("INPLACE") && atoi(getenv("INPLACE"));
  cl_kernel both[2] = {k, k2};
  for (int j = 0; j < 2 && both[j]; j++) { cl_kernel kj = both[j]; for (int i = 0; i < 5; i++) clSetKernelArg(kj, i, 8, &args[i]);
    clSetKernelArg(kj, 5, 4, &M); clSetKernelArg(kj, 6, 4, &N); clSetKernelArg(kj, 7, 4, &K); clSetKernelArg(kj, 8, 4, &tokens); clSetKernelArg(kj, 9, 4, &heads); clSetKernelArg(kj, 10, 4, &group); }
  size_t g[2] = {gx, panels}, lo[2] = {WGX, 1};
  if (getenv("BATCHED")) { int n = atoi(getenv("BATCHED")); for (int w = 0; w < 3; w++) { double s0 = now(); for (int i = 0; i < n; i++) CK(clEnqueueNDRangeKernel(q, k, 2, NULL, g, lo, 0, NULL, NULL)); CK(clFinish(q)); printf("batched %d: %.1f us per kernel\n", n, (now() - s0) / n * 1e6); } }
  const char* rot = getenv("ROTATE") ? getenv("ROTATE") : "AWC";
  double t[200]; if (reps > 200) reps = 200;
  int flush = getenv("FLUSH") ? atoi(getenv("FLUSH")) : 0; static char* fb; if (flush && !fb) fb = malloc(flush << 20);
  for (int r = -2; r < reps; r++) { if (flush) { for (long i = 0; i < ((long)flush << 20); i += 64) fb[i]++; } int si = (r + 2) % nsets; clSetKernelArg(k, 0, 8, &sA[strchr(rot, 'A') ? si : 0]); clSetKernelArg(k, 1, 8, &sW[strchr(rot, 'W') ? si : 0]); clSetKernelArg(k, 4, 8, &sC[strchr(rot, 'C') ? si : 0]); if (inplace) clSetKernelArg(k, 3, 8, &sC[strchr(rot, 'C') ? si : 0]); double s = now(); CK(clEnqueueNDRangeKernel(q, k, 2, NULL, g, lo, 0, NULL, NULL)); CK(clFinish(q)); if (r >= 0) t[r] = now() - s; }
  if (getenv("PAIR")) { // the same runs paired against rotation PAIR, in alternating order: robust to a host whose speed drifts
    const char* rot2 = getenv("PAIR"); double t2[200], ratio[200]; int si = 0;
    for (int r = -2; r < reps; r++) for (int w = 0; w < 2; w++) {
      int second = (w + r) & 1; const char* ro = second ? rot2 : rot; si = (si + 1) % nsets; cl_kernel kk = second && k2 ? k2 : k;
      clSetKernelArg(kk, 0, 8, &sA[strchr(ro, 'A') ? si : 0]); clSetKernelArg(kk, 1, 8, &sW[strchr(ro, 'W') ? si : 0]); clSetKernelArg(kk, 4, 8, &sC[strchr(ro, 'C') ? si : 0]); if (inplace) clSetKernelArg(kk, 3, 8, &sC[strchr(ro, 'C') ? si : 0]);
      double s = now(); CK(clEnqueueNDRangeKernel(q, kk, 2, NULL, g, lo, 0, NULL, NULL)); CK(clFinish(q));
      if (r >= 0) { if (second) t2[r] = now() - s; else t[r] = now() - s; } }
    int wins = 0; for (int r = 0; r < reps; r++) { ratio[r] = t2[r] / t[r]; wins += t[r] < t2[r]; }
    qsort(ratio, reps, sizeof(double), cmp); qsort(t2, reps, sizeof(double), cmp);
    if (k2) printf("(PAIR runs the kernel from KDIR2=%s) ", getenv("KDIR2"));
    printf("paired: ROTATE=%s against PAIR=%s: median of time ratios (PAIR / ROTATE) %.3f, ROTATE faster in %d of %d pairs; PAIR median %.3f ms\n", rot, rot2, ratio[reps / 2], wins, reps, t2[reps / 2] * 1e3);
  }
  if (getenv("ALL")) { for (int r = 0; r < reps; r++) printf("%.2f ", t[r]*1e3); printf("\n"); } qsort(t, reps, sizeof(double), cmp);
  clSetKernelArg(k, 0, 8, &dA); clSetKernelArg(k, 1, 8, &dWp); clSetKernelArg(k, 4, 8, &dC);
  if (inplace) { CK(clEnqueueCopyBuffer(q, dR, dC, 0, 0, 4L * M * N, 0, NULL, NULL)); clSetKernelArg(k, 3, 8, &dC); } // the check below wants C = R before the run
  CK(clEnqueueNDRangeKernel(q, k, 2, NULL, g, lo, 0, NULL, NULL)); CK(clEnqueueReadBuffer(q, dC, CL_TRUE, 0, 4L * M * N, C, 0, NULL, NULL));
  // check a sample of outputs against double
  double num = 0, den = 0;
  for (int s = 0; s < 2000; s++) { int m = rand() % M, n = rand() % N; double acc = 0; for (int kk = 0; kk < K; kk++) acc += (double)A[(long)m*K+kk] * W[(long)n*K+kk];
    if (EPI >= 1) acc += B[n];
    if (EPI == 3) acc += R[(long)m*N+n];
    if (EPI == 2) acc = 0.5*acc*(1+erf(acc/sqrt(2.0)));
    double d = C[(long)m*N+n] - acc; num += d*d; den += acc*acc; }
  double fl = 2.0 * M * N * K;
  printf("GROUP=%d M=%d K=%d N=%d MR=%d NR=%d WGX=%d epi=%d %s: median %.3f ms min %.3f ms -> %.1f GFLOP/s (best %.1f) relerr %.2e\n", group, M, K, N, MR, NR, WGX, EPI, opt,
         t[reps/2]*1e3, t[0]*1e3, fl / t[reps/2] * 1e-9, fl / t[0] * 1e-9, sqrt(num/den));
  return 0;
}
