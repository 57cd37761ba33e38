# Gi* by R's spdep::localG for center/tests/analytics_r_test.cc: reads the values (one a line)
# and the neighbours (one line a cell: the 1-based numbers of its neighbours, or 0 for none),
# adds each cell to its own neighbourhood and writes Gi* one a line at full precision.
# Usage: Rscript localg.R VALUES NEIGHBOURS
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(spdep))
x <- scan(args[1], quiet = TRUE)
lines <- readLines(args[2])
nb <- lapply(strsplit(lines, " ", fixed = TRUE), function(v) sort(as.integer(v)))
class(nb) <- "nb"
attr(nb, "region.id") <- as.character(seq_along(nb))
attr(nb, "sym") <- TRUE
nb <- include.self(nb)
lw <- nb2listw(nb, style = "B", zero.policy = TRUE)
g <- localG(x, lw, zero.policy = TRUE)
writeLines(sprintf("%.17g", as.numeric(g)))
