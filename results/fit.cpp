#include "results/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "results/bfgs.h"

namespace lab {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// log(sum exp(terms)), stable.
double log_sum_exp(std::initializer_list<double> terms) {
  const double m = std::max(terms);
  double s = 0;
  for (double t : terms) s += std::exp(t - m);
  return m + std::log(s);
}

// log of the law's prediction. Parameters (theta), positive ones in log space:
//   fine-grained: log a, alpha, log b, beta, log g, gamma, log c
//   dense:        log a, alpha, log b, beta, log c
//   power:        log k, p
double log_predict(Law law, const std::vector<double>& t, const FitPoint& p) {
  const double ln_n = std::log(p.n);
  switch (law) {
    case Law::fine_grained:
      return log_sum_exp(
          {t[0] - t[1] * ln_n, t[4] - t[5] * std::log(p.g) - t[1] * ln_n, t[2] - t[3] * std::log(p.d), t[6]});
    case Law::dense:
      return log_sum_exp({t[0] - t[1] * ln_n, t[2] - t[3] * std::log(p.d), t[4]});
    case Law::power:
      return t[0] + t[1] * ln_n;
  }
  return kNan;
}

double huber(double r, double delta) {
  const double a = std::abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

double objective(Law law, const std::vector<double>& theta, const std::vector<const FitPoint*>& points,
                 double delta) {
  double sum = 0;
  for (const FitPoint* p : points) sum += huber(log_predict(law, theta, *p) - std::log(p->y), delta);
  return sum;
}

// The objective's gradient: Huber'(r) times d log-prediction / d theta, where the log-prediction
// is a log-sum-exp of linear terms (softmax weights w of the terms).
std::vector<double> objective_gradient(Law law, const std::vector<double>& t,
                                       const std::vector<const FitPoint*>& points, double delta) {
  std::vector<double> g(t.size(), 0.0);
  for (const FitPoint* p : points) {
    const double r = log_predict(law, t, *p) - std::log(p->y);
    const double psi = std::clamp(r, -delta, delta);  // Huber'(r)
    const double ln_n = std::log(p->n);
    if (law == Law::power) {
      g[0] += psi;
      g[1] += psi * ln_n;
      continue;
    }
    const double ln_d = std::log(p->d);
    if (law == Law::dense) {
      const double terms[] = {t[0] - t[1] * ln_n, t[2] - t[3] * ln_d, t[4]};
      const double m = std::max({terms[0], terms[1], terms[2]});
      double w[3], sum = 0;
      for (int i = 0; i < 3; ++i) sum += (w[i] = std::exp(terms[i] - m));
      for (double& v : w) v /= sum;
      g[0] += psi * w[0];
      g[1] -= psi * w[0] * ln_n;
      g[2] += psi * w[1];
      g[3] -= psi * w[1] * ln_d;
      g[4] += psi * w[2];
      continue;
    }
    const double ln_g = std::log(p->g);
    const double terms[] = {t[0] - t[1] * ln_n, t[4] - t[5] * ln_g - t[1] * ln_n, t[2] - t[3] * ln_d, t[6]};
    const double m = std::max({terms[0], terms[1], terms[2], terms[3]});
    double w[4], sum = 0;
    for (int i = 0; i < 4; ++i) sum += (w[i] = std::exp(terms[i] - m));
    for (double& v : w) v /= sum;
    g[0] += psi * w[0];
    g[1] -= psi * (w[0] + w[1]) * ln_n;
    g[2] += psi * w[2];
    g[3] -= psi * w[2] * ln_d;
    g[4] += psi * w[1];
    g[5] -= psi * w[1] * ln_g;
    g[6] += psi * w[3];
  }
  return g;
}

double rmse(Law law, const std::vector<double>& theta, const std::vector<const FitPoint*>& points) {
  if (points.empty()) return kNan;
  double sum = 0;
  for (const FitPoint* p : points) {
    const double e = predict(law, theta, *p) - p->y;
    sum += e * e;
  }
  return std::sqrt(sum / static_cast<double>(points.size()));
}

// The grid of starting points (as in Hoffmann et al.'s Chinchilla fits): exponents and log scales
// over plausible ranges.
std::vector<std::vector<double>> starting_points(Law law) {
  std::vector<std::vector<double>> starts;
  const double exponents[] = {0.05, 0.3, 0.8};
  const double scales[] = {0.0, 5.0, 10.0};
  if (law == Law::power) {
    for (double k : {-10.0, -5.0, 0.0, 5.0})
      for (double p : {-1.0, 0.0, 0.5, 1.0, 2.0}) starts.push_back({k, p});
    return starts;
  }
  for (double a : scales)
    for (double alpha : exponents)
      for (double b : scales)
        for (double beta : exponents)
          for (double c : {-1.0, 0.5}) {
            if (law == Law::dense) {
              starts.push_back({a, alpha, b, beta, c});
              continue;
            }
            for (double g : {0.0, 2.0})
              for (double gamma : {0.3, 0.8}) starts.push_back({a, alpha, b, beta, g, gamma, c});
          }
  return starts;
}

std::vector<double> best_fit(Law law, const std::vector<const FitPoint*>& points, double delta,
                             const std::vector<std::vector<double>>& starts) {
  auto f = [&](const std::vector<double>& t) { return objective(law, t, points, delta); };
  auto grad = [&](const std::vector<double>& t) { return objective_gradient(law, t, points, delta); };
  std::vector<double> best;
  double best_value = std::numeric_limits<double>::infinity();
  for (const auto& start : starts) {
    std::vector<double> t = minimize_bfgs(f, start, 1000, grad);
    const double v = f(t);
    if (std::isfinite(v) && v < best_value) {
      best_value = v;
      best = t;
    }
  }
  if (best.empty()) fail("fit: no starting point converged to a finite loss; check the runs' values");
  return best;
}

std::vector<Coefficient> natural(Law law, const std::vector<double>& t) {
  switch (law) {
    case Law::fine_grained:
      return {{"a", std::exp(t[0])}, {"alpha", t[1]}, {"b", std::exp(t[2])}, {"beta", t[3]},
              {"g", std::exp(t[4])}, {"gamma", t[5]}, {"c", std::exp(t[6])}};
    case Law::dense:
      return {{"a", std::exp(t[0])},
              {"alpha", t[1]},
              {"b", std::exp(t[2])},
              {"beta", t[3]},
              {"c", std::exp(t[4])}};
    case Law::power:
      return {{"k", std::exp(t[0])}, {"p", t[1]}};
  }
  return {};
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double frac = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
}

}  // namespace

Law parse_law(const std::string& name) {
  if (name == "fine-grained") return Law::fine_grained;
  if (name == "dense") return Law::dense;
  if (name == "power") return Law::power;
  fail("--law {}: expected fine-grained, dense or power", name);
}

std::string to_string(Law law) {
  switch (law) {
    case Law::fine_grained:
      return "fine-grained";
    case Law::dense:
      return "dense";
    case Law::power:
      return "power";
  }
  return "";
}

std::size_t parameter_count(Law law) { return law == Law::fine_grained ? 7 : law == Law::dense ? 5 : 2; }

double predict(Law law, const std::vector<double>& theta, const FitPoint& p) {
  return std::exp(log_predict(law, theta, p));
}

namespace {

// Distinct values (to a relative 1e-3: token counts of one step budget differ a little by model).
std::size_t distinct(const std::vector<const FitPoint*>& points, double FitPoint::*field) {
  std::vector<double> values;
  for (const FitPoint* p : points) values.push_back(p->*field);
  std::sort(values.begin(), values.end());
  std::size_t count = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (i == 0 || values[i] > values[i - 1] * (1 + 1e-3)) ++count;
  return count;
}

}  // namespace

std::vector<std::string> identifiability_warnings(Law law, const std::vector<const FitPoint*>& fitting,
                                                  const std::vector<Coefficient>& coefficients) {
  std::vector<std::string> warnings;
  auto need = [&](double FitPoint::*field, const char* what, const char* terms) {
    if (const std::size_t n = distinct(fitting, field); n < 3)
      warnings.push_back(fmt::format(
          "the fitted runs have {} distinct {}: at least 3 are needed to pin down {}", n, what, terms));
  };
  if (law == Law::power) {
    need(&FitPoint::n, "parameter counts", "k and p");
  } else {
    need(&FitPoint::n, "N", "a and alpha apart from c");
    need(&FitPoint::d, "D (token budgets)", "b and beta apart from c");
    if (law == Law::fine_grained) need(&FitPoint::g, "granularities", "g and gamma");
  }
  for (const Coefficient& c : coefficients) {
    const double limit = c.name == "gamma" ? 5.0 : 3.0;
    if ((c.name == "alpha" || c.name == "beta" || c.name == "gamma" || c.name == "p") && c.value > limit)
      warnings.push_back(fmt::format(
          "{} = {:.4g} is beyond any published scaling exponent (> {:g}): the runs do not determine it",
          c.name, c.value, limit));
  }
  return warnings;
}

FitResult fit_law(Law law, const std::vector<FitPoint>& all_points, const FitOptions& options) {
  const std::size_t k = parameter_count(law);
  // A phone-book run that memorized nothing (y = 0) has no logarithm and sits below the range the
  // power law describes: it is left out, and said so, rather than making the whole fit impossible.
  std::vector<FitPoint> points;
  std::vector<std::string> memorized_nothing;
  for (const FitPoint& p : all_points) {
    if (law == Law::power && p.y == 0 && p.n > 0) {
      memorized_nothing.push_back(p.id);
    } else {
      points.push_back(p);
    }
  }
  const std::string left_out =
      memorized_nothing.empty()
          ? ""
          : fmt::format("left out {} run(s) that memorized nothing (y = 0 cannot be fitted in log space): {}",
                        memorized_nothing.size(), fmt::join(memorized_nothing, ", "));
  for (const FitPoint& p : points) {
    const bool loss_law = law != Law::power;
    if (loss_law && (!(p.n > 0) || !(p.y > 0) || !(p.d > 0) || !(p.g > 0))) {
      fail(
          "fit: run {} has a non-positive or missing value (N {}, D {}, G {}, loss {}); every N, D, G and "
          "loss must be positive",
          p.id, p.n, p.d, p.g, p.y);
    }
    if (!loss_law && (!(p.n > 0) || !(p.y > 0))) {
      fail(
          "fit: run {} has x = {} and y = {}; the power law is fitted in log space, so every x must be "
          "positive and every y positive or 0 (0: a run that memorized nothing, left out)",
          p.id, p.n, p.y);
    }
  }
  // Held out: the runs of the largest compute (N * D; N for the power law).
  std::vector<const FitPoint*> order;
  for (const FitPoint& p : points) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [&](const FitPoint* a, const FitPoint* b) {
    return (law == Law::power ? a->n : a->n * a->d) < (law == Law::power ? b->n : b->n * b->d);
  });
  const auto held = static_cast<std::size_t>(std::floor(options.holdout * static_cast<double>(order.size())));
  std::vector<const FitPoint*> fitting(order.begin(), order.end() - static_cast<std::ptrdiff_t>(held));
  std::vector<const FitPoint*> holdout(order.end() - static_cast<std::ptrdiff_t>(held), order.end());
  if (fitting.size() < k + 2) {
    fail(
        "fit: the {} law has {} parameters and needs at least {} runs to fit, but {} runs remain after "
        "holding "
        "out {} ({} given{}; lower --holdout or add runs)",
        to_string(law), k, k + 2, fitting.size(), held, all_points.size(),
        left_out.empty() ? "" : ", " + left_out);
  }

