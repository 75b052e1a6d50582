"""Logistic GLMM with crossed random intercepts for reader and item, fitted by the Laplace approximation.

Model: logit P(correct_k) = x_k'beta + u_reader(k) + v_item(k), u ~ N(0, s_r^2), v ~ N(0, s_i^2), independent.
The marginal likelihood integrates the random effects out; here it is approximated as in lme4's ``glmer`` with
``nAGQ = 1`` (Bates et al. 2015): with spherical random effects b = Lambda(theta) w, w ~ N(0, I), Lambda the
diagonal relative covariance factor (theta_r for every reader, theta_i for every item; for the binomial family
theta is the standard deviation itself), the conditional mode w* maximises log p(y | w) - |w|^2 / 2 (penalised
IRLS, Newton steps with step halving), and

    -2 log L(beta, theta) ~ -2 log p(y | w*) + |w*|^2 + log det(Lambda Z' W Z Lambda + I),

W the binomial weights at w*.

The optimisation follows lme4 (``glmer``'s two stages) with bounds theta >= 0:

1. theta alone, beta estimated with the random effects inside the penalised IRLS (lme4's nAGQ = 0 stage);
2. beta and theta together on the Laplace deviance, from stage 1's estimates;

both with a derivative-free bounded optimiser (SciPy's Nelder-Mead with bounds), then Newton polishing on the
coordinates off the boundary (finite-difference gradient and Hessian). A component that ends on its bound 0 is
started again from the interior (theta = 1, lme4's start) and the better optimum kept. ``converged`` is only True
when the optimum is verified: the scaled gradient (the Newton step, as lme4's check) of the free coordinates is
below ``GRADIENT_TOLERANCE``, and every component on the boundary satisfies the Karush-Kuhn-Tucker condition.
The deviance is an even function of theta (theta and -theta give the same model), so its derivative in theta at
0 is always 0; the one-sided condition is checked on the variance scale: (D(theta_k = h) - D(0)) / h^2 >= 0, the
derivative of the deviance with respect to the variance theta_k^2 at 0.

Standard errors come from the numerical Hessian of that deviance in (theta, beta), as lme4 does by default.

statsmodels' ``BinomialBayesMixedGLM`` is a variational Bayes fit (a mean-field approximation of the posterior),
not a likelihood fit; it is not used. Pure computation (NumPy, SciPy), named results.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, stats
from scipy.special import expit, log_expit
from threadpoolctl import threadpool_limits

from readerstats.core import CONFIDENCE, _ordered_unique, _Result

METHOD = "logistic GLMM, crossed random intercepts (reader, item), Laplace approximation (as lme4 nAGQ=1)"
COMPONENTS = ("reader", "item")
GRADIENT_TOLERANCE = 1e-4
"""Largest accepted Newton step (scaled gradient) of the free coordinates at the optimum (lme4 accepts 2e-3)."""
KKT_TOLERANCE = 1e-6
"""Smallest accepted derivative of the deviance with respect to a variance on its bound 0 (negative: tolerance)."""
BOUNDARY = 0.05
"""A theta below this is tried at exactly 0 (the bound), and kept there when the deviance is no higher."""


@dataclass(frozen=True)
class GlmmFit(_Result):
    """A fitted logistic GLMM (log-odds scale) with crossed reader and item random intercepts.

    ``theta`` holds the relative covariance factors (reader, item), the random-effect standard deviations;
    ``on_boundary`` names the components whose optimum is at 0; ``convergence`` says how the optimum was checked
    (or why it is not verified, then ``converged`` is False).
    """

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
    theta: tuple[float, ...] = ()
    on_boundary: tuple[str, ...] = ()
    convergence: str | None = None
    covariance: tuple[tuple[float, ...], ...] = ()
    """Covariance matrix of the fixed effects (``terms`` order), from the Hessian of the Laplace deviance."""
    theta_covariance: tuple[tuple[float, ...], ...] = ()
    """Covariance of the thetas off the boundary (empty when every component is on it)."""
    covariance_derivatives: tuple[tuple[tuple[float, ...], ...], ...] = field(
        default=(), metadata={"serialise": False}
    )
    """d covariance / d theta_k for each theta off the boundary (for Satterthwaite degrees of freedom)."""


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
    """The Laplace deviance of one data set as a function of (beta, theta)."""

    def __init__(self, y, x, reader_index, item_index, r, m):
        self.y, self.x = y, x
        self.sign = 2 * y - 1
        self.ri, self.ii = reader_index, item_index + r
        self.r, self.q = r, r + m
        self.w_start = np.zeros(self.q)
        self.evaluations = 0

    def _lam(self, theta):
        return np.concatenate([np.full(self.r, theta[0]), np.full(self.q - self.r, theta[1])])

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

    def _z_sum(self, values):
        """Z' values: sums over each reader's and each item's rows."""
        return np.bincount(self.ri, values, self.q) + np.bincount(self.ii, values, self.q)

    def _penalised(self, offset, lam, w):
        eta = offset + lam[self.ri] * w[self.ri] + lam[self.ii] * w[self.ii]
        # log p(y | eta) = log expit(eta) for y = 1 and log expit(-eta) for y = 0: one call with the sign of y
        loglik = float(np.sum(log_expit(self.sign * eta)))
        return -2 * loglik + float(w @ w), eta

    def deviance(self, params, *, keep=True):
        """Laplace deviance at ``params`` = (beta, theta): the conditional modes by penalised IRLS."""
        self.evaluations += 1
        p = self.x.shape[1]
        beta, theta = params[:p], np.abs(params[p:])
        lam = self._lam(theta)
        offset = self.x @ beta
        w = self.w_start.copy()
        current, eta = self._penalised(offset, lam, w)
        for _ in range(100):
            mu = expit(eta)
            gradient = lam * self._z_sum(self.y - mu) - w
            step = self._solve(self._system(mu * (1 - mu), lam), gradient)
            factor = 1.0
            while True:
                candidate, candidate_eta = self._penalised(offset, lam, w + factor * step)
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
        if keep and np.all(np.isfinite(w)):
            self.w_start = w
        return current + logdet

    def profiled(self, theta, beta_start):
        """lme4's nAGQ = 0 stage: (beta, w) jointly by penalised IRLS at ``theta``; returns (deviance, beta)."""
        p = self.x.shape[1]
        lam = self._lam(np.abs(theta))
        w, beta = self.w_start.copy(), np.array(beta_start, dtype=float)
        current, eta = self._penalised(self.x @ beta, lam, w)
        for _ in range(100):
            mu = expit(eta)
            weights = mu * (1 - mu)
            residual = self.y - mu
            system = self._system(weights, lam)
            cross = np.column_stack([lam * self._z_sum(weights * self.x[:, k]) for k in range(p)])
            solved = np.column_stack([self._solve(system, cross[:, k]) for k in range(p)])
            g_w = lam * self._z_sum(residual) - w
            g_b = self.x.T @ residual
            a_g = self._solve(system, g_w)
            schur = self.x.T @ (weights[:, None] * self.x) - cross.T @ solved
            step_b = np.linalg.solve(schur, g_b - cross.T @ a_g)
            step_w = a_g - solved @ step_b
            factor = 1.0
            while True:
                candidate, candidate_eta = self._penalised(
                    self.x @ (beta + factor * step_b), lam, w + factor * step_w
                )
                if candidate <= current + 1e-12 or factor < 1e-8:
                    break
                factor /= 2
            w, beta = w + factor * step_w, beta + factor * step_b
            size = max(np.max(np.abs(factor * step_w)), np.max(np.abs(factor * step_b)))
            current, eta = candidate, candidate_eta
            if size < 1e-8:
                break
        mu = expit(eta)
        if np.all(np.isfinite(w)):
            self.w_start = w
        return current + self._logdet(self._system(mu * (1 - mu), lam)), beta


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


