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

from readerstats.glmm.fit import METHOD, GlmmAccuracy, GlmmFit, glmm_accuracy, glmm_fit, satterthwaite_df
from readerstats.glmm.laplace import _numerical_gradient, _numerical_hessian, _Problem
from readerstats.glmm.optimiser import (
    BOUNDARY,
    COMPONENTS,
    GRADIENT_TOLERANCE,
    KKT_TOLERANCE,
    _Optimiser,
)

__all__ = [
    "BOUNDARY",
    "COMPONENTS",
    "GRADIENT_TOLERANCE",
    "KKT_TOLERANCE",
    "METHOD",
    "GlmmAccuracy",
    "GlmmFit",
    "_Optimiser",
    "_Problem",
    "_numerical_gradient",
    "_numerical_hessian",
    "glmm_accuracy",
    "glmm_fit",
    "satterthwaite_df",
]
