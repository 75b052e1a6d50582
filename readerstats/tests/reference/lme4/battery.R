# The lme4 battery: simulated reader x item designs fitted by lme4::glmer (Laplace), the oracle of
# readerstats.glmm and readerstats.model_comparison.
#
#   Rscript readerstats/tests/reference/lme4/battery.R [OUTPUT_FOLDER [DESIGN ...]]
#
# writes, into OUTPUT_FOLDER (default: this script's folder), for every design or only the DESIGNs named,
#   battery.csv       one row per answer: design, reader, item, truth, model, correct
#   battery.lme4.json per design: the simulation's settings and glmer's fit(s)
# The simulation is seeded (R's default Mersenne-Twister, set.seed per design), so a rerun with the same R
# writes the same data. Needs R with lme4 and jsonlite (Debian: r-base-core r-cran-lme4 r-cran-jsonlite).
#
# Two kinds of design:
#   crossed  every reader reads every item of one survey, `correct ~ 1 [+ truth] + (1|reader) + (1|item)`;
#   models   several models (surveys), synthetic items nested in their model, real items shared by the models
#            or not, reader panels crossed, split-plot (each model its own panel) or partly overlapping;
#            `correct ~ model + (1|reader) + (1|item)` and the null model `correct ~ 1 + (1|reader) + (1|item)`.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
out <- if (length(args) >= 1) args[[1]] else dirname(normalizePath(script))

# Laplace (nAGQ = 1), bobyqa in both stages with tighter tolerances than the defaults, PIRLS to 1e-12.
control <- glmerControl(
  optimizer = c("bobyqa", "bobyqa"),
  optCtrl = list(rhoend = 1e-10, maxfun = 1e5),
  tolPwrss = 1e-12,
  check.conv.singular = "ignore"
)

