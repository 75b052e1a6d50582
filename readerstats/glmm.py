"""Logistic GLMM with crossed random intercepts for reader and item, fitted by the Laplace approximation.

Model: logit P(correct_k) = x_k'beta + u_reader(k) + v_item(k), u ~ N(0, s_r^2), v ~ N(0, s_i^2), independent.
The marginal likelihood integrates the random effects out; here it is approximated as in lme4's ``glmer`` with
``nAGQ = 1`` (Bates et al. 2015): with spherical random effects b = Lambda w (w ~ N(0, I)), the conditional mode
w* maximises log p(y | w) - |w|^2 / 2 (penalised IRLS, Newton steps with step halving), and

    -2 log L(beta, s) ~ -2 log p(y | w*) + |w*|^2 + log det(Lambda Z' W Z Lambda + I),

W the binomial weights at w*. The outer optimiser (L-BFGS-B, s >= 0) minimises this over beta and s jointly.
Standard errors come from the numerical Hessian of that deviance in (s, beta), as lme4 does by default.

statsmodels' ``BinomialBayesMixedGLM`` is a variational Bayes fit (a mean-field approximation of the posterior),
not a likelihood fit; it is not used. Pure computation (NumPy, SciPy), named results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, stats
from scipy.special import expit, log_expit
from threadpoolctl import threadpool_limits

from readerstats.core import CONFIDENCE, _ordered_unique, _Result

METHOD = "logistic GLMM, crossed random intercepts (reader, item), Laplace approximation (as lme4 nAGQ=1)"


@dataclass(frozen=True)
class GlmmFit(_Result):
    """A fitted logistic GLMM (log-odds scale) with crossed reader and item random intercepts."""

    estimable: bool
    reason: str | None
    method: str
    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    stderrs: tuple[float, ...]
    reader_variance: float | None
    item_variance: float | None
    log_likelihood: float | None
    answer_count: int
    reader_count: int
    item_count: int
    converged: bool


@dataclass(frozen=True)
class GlmmAccuracy(_Result):
    """Accuracy of the typical reader on the typical item: expit(intercept) of ``correct ~ 1 + (1|reader) + (1|item)``.

    The CI is expit of the Wald interval of the intercept; ``p_value`` is the Wald test of intercept 0, i.e.
    accuracy 50%. This is a conditional (median-reader, median-item) accuracy, not the population average.
    """

    estimable: bool
    reason: str | None
    method: str
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    log_odds: float | None
    log_odds_se: float | None
    z: float | None
    p_value: float | None
    reader_variance: float | None
    item_variance: float | None
    confidence: float
    fit: GlmmFit


class _Problem:
    def __init__(self, y, x, reader_index, item_index, r, m):
        self.y, self.x = y, x
        self.ri, self.ii = reader_index, item_index + r
        self.r, self.q = r, r + m
        self.w_start = np.zeros(self.q)

    def _lam(self, sigma):
        return np.concatenate([np.full(self.r, sigma[0]), np.full(self.q - self.r, sigma[1])])

    def _system(self, weights, lam):
        """Lambda Z'WZ Lambda + I in blocks: readers (dense r x r), cross (r x m), items (diagonal)."""
        r, q = self.r, self.q
        m = q - r
        diagonal = np.bincount(self.ri, weights, q) + np.bincount(self.ii, weights, q)
        diagonal = lam**2 * diagonal + 1.0
        cross = np.bincount(self.ri * m + (self.ii - r), weights, r * m).reshape(r, m)
        cross = lam[:r, None] * cross * lam[None, r:]
        items = diagonal[r:]
        schur = np.diag(diagonal[:r]) - (cross / items[None, :]) @ cross.T
        return cross, items, np.linalg.cholesky(schur)

    @staticmethod
    def _solve(system, rhs):
        cross, items, chol = system
        r = chol.shape[0]
        top = rhs[:r] - cross @ (rhs[r:] / items)
        # Cholesky solve (LAPACK potrs): the same solution as two general solves, without an LU factorisation
        x_r = linalg.cho_solve((chol, True), top)
        return np.concatenate([x_r, (rhs[r:] - cross.T @ x_r) / items])

    @staticmethod
    def _logdet(system):
        _, items, chol = system
        return float(np.sum(np.log(items))) + 2 * float(np.sum(np.log(np.diag(chol))))

    def deviance(self, params, *, keep=True):
        p = self.x.shape[1]
        beta, sigma = params[:p], np.abs(params[p:])
        lam = self._lam(sigma)
        offset = self.x @ beta
        w = self.w_start.copy()

        def penalised(w):
            eta = offset + lam[self.ri] * w[self.ri] + lam[self.ii] * w[self.ii]
            loglik = float(np.sum(self.y * log_expit(eta) + (1 - self.y) * log_expit(-eta)))
            return -2 * loglik + float(w @ w), eta

        current, eta = penalised(w)
        for _ in range(100):
            mu = expit(eta)
            residual = self.y - mu
            gradient = np.bincount(self.ri, residual, self.q) + np.bincount(self.ii, residual, self.q)
            gradient = lam * gradient - w
            step = self._solve(self._system(mu * (1 - mu), lam), gradient)
            factor = 1.0
            while True:
                candidate, candidate_eta = penalised(w + factor * step)
                if candidate <= current + 1e-12 or factor < 1e-8:
                    break
                factor /= 2
            w = w + factor * step
            converged = np.max(np.abs(factor * step)) < 1e-8
            current, eta = candidate, candidate_eta
            if converged:
                break
        mu = expit(eta)
        logdet = self._logdet(self._system(mu * (1 - mu), lam))
        if keep:
            self.w_start = w
        return current + logdet


