"""The Laplace deviance of the logistic GLMM with crossed reader and item intercepts, and finite differences."""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.special import expit, log_expit

# Relative rounding of a penalised deviance: a step that worsens it by less is not a worse step.
ROUNDING = 1e-13


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
            # Converged when the full Newton step is negligible: near the mode the penalised deviance (thousands)
            # changes by less than its rounding, so a halved step that looks no better says nothing.
            converged = np.max(np.abs(step)) < 1e-8
            factor = 1.0
            while True:
                candidate, candidate_eta = self._penalised(offset, lam, w + factor * step)
                if candidate <= current + ROUNDING * max(1.0, abs(current)) or factor < 1e-8:
                    break
                factor /= 2
            w = w + factor * step
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
            size = max(np.max(np.abs(step_w)), np.max(np.abs(step_b)))  # the full step, as in `deviance`
            factor = 1.0
            while True:
                candidate, candidate_eta = self._penalised(
                    self.x @ (beta + factor * step_b), lam, w + factor * step_w
                )
                if candidate <= current + ROUNDING * max(1.0, abs(current)) or factor < 1e-8:
                    break
                factor /= 2
            w, beta = w + factor * step_w, beta + factor * step_b
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
