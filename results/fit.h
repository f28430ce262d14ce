#pragma once
// Scaling-law fits of finished runs (`lab fit`), following the fine-grained MoE paper's method: the
// law's log is fitted to the observed log values with a Huber loss (delta 0.1) by BFGS from a grid of
// starting points, keeping the best; confidence intervals by bootstrap over runs; accuracy measured
// on held-out runs (those of the largest compute, so the score is an extrapolation).
//
//   fine-grained  L(N, D, G) = c + (g / G^gamma + a) * N^-alpha + b * D^-beta
//   dense         L(N, D)    = c + a * N^-alpha + b * D^-beta
//   power         y(x)       = k * x^p          (e.g. phone-book entries memorized against parameters)
//
// N: non-embedding parameters, D: training tokens, G: granularity (1 for dense runs).

#include <cstdint>
#include <string>
#include <vector>

namespace lab {

enum class Law { fine_grained, dense, power };
Law parse_law(const std::string& name);  // lab::Error naming the choices
std::string to_string(Law law);

// One observation. Loss laws use n, d, g and y = the loss; the power law uses x = n and y.
struct FitPoint {
  std::string id;  // run id, for messages
  double n = 0, d = 0, g = 1, y = 0;
};

struct Coefficient {
  std::string name;
  double value = 0;
  double low = 0, high = 0;  // 95% bootstrap interval (value, value without bootstrap)
};

struct FitOptions {
  double huber_delta = 0.1;
  int bootstrap = 200;     // resamples for the intervals; 0 = none
  double holdout = 0.2;    // share of the runs held out (the largest compute); 0 = none
  std::uint64_t seed = 0;  // of the bootstrap resampling
};

struct FitResult {
  Law law;
  std::vector<Coefficient> coefficients;  // in the law's natural units (a, alpha, ...)
  std::vector<double> theta;              // the fitted parameters (log-scale where positive)
  double objective = 0;                   // Huber loss at the optimum (fitting runs)
  double rmse_fit = 0;                    // RMSE of y on the fitting runs
  double rmse_holdout = 0;                // RMSE of y on the held-out runs (NaN without)
  std::size_t fitted = 0, held_out = 0;   // runs used for the fit, and held out
  int starts = 0;                         // starting points tried
  std::vector<std::string> warnings;      // why the coefficients may not mean much (identifiability_warnings)
};

// Reasons a fit's coefficients are not determined by its runs: fewer than 3 distinct values of N, D
// or G (of x for the power law) among the fitted runs, or an exponent far beyond the published ones
// (alpha, beta, p > 3; gamma > 5), the mark of a term the optimizer used to bend a curve through
// too few points.
std::vector<std::string> identifiability_warnings(Law law, const std::vector<const FitPoint*>& fitting,
                                                  const std::vector<Coefficient>& coefficients);

// Number of free parameters of a law.
std::size_t parameter_count(Law law);

// The law's prediction of y at a point, for parameters `theta` (FitResult::theta).
double predict(Law law, const std::vector<double>& theta, const FitPoint& p);

// Fits `law`; lab::Error for too few runs (fewer than parameters + 2 to fit), non-positive N, D, G
// or y. The power law leaves out runs with y = 0 (a model that memorized nothing) and says so in the
// first warning.
FitResult fit_law(Law law, const std::vector<FitPoint>& points, const FitOptions& options);

// The compute-optimal model for a FLOP budget under a fitted loss law: minimises L(N, D, G) with
// D = flops / (6 N + routing), the routing cost per token layers * d * E * G * 14 with
// d = sqrt(N / (12 layers)) (the fine-grained paper's FLOP formula, c_f = 6, c_r = 14).
struct OptimalModel {
  double n = 0, d = 0, g = 1, loss = 0;
};
OptimalModel optimal_model(Law law, const std::vector<double>& theta, double flops, int layers,
                           double expansion);

}  // namespace lab