def _numerical_hessian(function, point, steps):
    n = len(point)
    hessian = np.zeros((n, n))
    f0 = function(point)
    for a in range(n):
        for b in range(a, n):
            ea, eb = np.zeros(n), np.zeros(n)
            ea[a], eb[b] = steps[a], steps[b]
            if a == b:
                value = (function(point + ea) - 2 * f0 + function(point - ea)) / steps[a] ** 2
            else:
                value = (
                    function(point + ea + eb)
                    - function(point + ea - eb)
                    - function(point - ea + eb)
                    + function(point - ea - eb)
                ) / (4 * steps[a] * steps[b])
            hessian[a, b] = hessian[b, a] = value
    return hessian


def glmm_fit(correct, reader, item, *, covariate=None, covariate_name: str = "covariate") -> GlmmFit:
    """Fit ``correct ~ 1 [+ covariate] + (1|reader) + (1|item)``; ``correct`` 0/1 (None/NaN rows are dropped).

    BLAS runs on one thread here: the matrices are small (readers x items), and a multithreaded BLAS on busy cores
    spends more time waiting for its threads than computing (the fit is 5-30 times slower on a loaded machine).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _glmm_fit(correct, reader, item, covariate=covariate, covariate_name=covariate_name)


def _glmm_fit(correct, reader, item, *, covariate, covariate_name) -> GlmmFit:
    columns = [list(correct), list(reader), list(item)] + ([list(covariate)] if covariate is not None else [])
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    y = np.array([np.nan if value is None else float(value) for value in columns[0]], dtype=float)
    keep = np.isfinite(y)
    if np.any((y[keep] != 0) & (y[keep] != 1)):
        raise ValueError("correct must be 0/1 (or True/False)")
    reader = np.asarray(columns[1], dtype=object)[keep]
    item = np.asarray(columns[2], dtype=object)[keep]
    y = y[keep]
    terms = ("(Intercept)",) + ((covariate_name,) if covariate is not None else ())
    x = np.ones((len(y), len(terms)))
    if covariate is not None:
        x[:, 1] = np.asarray(columns[3], dtype=float)[keep]
    readers, items = _ordered_unique(reader), _ordered_unique(item)
    counts = dict(answer_count=len(y), reader_count=len(readers), item_count=len(items))

    def not_estimable(reason):
        return GlmmFit(False, reason, METHOD, terms, (), (), None, None, None, converged=False, **counts)

    if len(y) == 0:
        return not_estimable("not estimable because there are no answers")
    if len(readers) < 2:
        return not_estimable(
            "not estimable because there is one reader: the reader variance needs at least two"
        )
    if len(items) < 2:
        return not_estimable("not estimable because there is one item: the item variance needs at least two")
    if np.all(y == 1) or np.all(y == 0):
        word = "correct" if y[0] == 1 else "wrong"
        return not_estimable(f"not estimable because every answer is {word}: the log-odds are infinite")
    if covariate is not None and np.ptp(x[:, 1]) == 0:
        return not_estimable(f"not estimable because {covariate_name} does not vary")
    lookup = {value: k for k, value in enumerate(readers)}
    reader_index = np.array([lookup[value] for value in reader])
    lookup = {value: k for k, value in enumerate(items)}
    item_index = np.array([lookup[value] for value in item])
    problem = _Problem(y, x, reader_index, item_index, len(readers), len(items))
    # start: GLM intercept, unit standard deviations
    mean = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    start = np.concatenate([[math.log(mean / (1 - mean))], np.zeros(len(terms) - 1), [1.0, 1.0]])
    p = len(terms)
    bounds = [(None, None)] * p + [(0.0, None), (0.0, None)]
    result = optimize.minimize(
        problem.deviance, start, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500}
    )
    optimum = result.x

    def frozen(params):
        return problem.deviance(params, keep=False)

    hessian_point = optimum.copy()
    # (s, beta) order as lme4; keep s away from the 0 boundary for the differences
    steps = np.full(len(optimum), 1e-4)
    steps[p:] = np.maximum(1e-4, 1e-3 * np.abs(optimum[p:]))
    for k in range(p, len(optimum)):
        if hessian_point[k] < steps[k]:
            hessian_point[k] = steps[k]
    hessian = _numerical_hessian(frozen, hessian_point, steps)
    try:
        covariance = 2 * np.linalg.inv(hessian)
        variances = np.diag(covariance)[:p]
    except np.linalg.LinAlgError:
        variances = np.full(p, np.nan)
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        # the random-effect SD is on its boundary: fall back to the beta block alone
        try:
            variances = np.diag(2 * np.linalg.inv(hessian[:p, :p]))
        except np.linalg.LinAlgError:
            return not_estimable("not estimable because the information matrix is singular")
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        return not_estimable("not estimable because the information matrix is not positive definite")
    return GlmmFit(
        True,
        None,
        METHOD,
        terms,
        tuple(float(value) for value in optimum[:p]),
        tuple(float(math.sqrt(value)) for value in variances),
        float(optimum[p] ** 2),
        float(optimum[p + 1] ** 2),
        float(-result.fun / 2),
        converged=bool(result.success),
        **counts,
    )


def glmm_accuracy(correct, reader, item, *, confidence: float = CONFIDENCE) -> GlmmAccuracy:
    """Accuracy with CI, reader and item variance components and the test against 50% from the GLMM."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    fit = glmm_fit(correct, reader, item)
    if not fit.estimable:
        return GlmmAccuracy(
            False, fit.reason, METHOD, None, None, None, None, None, None, None, None, None, confidence, fit
        )
    b, se = fit.coefficients[0], fit.stderrs[0]
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    z = b / se
    return GlmmAccuracy(
        True,
        None,
        METHOD,
        float(expit(b)),
        float(expit(b - q * se)),
        float(expit(b + q * se)),
        b,
        se,
        float(z),
        float(2 * stats.norm.sf(abs(z))),
        fit.reader_variance,
        fit.item_variance,
        confidence,
        fit,
    )