def _numerical_gradient(function, point, steps):
    gradient = np.zeros(len(point))
    for a in range(len(point)):
        e = np.zeros(len(point))
        e[a] = steps[a]
        gradient[a] = (function(point + e) - function(point - e)) / (2 * steps[a])
    return gradient


def _nelder_mead(function, start, steps, bounds):
    """Bounded Nelder-Mead from ``start`` with an initial simplex of the given step per coordinate."""
    start = np.asarray(start, dtype=float)
    simplex = [start]
    for k, step in enumerate(steps):
        vertex = start.copy()
        vertex[k] += step
        simplex.append(vertex)
    return optimize.minimize(
        function,
        start,
        method="Nelder-Mead",
        bounds=bounds,
        options={
            "initial_simplex": np.array(simplex),
            # loose: the Newton polishing that follows gives the precision
            "xatol": 1e-3,
            "fatol": 1e-5,
            "maxfev": 4000 * len(start),
            "adaptive": len(start) > 3,
        },
    )


@dataclass(frozen=True)
class _Optimum:
    params: np.ndarray
    deviance: float
    converged: bool
    boundary: tuple[int, ...]
    message: str


class _Optimiser:
    """The bounded two-stage optimisation, Newton polishing and the verification of the optimum."""

    def __init__(self, problem: _Problem, p: int):
        self.problem, self.p = problem, p

    def frozen(self, params):
        return self.problem.deviance(np.asarray(params, dtype=float), keep=False)

    def stage_one(self, beta_start):
        beta = [np.array(beta_start, dtype=float)]

        def objective(theta):
            value, estimate = self.problem.profiled(np.asarray(theta), beta[0])
            beta[0] = estimate
            return value

        result = _nelder_mead(objective, np.ones(2), np.full(2, 0.5), [(0.0, None), (0.0, None)])
        self.problem.profiled(result.x, beta[0])
        return np.concatenate([beta[0], result.x])

    def stage_two(self, start):
        p = self.p
        bounds = [(None, None)] * p + [(0.0, None), (0.0, None)]
        steps = np.concatenate([0.1 * np.abs(start[:p]) + 0.05, 0.1 * np.abs(start[p:]) + 0.05])
        result = _nelder_mead(self.problem.deviance, start, steps, bounds)
        return self.polish(result.x)

    def polish(self, params):
        """Newton steps on the coordinates off the boundary; a theta below BOUNDARY is tried at exactly 0."""
        p = self.p
        params = np.array(params, dtype=float)
        params[p:] = np.maximum(params[p:], 0.0)
        best = self.frozen(params)
        params, best = self._try_zero(params, best)
        params, best, scaled = self._newton(params, best)
        # Newton creeps towards a bound at 0 (the deviance is flat in theta there): try the bound itself again
        trial, value = self._try_zero(params, best)
        if not np.array_equal(trial, params):
            params, best, scaled = self._newton(trial, value)
        return params, best, scaled

    def _try_zero(self, params, best):
        p = self.p
        for k in range(2):
            if 0 < params[p + k] < BOUNDARY:
                trial = params.copy()
                trial[p + k] = 0.0
                value = self.frozen(trial)
                if value <= best + 1e-9:
                    params, best = trial, value
        return params, best

    def _newton(self, params, best):
        p = self.p
        scaled = None
        for _ in range(6):
            free = [k for k in range(p + 2) if k < p or params[k] > 0]
            steps = np.full(len(free), 1e-4)
            point = params[free]

            def restricted(values, free=free, base=params):
                full = base.copy()
                full[free] = values
                return self.frozen(full)

            gradient = _numerical_gradient(restricted, point, steps)
            hessian = _numerical_hessian(restricted, point, steps)
            try:
                newton = np.linalg.solve(hessian, gradient)
                np.linalg.cholesky(hessian)
            except np.linalg.LinAlgError:
                return params, best, None
            scaled = float(np.max(np.abs(newton)))
            if scaled < 1e-6:
                return params, best, scaled
            factor, improved = 1.0, False
            while factor > 1e-4:
                trial = params.copy()
                trial[free] = point - factor * newton
                trial[p:] = np.maximum(trial[p:], 0.0)
                value = self.frozen(trial)
                if value <= best:
                    params, best, improved = trial, value, True
                    break
                factor /= 2
            if not improved:
                return params, best, scaled
        return params, best, scaled

    def kkt(self, params) -> dict[int, float]:
        """For each theta on the bound 0: (D(theta = h) - D(0)) / h^2, the derivative of the deviance in the
        variance at 0 (the smallest over h = 1e-2, 1e-3)."""
        p = self.p
        base = self.frozen(params)
        derivatives = {}
        for k in range(2):
            if params[p + k] > 0:
                continue
            values = []
            for h in (1e-2, 1e-3):
                trial = params.copy()
                trial[p + k] = h
                values.append((self.frozen(trial) - base) / h**2)
            derivatives[k] = min(values)
        return derivatives

    def run(self, beta_start) -> _Optimum:
        p = self.p
        start = self.stage_one(beta_start)
        params, best, scaled = self.stage_two(start)
        restarted = False
        if np.any(params[p:] == 0):
            # a second phase from the interior: a boundary optimum must also be reached from inside
            interior = params.copy()
            interior[p:] = np.where(params[p:] == 0, 1.0, params[p:])
            self.problem.w_start = np.zeros(self.problem.q)
            other = self.stage_two(interior)
            restarted = True
            if other[1] < best - 1e-9:
                params, best, scaled = other
        derivatives = self.kkt(params)
        boundary = tuple(sorted(derivatives))
        problems = []
        if scaled is None:
            problems.append("the Hessian of the free coordinates is not positive definite")
        elif scaled > GRADIENT_TOLERANCE:
            problems.append(f"the scaled gradient is {scaled:.1e} (tolerance {GRADIENT_TOLERANCE:.0e})")
        for k, value in derivatives.items():
            if value < -KKT_TOLERANCE:
                problems.append(
                    f"the {COMPONENTS[k]} variance is 0 but the deviance decreases away from 0 "
                    f"(derivative {value:.2e})"
                )
        if problems:
            message = "not verified: " + "; ".join(problems)
        else:
            parts = [f"scaled gradient {0.0 if scaled is None else scaled:.1e}"]
            parts += [
                f"{COMPONENTS[k]} variance on its bound 0, derivative of the deviance {value:.2e} >= 0"
                for k, value in derivatives.items()
            ]
            if restarted:
                parts.append("restarted from the interior")
            message = "verified optimum: " + "; ".join(parts)
        return _Optimum(params, best, not problems, boundary, message)