  FitResult result;
  result.law = law;
  const auto starts = starting_points(law);
  result.starts = static_cast<int>(starts.size());
  result.theta = best_fit(law, fitting, options.huber_delta, starts);
  result.objective = objective(law, result.theta, fitting, options.huber_delta);
  result.rmse_fit = rmse(law, result.theta, fitting);
  result.rmse_holdout = rmse(law, result.theta, holdout);
  result.fitted = fitting.size();
  result.held_out = holdout.size();
  result.coefficients = natural(law, result.theta);
  for (Coefficient& c : result.coefficients) c.low = c.high = c.value;

  if (options.bootstrap > 0) {
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<std::size_t> pick(0, fitting.size() - 1);
    std::vector<std::vector<double>> samples(k);
    for (int b = 0; b < options.bootstrap; ++b) {
      std::vector<const FitPoint*> resample(fitting.size());
      for (auto& p : resample) p = fitting[pick(rng)];
      // From the full fit's optimum: the resampled optimum is near it.
      auto theta = best_fit(law, resample, options.huber_delta, {result.theta});
      auto c = natural(law, theta);
      for (std::size_t i = 0; i < k; ++i) samples[i].push_back(c[i].value);
    }
    for (std::size_t i = 0; i < k; ++i) {
      result.coefficients[i].low = percentile(samples[i], 0.025);
      result.coefficients[i].high = percentile(samples[i], 0.975);
    }
  }
  result.warnings = identifiability_warnings(law, fitting, result.coefficients);
  if (!left_out.empty()) result.warnings.insert(result.warnings.begin(), left_out);
  return result;
}

