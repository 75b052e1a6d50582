"""Fitting the GLMM: named results, standard errors, Satterthwaite degrees of freedom, accuracy."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import expit
from threadpoolctl import threadpool_limits

from readerstats.core import CONFIDENCE, _ordered_unique, _Result
from readerstats.glmm.laplace import _numerical_hessian, _Problem
from readerstats.glmm.optimiser import COMPONENTS, _Optimiser

METHOD = "logistic GLMM, crossed random intercepts (reader, item), Laplace approximation (as lme4 nAGQ=1)"


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