def _standard_errors(optimiser: _Optimiser, optimum: np.ndarray, p: int):
    """Covariance of beta (the inverse Hessian of the deviance in (theta, beta), times 2) and of the free thetas."""
    point = optimum.copy()
    # (theta, beta) as lme4; keep theta away from the 0 boundary for the differences
    steps = np.full(len(optimum), 1e-4)
    steps[p:] = np.maximum(1e-4, 1e-3 * np.abs(optimum[p:]))
    for k in range(p, len(optimum)):
        if point[k] < steps[k]:
            point[k] = steps[k]
    hessian = _numerical_hessian(optimiser.frozen, point, steps)
    covariance, theta_covariance = None, None
    with contextlib.suppress(np.linalg.LinAlgError):
        inverse = 2 * np.linalg.inv(hessian)
        covariance, theta_covariance = inverse[:p, :p], inverse[p:, p:]
    if covariance is None or not np.all(np.isfinite(np.diag(covariance))) or np.any(np.diag(covariance) <= 0):
        # a random-effect SD on its boundary: the beta block alone
        theta_covariance = None
        try:
            covariance = 2 * np.linalg.inv(hessian[:p, :p])
        except np.linalg.LinAlgError:
            return None, None
    if not np.all(np.isfinite(np.diag(covariance))) or np.any(np.diag(covariance) <= 0):
        return None, None
    return covariance, theta_covariance


