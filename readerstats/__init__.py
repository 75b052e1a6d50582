"""Reader-study statistics: pure computation over plain arrays (no Django), named results (frozen dataclasses).

- :mod:`readerstats.core`: vocabulary, the answer table, result plumbing;
- :mod:`readerstats.proportions`: Wilson interval, exact binomial test, accuracy (Table 2), per reader, equivalence;
- :mod:`readerstats.contingency`: chi-squared/exact/permutation tests, Holm, Cochran-Mantel-Haenszel, survey pairs;
- :mod:`readerstats.agreement`: agreement (Fleiss' kappa, Gwet's AC1, Cohen's and weighted kappa);
- :mod:`readerstats.gee`: reader-clustered GEE;
- :mod:`readerstats.mrmc`: Obuchowski-Rockette MRMC analysis (Hillis ddf), crossed and split-plot;
- :mod:`readerstats.dbm`: Dorfman-Berbaum-Metz MRMC analysis (pseudovalue ANOVA, Hillis ddf);
- :mod:`readerstats.glmm`: logistic GLMM with crossed reader and item intercepts (Laplace);
- :mod:`readerstats.roc`: empirical ROC curves from ratings, per reader and reader-averaged;
- :mod:`readerstats.model_comparison`: GLMM comparison of models across reader panels (crossed, split-plot, overlap);
- :mod:`readerstats.subgroups`: accuracy and AUC by reader specialty or experience band, GLMM test of a group effect;
- :mod:`readerstats.simulate`: seeded reader-study simulator and interval coverage;
- :mod:`readerstats.datasets`: the shipped Van Dyke readings;
- :mod:`readerstats.reports`: everything for a survey and a study;
- ``python -m readerstats``: the analyses on a CSV of readings (:mod:`readerstats.cli`).

Every public name below is importable from ``readerstats`` itself; see readerstats/README.md.
"""

from readerstats.agreement import (
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
from readerstats.contingency import (
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
from readerstats.core import (
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
    format_p,
    p_text,
)
from readerstats.datasets import read_vandyke, vandyke_path
from readerstats.dbm import DbmAnalysis, DbmAnova, DbmTest, DbmVarianceComponents, dbm_analysis
from readerstats.gee import (
    GeeAccuracy,
    gee_accuracy,
)
from readerstats.glmm import METHOD as GLMM_METHOD
from readerstats.glmm import GlmmAccuracy, GlmmFit, glmm_accuracy, glmm_fit, satterthwaite_df
from readerstats.model_comparison import (
    LikelihoodRatioTest,
    ModelAccuracy,
    ModelComparison,
    ModelDifference,
    compare_models,
)
from readerstats.mrmc import (
    FOMS,
    ModalityDifference,
    ModalityEstimate,
    OrAnalysis,
    OrSplitPlot,
    OrTest,
    OrVarianceComponents,
    or_analysis,
    or_split_plot,
)
from readerstats.mrmc import METHOD as OR_METHOD
from readerstats.planning import (
    ASSUMED_CASE_SD,
    ASSUMED_READER_SD,
    SENSITIVITY_SDS,
    DesignOption,
    PlanningError,
    StudyPlan,
    plan_design,
    required_designs,
)
from readerstats.proportions import (
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
from readerstats.reports import (
    StudyReport,
    SurveyReport,
    study_report,
    survey_report,
)
from readerstats.roc import ReaderRocCurves, RocCurve, average_roc, empirical_roc, reader_roc_curves
from readerstats.simulate import (
    SimulatedPanels,
    SimulatedStudy,
    interval_coverage,
    simulate_answers,
    simulate_panels,
    simulate_ratings,
)
from readerstats.subgroups import (
    DEFAULT_EXPERIENCE_BANDS,
    GroupEffectTest,
    SubgroupAnalysis,
    SubgroupSummary,
    by_experience,
    by_specialty,
    experience_band,
    experience_bands,
    subgroup_analysis,
)

__all__ = [
    "ASSUMED_CASE_SD",
    "ASSUMED_READER_SD",
    "DesignOption",
    "GLMM_METHOD",
    "OR_METHOD",
    "PlanningError",
    "SENSITIVITY_SDS",
    "StudyPlan",
    "format_p",
    "p_text",
    "plan_design",
    "required_designs",
    "DEFAULT_EXPERIENCE_BANDS",
    "GroupEffectTest",
    "LikelihoodRatioTest",
    "ModelAccuracy",
    "ModelComparison",
    "ModelDifference",
    "OrSplitPlot",
    "SimulatedPanels",
    "SubgroupAnalysis",
    "SubgroupSummary",
    "by_experience",
    "by_specialty",
    "compare_models",
    "experience_band",
    "experience_bands",
    "or_split_plot",
    "read_vandyke",
    "satterthwaite_df",
    "simulate_panels",
    "subgroup_analysis",
    "vandyke_path",
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
