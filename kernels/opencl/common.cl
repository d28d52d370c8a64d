// Shared by every OpenCL program of vit4j: ClRuntime puts this file in front of each kernel file.

// The exact GELU, x * Phi(x) = x / 2 * erfc(-x / sqrt 2) (the erf form, not tanh). Two choices:
// - erfc, not 1 + erf: for negative x, 1 + erf cancels to a few correct bits (1% off at x = -4),
//   while erfc keeps full relative precision in the tail.
// - erfc from its Chebyshev fit, erfc(z) = t exp(-z^2 - 1.26551223 + t P(t)), t = 1 / (1 + z / 2),
//   z >= 0 (Numerical Recipes, 2nd ed., 6.2; fractional error < 1.2e-7), with
//   erfc(-z) = 2 - erfc(z) for the other sign. It is plain arithmetic and two exps, so it
//   vectorises: PoCL's built-in erfc costs 66 ns per scalar call, which made the GELU epilogue a
//   third of the first MLP layer. The macros work on float and every floatN.
// erfc(|x| / sqrt 2) with t = 1 / (1 + |x| / (2 sqrt 2)). The exponent -x^2/2 is split as
// exp(-hi / 2) * exp(-lo / 2 + ...), hi = fl(x * x), lo = fma(x, x, -hi) its exact rounding error:
// one exp of -x^2/2 - 1.27 would round the sum to float at magnitude ~70 and lose 1e-5 of the
// result deep in the tail (x = -11.6).
#define ERFC_OF_X(x, t) ((t) * exp(-0.5f * ((x) * (x))) * exp(-0.5f * fma((x), (x), -((x) * (x))) - 1.26551223f + \
    (t) * (1.00002368f + (t) * (0.37409196f + (t) * (0.09678418f + (t) * (-0.18628806f + (t) * (0.27886807f + \
    (t) * (-1.13520398f + (t) * (1.48851587f + (t) * (-0.82215223f + (t) * 0.17087277f))))))))))
#define GELU_FROM_ERFC(x, e) ((x) >= 0.0f ? (x) - 0.5f * (x) * (e) : 0.5f * (x) * (e))
#define GELU(x) GELU_FROM_ERFC((x), ERFC_OF_X((x), 1.0f / (1.0f + 0.35355339059327376f * fabs(x))))