def _covariance_derivatives(optimiser: _Optimiser, optimum: np.ndarray, p: int, free: list[int]):
    """d Cov(beta) / d theta_k for the free components: central differences of 2 H_bb^-1 at fixed beta."""
    derivatives = []
    for k in free:
        h = max(1e-3, 1e-2 * optimum[p + k])
        values = []
        for sign in (1, -1):
            point = optimum.copy()
            point[p + k] += sign * h
            hessian = _numerical_hessian(optimiser.frozen, point, np.full(len(point), 1e-4))[:p, :p]
            values.append(2 * np.linalg.inv(hessian))
        derivatives.append((values[0] - values[1]) / (2 * h))
    return derivatives


def satterthwaite_df(fit: GlmmFit, gradient) -> float | None:
    """Satterthwaite degrees of freedom of the linear function ``gradient . beta`` of the fixed effects:
    2 V^2 / (dV' A dV), V = g' Cov(beta) g, dV its derivatives in the free thetas and A their covariance (the
    approach of lmerTest, Kuznetsova, Brockhoff & Christensen 2017, J Stat Softw 82(13)). None when no variance
    component is free (then the normal distribution applies)."""
    if not fit.theta_covariance:
        return None
    g = np.asarray(gradient, dtype=float)
    variance = float(g @ np.array(fit.covariance) @ g)
    slopes = np.array([g @ np.array(d) @ g for d in fit.covariance_derivatives])
    spread = float(slopes @ np.array(fit.theta_covariance) @ slopes)
    if not spread > 0:
        return None
    return 2 * variance**2 / spread


def _matrix(values) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(value) for value in row) for row in np.atleast_2d(values))


