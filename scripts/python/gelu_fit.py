#!/usr/bin/env python3
"""The polynomial of the OpenCL kernels' exact GELU (kernels/opencl/common.cl), and its error in float.

GELU(x) = x Phi(x), Phi(-|x|) = erfc(z) / 2 with z = |x| / sqrt 2, computed as
    Phi(-|x|) = t R(t) exp(-z^2),  t = 1 / (1 + p z),  R(t) = erfcx(z) / (2 t).
R is smooth on t in (t_min, 1] (erfcx = erfc(z) exp(z^2)), so a polynomial fits it to a small relative
error, and relative error in R is relative error in Phi(-|x|): the negative tail keeps full precision.

  fit:   for each p on a grid, a degree-d polynomial by Lawson-weighted least squares (iteratively
         reweighted toward the minimax relative error) on Chebyshev-spaced t over z in [0, 9.5]
         (x down to -13.4, below which GELU's value is below float's normal range); keeps the best p.
  check: the whole GELU as common.cl evaluates it, in float32 (fma emulated through double, exact for
         a float product), against x / 2 erfc(-x / sqrt 2) in double on [-13.2, 12] and on 1e6
         N(0, 3^2) samples: max relative error and max error in float ulps.

  python3 scripts/python/gelu_fit.py [degree] [p_lo p_hi]     (numpy; about 10 s)
Prints p / sqrt 2 and the coefficients in the form common.cl carries, and the check for the fit and
for the degree-10, p = 1/2 form it replaced (2026-12-04: degree 7 at p = 0.428, 9.5e-8 in double;
in float both forms come to ~4.5e-7 relative, 7 ulp, where the exp and the roundings dominate).
"""
import math
import sys

import numpy as np

F = np.float32


def erfcx(z):
    return np.array([math.erfc(v) * math.exp(v * v) for v in z])


def fit(deg, p, zmax=9.5, n=3000, iters=200):
    tmin = 1 / (1 + p * zmax)
    t = (1 + tmin) / 2 + (1 - tmin) / 2 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    z = (1 / t - 1) / p
    r = erfcx(z) / t / 2
    v = np.vander(t, deg + 1, increasing=True)
    w = np.ones(n)
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(v * (w / r)[:, None], w, rcond=None)
        e = np.abs(v @ c - r) / r
        w = w * np.sqrt(e / e.max()) + 1e-12
        w /= w.max()
    return c, (np.abs(v @ c - r) / r).max()


def fma(a, b, c):
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(F)


def exp_neg_half_square(x, fold_lo=True):
    """common.cl's gelu_exp_nhsq: exp(-x^2 / 2) with x^2 = hi + lo; lo folded into r (or, the old
    form, a (1 - lo / 2) factor after)."""
    hi = (x * x).astype(F)
    lo = fma(x, x, -hi)
    y = (F(-0.5) * hi).astype(F)
    yc = np.where(y < F(-104.0), F(-104.0), y).astype(F)
    t = fma(yc, F(1.44269504), F(12582912.0))
    n = (t - F(12582912.0)).astype(F)
    r = fma(n, F(-float.fromhex("0x1.62e4p-1")), yc)
    r = fma(n, F(-1.42860677e-6), r)
    if fold_lo:
        r = fma(lo, F(-0.5), r)
    q = fma(r, F(0.00137514086), F(0.00836891867))
    for c in (0.0416695327, 0.166665182, 0.499999881):
        q = fma(q, r, F(c))
    pe = (fma((r * r).astype(F), q, r) + F(1)).astype(F)
    ni = t.view(np.int32) - 0x4B400000
    n1 = ni >> 1
    n2 = ni - n1
    e = (pe * ((n1 + 127) << 23).astype(np.int32).view(F) * ((n2 + 127) << 23).astype(np.int32).view(F)).astype(F)
    return e if fold_lo else (e * fma(F(-0.5), lo, F(1))).astype(F)


def gelu_float(x, p_over_sqrt2, coef, half_folded=True):
    t = (F(1) / fma(F(p_over_sqrt2), np.abs(x), F(1))).astype(F)
    r = np.full_like(x, F(coef[-1]))
    for c in coef[-2::-1]:
        r = fma(r, t, F(c))
    if half_folded:  # the polynomial is R = erfcx / (2 t): e = Phi(-|x|)
        e = ((t * r).astype(F) * exp_neg_half_square(x)).astype(F)
        return np.where(x >= 0, fma(-x, e, x), (x * e).astype(F))
    e = ((t * r).astype(F) * exp_neg_half_square(x, fold_lo=False)).astype(F)  # e = erfc(z)
    return np.where(x >= 0, (x - (F(0.5) * x * e).astype(F)).astype(F), (F(0.5) * x * e).astype(F))


def check(name, got, x, want):
    m = np.abs(want) > 1e-37
    err = np.abs(got.astype(np.float64) - want)[m]
    rel = err / np.abs(want[m])
    ulp = err / np.spacing(np.abs(want[m]).astype(F)).astype(np.float64)
    print(f"{name}: max relative error {rel.max():.2e} (at x = {x[m][rel.argmax()]:.4f}), mean {rel.mean():.2e}, "
          f"max {ulp.max():.1f} ulp")


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    lo, hi = (float(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (0.38, 0.46)
    best = min((fit(deg, p) + (p,) for p in np.linspace(lo, hi, 11)), key=lambda f: f[1])
    c, e, p = best
    coef = c.astype(F)
    print(f"degree {deg}, p = {p:.4f}: max relative error of the fit (double) {e:.2e}")
    print(f"p / sqrt 2 = {F(p / math.sqrt(2)):.9g}")
    print("coefficients, t^0 first: " + ", ".join(f"{v:.9g}" for v in coef))
    x = np.concatenate([np.linspace(-13.2, 12, 2000001),
                        np.random.default_rng(1).standard_normal(1000000) * 3]).astype(F)
    want = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    check(f"GELU in float, degree {deg}", gelu_float(x, p / math.sqrt(2), coef), x, want)
    old = [0.282094795, 0.282093853, 0.246880586, 0.175376841, 0.0930005012, -0.0572320681, 0.12708825,
           -0.446975295, 0.486176613, -0.230856381, 0.0423522946]
    check("GELU in float, the degree-10 form it replaced", gelu_float(x, 0.35355339059327376, np.array(old, F),
                                                                     half_folded=False), x, want)


if __name__ == "__main__":
    main()
