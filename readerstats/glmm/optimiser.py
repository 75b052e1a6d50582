"""The bounded two-stage optimisation of the Laplace deviance, Newton polishing and the verification of the
optimum (scaled gradient; the Karush-Kuhn-Tucker condition at the bound 0)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from readerstats.glmm.laplace import _numerical_gradient, _numerical_hessian, _Problem

COMPONENTS = ("reader", "item")
GRADIENT_TOLERANCE = 1e-4
"""Largest accepted Newton step (scaled gradient) of the free coordinates at the optimum (lme4 accepts 2e-3)."""
KKT_TOLERANCE = 1e-6
"""Smallest accepted derivative of the deviance with respect to a variance on its bound 0 (negative: tolerance)."""
BOUNDARY = 0.05
"""A theta below this is tried at exactly 0 (the bound), and kept there when the deviance is no higher."""


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