crossed <- read.table(header = TRUE, text = "
name        readers items reader_var item_var intercept truth_effect seed
c01         3       10    0.0        0.0      0.4       0            101
c02         3       25    0.5        1.0      0.8       0            102
c03         3       50    1.0        3.0      0.2       0            103
c04         3       200   0.2        0.5      0.6       0            104
c05         5       10    1.0        0.0      1.0       0            105
c06         5       25    0.0        1.0      0.3       0            106
c07         5       50    0.3        2.0      0.5       0            107
c08         5       100   0.6        0.2      1.2       0            108
c09         8       10    0.4        3.0      0.7       0            109
c10         8       30    0.0        0.0      0.5       0            110
c11         8       60    0.1        0.5      0.4       0            111
c12         8       60    0.05       0.3      0.4       0            112
c13         8       60    0.3        1.0      0.4       0            113
c14         8       100   1.0        1.5      0.9       0            114
c15         12      10    0.6        0.0      0.6       0            115
c16         12      20    0.2        1.0      0.3       0            116
c17         12      40    0.0        2.0      0.8       0            117
c18         12      80    0.5        0.8      0.2       0            118
c19         12      150   0.05       3.0      1.5       0            119
c20         20      10    0.3        0.3      0.4       0            120
c21         20      25    1.0        1.0      0.6       0            121
c22         20      50    0.0        0.5      0.3       0            122
c23         20      100   0.2        2.5      0.7       0            123
c24         30      10    0.5        2.0      0.5       0            124
c25         30      20    0.1        0.0      0.9       0            125
c26         30      50    0.8        1.0      0.4       0            126
c27         30      200   0.3        0.5      0.6       0            127
c28         4       30    0.0        0.8      0.5       0            128
c29         6       20    0.0        0.0      0.7       0            129
c30         10      40    0.02       0.0      0.3       0            130
c31         3       15    0.0        2.0      0.4       0            131
t01         6       40    0.4        1.0      0.6       -0.5         201
t02         10      50    0.0        1.0      0.4       0.8          202
t03         15      30    0.6        2.0      1.0       -1.0         203
t04         4       100   0.2        0.0      0.5       0.4          204
t05         25      60    1.0        3.0      0.3       -0.6         205
")

# models: panel "split" (each model its own readers), "crossed" (every reader every model) or "overlap"
# (consecutive panels share `overlap` readers); real items shared by every model or each model's own.
models <- read.table(header = TRUE, text = "
name  models panel   readers overlap items real_shared reader_var item_var effects      seed
s01   4      split   6       0       30    TRUE        0.3        1.0      0,-0.4,0.3,0.6 301
s02   3      split   8       0       40    FALSE       0.5        0.8      0,0.5,-0.3     302
s03   2      crossed 10      0       50    TRUE        0.2        1.5      0,-0.5         303
s04   3      overlap 8       3       25    TRUE        0.4        0.5      0,0.2,0.7      304
s05   4      split   4       0       20    FALSE       0.6        1.0      0,0,0,0        305
s06   2      split   12      0       100   TRUE        0.1        2.0      0,0.3          306
s07   3      split   5       0       15    TRUE        0.0        0.0      0,0.4,0.8      307
")

simulate_crossed <- function(d) {
  set.seed(d$seed)
  u <- rnorm(d$readers, 0, sqrt(d$reader_var))
  n <- 2 * d$items
  v <- rnorm(n, 0, sqrt(d$item_var))
  truth <- rep(c("real", "synthetic"), each = d$items)
  grid <- expand.grid(item = seq_len(n), reader = seq_len(d$readers))
  synthetic <- as.numeric(truth[grid$item] == "synthetic")
  eta <- d$intercept + d$truth_effect * synthetic + u[grid$reader] + v[grid$item]
  data.frame(
    design = d$name, reader = paste0("R", grid$reader), item = paste0("I", grid$item),
    truth = truth[grid$item], model = "M1", correct = rbinom(nrow(grid), 1, plogis(eta))
  )
}

panel_readers <- function(d, k) {
  if (d$panel == "crossed") return(seq_len(d$readers))
  if (d$panel == "split") return((k - 1) * d$readers + seq_len(d$readers))
  start <- (k - 1) * (d$readers - d$overlap)
  start + seq_len(d$readers)
}

simulate_models <- function(d) {
  set.seed(d$seed)
  effects <- as.numeric(strsplit(d$effects, ",")[[1]])
  all_readers <- sort(unique(unlist(lapply(seq_len(d$models), function(k) panel_readers(d, k)))))
  u <- rnorm(max(all_readers), 0, sqrt(d$reader_var))
  shared_real <- rnorm(d$items, 0, sqrt(d$item_var))
  rows <- list()
  for (k in seq_len(d$models)) {
    real_ease <- if (d$real_shared) shared_real else rnorm(d$items, 0, sqrt(d$item_var))
    synthetic_ease <- rnorm(d$items, 0, sqrt(d$item_var))
    real_ids <- if (d$real_shared) paste0("real", seq_len(d$items)) else paste0("M", k, "-real", seq_len(d$items))
    ids <- c(real_ids, paste0("M", k, "-syn", seq_len(d$items)))
    ease <- c(real_ease, synthetic_ease)
    truth <- rep(c("real", "synthetic"), each = d$items)
    readers <- panel_readers(d, k)
    grid <- expand.grid(item = seq_along(ids), reader = readers)
    eta <- 0.5 + effects[k] + u[grid$reader] + ease[grid$item]
    rows[[k]] <- data.frame(
      design = d$name, reader = paste0("R", grid$reader), item = ids[grid$item],
      truth = truth[grid$item], model = paste0("M", k), correct = rbinom(nrow(grid), 1, plogis(eta))
    )
  }
  do.call(rbind, rows)
}

describe <- function(fit) {
  coefs <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  fixed <- lapply(seq_len(nrow(coefs)), function(k) list(estimate = coefs[k, 1], std_error = coefs[k, 2]))
  names(fixed) <- rownames(coefs)
  list(
    fixed = fixed,
    variance = list(reader = vc$vcov[vc$grp == "reader"], item = vc$vcov[vc$grp == "item"]),
    theta = unname(getME(fit, "theta")),
    theta_names = names(getME(fit, "theta")),
    log_likelihood = as.numeric(logLik(fit)),
    vcov = unname(as.matrix(vcov(fit))),
    n = nobs(fit)
  )
}

only <- args[-1]
if (length(only) > 0) {
  crossed <- crossed[crossed$name %in% only, ]
  models <- models[models$name %in% only, ]
}
data <- list()
fits <- list()
for (k in seq_len(nrow(crossed))) {
  d <- crossed[k, ]
  rows <- simulate_crossed(d)
  data[[length(data) + 1]] <- rows
  rows$truth <- factor(rows$truth, levels = c("real", "synthetic"))
  formula <- if (d$truth_effect != 0) correct ~ truth + (1 | reader) + (1 | item) else
    correct ~ 1 + (1 | reader) + (1 | item)
  fit <- glmer(formula, data = rows, family = binomial, nAGQ = 1, control = control)
  fits[[d$name]] <- list(
    kind = "crossed", readers = d$readers, items_per_side = d$items, reader_var = d$reader_var,
    item_var = d$item_var, intercept = d$intercept, truth_effect = d$truth_effect,
    formula = deparse(formula), laplace = describe(fit)
  )
}
for (k in seq_len(nrow(models))) {
  d <- models[k, ]
  rows <- simulate_models(d)
  data[[length(data) + 1]] <- rows
  rows$model <- factor(rows$model)
  full <- glmer(correct ~ model + (1 | reader) + (1 | item), data = rows, family = binomial, control = control)
  null <- glmer(correct ~ 1 + (1 | reader) + (1 | item), data = rows, family = binomial, control = control)
  test <- anova(null, full)
  fits[[d$name]] <- list(
    kind = "models", models = d$models, panel = d$panel, readers_per_panel = d$readers, overlap = d$overlap,
    items_per_side = d$items, real_shared = d$real_shared, reader_var = d$reader_var, item_var = d$item_var,
    effects = as.numeric(strsplit(d$effects, ",")[[1]]),
    laplace = describe(full), null = describe(null),
    likelihood_ratio = list(chisq = test$Chisq[2], df = test$Df[2], p = test[["Pr(>Chisq)"]][2])
  )
}
write.csv(do.call(rbind, data), file.path(out, "battery.csv"), row.names = FALSE, quote = FALSE)
meta <- list(
  generated_by = "readerstats/tests/reference/lme4/battery.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  control = "glmer(nAGQ = 1), optimizer bobyqa x2, rhoend 1e-10, maxfun 1e5, tolPwrss 1e-12",
  designs = fits
)
writeLines(toJSON(meta, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(out, "battery.lme4.json"))
cat("wrote", nrow(do.call(rbind, data)), "answers,", length(fits), "designs to", out, "\n")