def glmm_fit(
    correct,
    reader,
    item,
    *,
    covariate=None,
    covariate_name: str = "covariate",
    fixed: Mapping[str, object] | None = None,
) -> GlmmFit:
    """Fit ``correct ~ 1 [+ covariate | + fixed terms] + (1|reader) + (1|item)``; ``correct`` 0/1 (None/NaN
    rows are dropped). ``fixed`` maps term names to numeric columns (dummy codes, covariates) added to the
    intercept; ``covariate`` is the one-column shorthand.

    BLAS runs on one thread here: the matrices are small (readers x items), and a multithreaded BLAS on busy cores
    spends more time waiting for its threads than computing (the fit is 5-30 times slower on a loaded machine).
    """
    if covariate is not None:
        if fixed is not None:
            raise ValueError("give either covariate or fixed, not both")
        fixed = {covariate_name: covariate}
    with threadpool_limits(limits=1, user_api="blas"):
        return _glmm_fit(correct, reader, item, dict(fixed or {}))


def _glmm_fit(correct, reader, item, fixed: dict) -> GlmmFit:
    columns = [list(correct), list(reader), list(item)] + [list(column) for column in fixed.values()]
    if len({len(column) for column in columns}) != 1:
        raise ValueError(f"columns differ in length: {[len(column) for column in columns]}")
    y = np.array([np.nan if value is None else float(value) for value in columns[0]], dtype=float)
    keep = np.isfinite(y)
    if np.any((y[keep] != 0) & (y[keep] != 1)):
        raise ValueError("correct must be 0/1 (or True/False)")
    reader = np.asarray(columns[1], dtype=object)[keep]
    item = np.asarray(columns[2], dtype=object)[keep]
    y = y[keep]
    terms = ("(Intercept)", *fixed)
    x = np.ones((len(y), len(terms)))
    for k, column in enumerate(columns[3:]):
        values = np.array([np.nan if value is None else float(value) for value in column], dtype=float)[keep]
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{terms[k + 1]} must be numeric with no missing value")
        x[:, k + 1] = values
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
    for k, term in enumerate(terms[1:], start=1):
        if np.ptp(x[:, k]) == 0:
            return not_estimable(f"not estimable because {term} does not vary")
    if np.linalg.matrix_rank(x) < len(terms):
        return not_estimable("not estimable because the fixed effects are collinear")
    for k, term in enumerate(terms[1:], start=1):
        # a dummy term whose answers are all correct (or all wrong) has an infinite coefficient
        rows = x[:, k] != 0
        if set(np.unique(x[:, k])) <= {0.0, 1.0} and (np.all(y[rows] == 1) or np.all(y[rows] == 0)):
            word = "correct" if y[rows][0] == 1 else "wrong"
            return not_estimable(
                f"not estimable because every answer with {term} is {word}: its log-odds are infinite"
            )
    lookup = {value: k for k, value in enumerate(readers)}
    reader_index = np.array([lookup[value] for value in reader])
    lookup = {value: k for k, value in enumerate(items)}
    item_index = np.array([lookup[value] for value in item])
    problem = _Problem(y, x, reader_index, item_index, len(readers), len(items))
    p = len(terms)
    # start: the ordinary logistic regression (a few IRLS steps), as glmer starts from glm
    beta = np.zeros(p)
    for _ in range(25):
        mu = expit(x @ beta)
        weights = np.maximum(mu * (1 - mu), 1e-10)
        step = np.linalg.solve(x.T @ (weights[:, None] * x), x.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8 or np.max(np.abs(beta)) > 30:
            break
    optimiser = _Optimiser(problem, p)
    optimum = optimiser.run(np.clip(beta, -10, 10))
    covariance, theta_covariance = _standard_errors(optimiser, optimum.params, p)
    if covariance is None:
        return not_estimable("not estimable because the information matrix is not positive definite")
    theta = optimum.params[p:]
    free = [k for k in range(2) if k not in optimum.boundary]
    derivatives = ()
    if theta_covariance is not None and free:
        theta_covariance = theta_covariance[np.ix_(free, free)]
        derivatives = _covariance_derivatives(optimiser, optimum.params, p, free)
    else:
        theta_covariance = None
    return GlmmFit(
        True,
        None,
        METHOD,
        terms,
        tuple(float(value) for value in optimum.params[:p]),
        tuple(float(math.sqrt(value)) for value in np.diag(covariance)),
        float(theta[0] ** 2),
        float(theta[1] ** 2),
        float(-optimum.deviance / 2),
        converged=optimum.converged,
        theta=tuple(float(value) for value in theta),
        on_boundary=tuple(COMPONENTS[k] for k in optimum.boundary),
        convergence=optimum.message,
        covariance=_matrix(covariance),
        theta_covariance=() if theta_covariance is None else _matrix(theta_covariance),
        covariance_derivatives=tuple(_matrix(d) for d in derivatives),
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
