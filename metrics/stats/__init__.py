"""Reader-study statistics: pure computation over plain arrays (no Django), named results (frozen dataclasses).

- :mod:`metrics.stats.core`: vocabulary, the answer table, result plumbing;
- :mod:`metrics.stats.proportions`: Wilson interval, exact binomial test, accuracy (Table 2), per reader, equivalence;
- :mod:`metrics.stats.contingency`: chi-squared/exact/permutation tests, Holm, Cochran-Mantel-Haenszel, survey pairs;
- :mod:`metrics.stats.agreement`: agreement (Fleiss' kappa, Gwet's AC1, Cohen's and weighted kappa);
- :mod:`metrics.stats.gee`: reader-clustered GEE;
- :mod:`metrics.stats.mrmc`: Obuchowski-Rockette MRMC analysis (Hillis ddf);
- :mod:`metrics.stats.dbm`: Dorfman-Berbaum-Metz MRMC analysis (pseudovalue ANOVA, Hillis ddf);
- :mod:`metrics.stats.glmm`: logistic GLMM with crossed reader and item intercepts (Laplace);
- :mod:`metrics.stats.roc`: empirical ROC curves from ratings, per reader and reader-averaged;
- :mod:`metrics.stats.simulate`: seeded reader-study simulator and interval coverage;
- :mod:`metrics.stats.reports`: everything for a survey and a study.
"""

from metrics.stats.agreement import (
    CohenKappa,
    FleissKappa,
    GwetAC1,
    ReaderKappa,
    cohen_kappa_table,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    gwet_ac1,
    intra_reader_kappa,
)
from metrics.stats.contingency import (
    TRUTH_VS_ANSWER,
    ContingencyTest,
    Hypothesis,
    MantelHaenszelTest,
    SurveyComparison,
    compare_surveys,
    holm_adjust,
    holm_adjust_tests,
    independence_test,
    mantel_haenszel_test,
    pearson_chi_squared,
    permutation_test_p_value,
    surveys_hypothesis,
    truth_answer_test,
)
from metrics.stats.core import (
    ALPHA,
    ANSWERS,
    CONFIDENCE,
    CORRECT,
    EQUIVALENCE_MARGIN,
    FEW_CLUSTERS,
    INDETERMINABLE,
    MIN_EXPECTED_COUNT,
    PERMUTATION_RESAMPLES,
    PERMUTATION_SEED,
    REAL,
    SYNTHETIC,
    TRUTHS,
    WRONG,
    AnswerTable,
)
from metrics.stats.dbm import DbmAnalysis, DbmAnova, DbmTest, DbmVarianceComponents, dbm_analysis
from metrics.stats.gee import (
    GeeAccuracy,
    gee_accuracy,
)
from metrics.stats.glmm import GlmmAccuracy, GlmmFit, glmm_accuracy, glmm_fit
from metrics.stats.mrmc import (
    FOMS,
    ModalityDifference,
    ModalityEstimate,
    OrAnalysis,
    OrTest,
    OrVarianceComponents,
    or_analysis,
)
from metrics.stats.proportions import (
    AccuracyBreakdown,
    EquivalenceTest,
    ProportionEstimate,
    ReaderAccuracy,
    ScopedAccuracy,
    accuracy_breakdown,
    binomial_test_p_value,
    equivalence_sample_size,
    equivalence_test,
    per_reader_accuracy,
    proportion_estimate,
    wilson_interval,
)
from metrics.stats.reports import (
    StudyReport,
    SurveyReport,
    study_report,
    survey_report,
)
from metrics.stats.roc import ReaderRocCurves, RocCurve, average_roc, empirical_roc, reader_roc_curves
from metrics.stats.simulate import SimulatedStudy, interval_coverage, simulate_answers, simulate_ratings

__all__ = [
    "CohenKappa",
    "GwetAC1",
    "ReaderKappa",
    "cohen_kappa_table",
    "gwet_ac1",
    "intra_reader_kappa",
    "SimulatedStudy",
    "interval_coverage",
    "ReaderRocCurves",
    "RocCurve",
    "average_roc",
    "empirical_roc",
    "reader_roc_curves",
    "simulate_answers",
    "simulate_ratings",
    "GlmmAccuracy",
    "GlmmFit",
    "glmm_accuracy",
    "glmm_fit",
    "FOMS",
    "ModalityDifference",
    "ModalityEstimate",
    "OrAnalysis",
    "OrTest",
    "OrVarianceComponents",
    "or_analysis",
    "DbmAnalysis",
    "DbmAnova",
    "DbmTest",
    "DbmVarianceComponents",
    "dbm_analysis",
    "ALPHA",
    "ANSWERS",
    "AccuracyBreakdown",
    "AnswerTable",
    "CONFIDENCE",
    "CORRECT",
    "ContingencyTest",
    "EQUIVALENCE_MARGIN",
    "EquivalenceTest",
    "FEW_CLUSTERS",
    "FleissKappa",
    "GeeAccuracy",
    "Hypothesis",
    "INDETERMINABLE",
    "MIN_EXPECTED_COUNT",
    "MantelHaenszelTest",
    "PERMUTATION_RESAMPLES",
    "PERMUTATION_SEED",
    "ProportionEstimate",
    "REAL",
    "ReaderAccuracy",
    "SYNTHETIC",
    "ScopedAccuracy",
    "StudyReport",
    "SurveyComparison",
    "SurveyReport",
    "TRUTHS",
    "TRUTH_VS_ANSWER",
    "WRONG",
    "accuracy_breakdown",
    "binomial_test_p_value",
    "compare_surveys",
    "equivalence_sample_size",
    "equivalence_test",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "gee_accuracy",
    "holm_adjust",
    "holm_adjust_tests",
    "independence_test",
    "mantel_haenszel_test",
    "pearson_chi_squared",
    "per_reader_accuracy",
    "permutation_test_p_value",
    "proportion_estimate",
    "study_report",
    "survey_report",
    "surveys_hypothesis",
    "truth_answer_test",
    "wilson_interval",
]
