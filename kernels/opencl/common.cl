// Shared by every OpenCL program of vit4j: ClRuntime puts this file in front of each kernel file.

// The exact GELU, x * Phi(x) = x / 2 * erfc(-x / sqrt 2) (the erf form, not tanh). Two choices:
// - erfc, not 1 + erf: for negative x, 1 + erf cancels to a few correct bits (1% off at x = -4),
//   while erfc keeps full relative precision in the tail.
// - erfc(z) = t R(t) exp(-z^2), t = 1 / (1 + z / 2), z >= 0, with erfc(-z) = 2 - erfc(z) for the
//   other sign. R(t) = erfcx(z) / t is smooth on t in (0, 1] (from 1/(2 sqrt pi) at t = 0 to 1 at
//   t = 1), so a degree-10 polynomial fits it (weighted least squares, relative error 1.1e-8 in
//   double, 1.7e-7 evaluated in float by Horner). This is Numerical Recipes' Chebyshev fit
//   erfc(z) = t exp(-z^2 - 1.26551223 + t P(t)) with exp(-1.26551223 + t P(t)) replaced by its own
//   polynomial: one exp instead of two (measured 2026-11-28, PoCL, 2 cores, interleaved medians:
//   ViT-S fc1 with the GELU epilogue 148 -> 156 GFLOP/s, the elementwise GELU kernel over the same
//   1576 x 1536 floats 3.8 -> 2.5 ms).
//   It is plain arithmetic and one exp, so it vectorises: PoCL's built-in erfc costs 66 ns per
//   scalar call, which made the GELU epilogue a third of the first MLP layer. The macros work on
//   float and every floatN. (A Cody-Waite reduction with an inline e^r polynomial and no exp call,
//   and native_recip plus a Newton step for t, measured no faster.)
// exp(-z^2) = exp(-x^2 / 2) is taken as exp(-hi / 2) (1 - lo / 2), hi = fl(x * x), lo = fma(x, x, -hi)
// its exact rounding error: -hi / 2 is exact, so exp's argument carries no rounding, and |lo / 2| <
// 5e-6 makes the first-order factor exact to 1e-11. One exp of the rounded -x^2/2 would lose 1e-5 of
// the result deep in the tail (x = -11.6).
#define ERFC_OF_X(x, t) ((t) * ((0.282094795f + (t) * (0.282093853f + (t) * (0.246880586f + (t) * (0.175376841f + \
    (t) * (0.0930005012f + (t) * (-0.0572320681f + (t) * (0.12708825f + (t) * (-0.446975295f + (t) * (0.486176613f + \
    (t) * (-0.230856381f + (t) * 0.0423522946f))))))))))) * exp(-0.5f * ((x) * (x))) * \
    fma(-0.5f, fma((x), (x), -((x) * (x))), 1.0f))
#define GELU_FROM_ERFC(x, e) ((x) >= 0.0f ? (x) - 0.5f * (x) * (e) : 0.5f * (x) * (e))
#define GELU(x) GELU_FROM_ERFC((x), ERFC_OF_X((x), 1.0f / (1.0f + 0.35355339059327376f * fabs(x))))