OptimalModel optimal_model(Law law, const std::vector<double>& theta, double flops, int layers,
                           double expansion) {
  if (law == Law::power) fail("--optimal needs a loss law (fine-grained or dense), not the power law");
  if (!(flops > 0)) fail("--optimal {}: the FLOP budget must be positive", flops);
  if (layers < 1 || !(expansion > 0)) fail("--optimal: --layers and --expansion must be positive");
  OptimalModel best;
  best.loss = std::numeric_limits<double>::infinity();
  const std::vector<double> granularities =
      law == Law::dense ? std::vector<double>{1} : std::vector<double>{1, 2, 4, 8, 16, 32, 64, 128};
  for (double g : granularities) {
    for (int i = 0; i <= 2000; ++i) {  // N on a log grid from 1e3 to 1e15
      const double n = std::pow(10.0, 3.0 + 12.0 * i / 2000.0);
      const double d_model = std::sqrt(n / (12.0 * layers));
      const double routing = law == Law::dense ? 0.0 : layers * d_model * expansion * g * 14.0;
      const double tokens = flops / (6.0 * n + routing);
      if (tokens < 1) continue;
      const double loss = predict(law, theta, FitPoint{"", n, tokens, g, 1});
      if (loss < best.loss) best = {n, tokens, g, loss};
    }
  }
  return best;
}

}  // namespace lab
