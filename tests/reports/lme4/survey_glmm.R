# lme4::glmer on a report's exported answers (the answers CSV): per survey the report's GLMM
# correct ~ 1 + (1 | reader) + (1 | item), and over all surveys the model comparison
# correct ~ model + (1 | reader) + (1 | item) against correct ~ 1 + (1 | reader) + (1 | item);
# indeterminable answers excluded, as the report does. Laplace (nAGQ = 1), bobyqa with the tolerances of
# readerstats/tests/reference/lme4/battery.R.
# Usage: Rscript survey_glmm.R answers.csv out.json   (needs R with lme4 and jsonlite)
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
answers <- read.csv(args[[1]], stringsAsFactors = FALSE, colClasses = "character")
answers <- answers[answers$answer != "indeterminable" & answers$round %in% c("", "1"), ]
answers$correct <- as.integer(answers$correct)
answers$item <- paste(answers$survey, answers$item, sep = "/")
control <- glmerControl(
  optimizer = c("bobyqa", "bobyqa"),
  optCtrl = list(rhoend = 1e-10, maxfun = 1e5),
  tolPwrss = 1e-12,
  check.conv.singular = "ignore"
)
variances <- function(fit) {
  components <- as.data.frame(VarCorr(fit))
  list(
    reader = components$vcov[components$grp == "reader"],
    item = components$vcov[components$grp == "item"]
  )
}
surveys <- list()
for (name in unique(answers$survey)) {
  rows <- answers[answers$survey == name, ]
  fit <- glmer(correct ~ 1 + (1 | reader) + (1 | item), data = rows, family = binomial, nAGQ = 1, control = control)
  surveys[[name]] <- list(n = nrow(rows), log_likelihood = as.numeric(logLik(fit)), variance = variances(fit))
}
full <- glmer(correct ~ model + (1 | reader) + (1 | item), data = answers, family = binomial, control = control)
null <- glmer(correct ~ 1 + (1 | reader) + (1 | item), data = answers, family = binomial, control = control)
result <- list(
  surveys = surveys,
  comparison = list(
    log_likelihood_full = as.numeric(logLik(full)),
    log_likelihood_null = as.numeric(logLik(null))
  )
)
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), args[[2]])
