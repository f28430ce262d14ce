#include "results/bfgs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lab {

std::vector<double> minimize_bfgs(const Objective& f, std::vector<double> x, int max_iterations,
                                  const Gradient& grad) {
  const std::size_t n = x.size();
  auto gradient = [&](const std::vector<double>& at) {
    if (grad) return grad(at);
    std::vector<double> g(n);
    std::vector<double> probe = at;
    for (std::size_t i = 0; i < n; ++i) {
      const double h = 1e-6 * std::max(1.0, std::abs(at[i]));
      probe[i] = at[i] + h;
      const double up = f(probe);
      probe[i] = at[i] - h;
      const double down = f(probe);
      probe[i] = at[i];
      g[i] = (up - down) / (2 * h);
    }
    return g;
  };
  std::vector<double> h_inv(n * n, 0.0);  // inverse Hessian estimate, row-major
  auto reset = [&] {
    std::fill(h_inv.begin(), h_inv.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i) h_inv[i * n + i] = 1.0;
  };
  reset();
  double fx = f(x);
  if (!std::isfinite(fx)) return x;
  std::vector<double> g = gradient(x);
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    std::vector<double> p(n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) p[i] -= h_inv[i * n + j] * g[j];
    double slope = std::inner_product(g.begin(), g.end(), p.begin(), 0.0);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      reset();
      for (std::size_t i = 0; i < n; ++i) p[i] = -g[i];
      slope = -std::inner_product(g.begin(), g.end(), g.begin(), 0.0);
      if (slope == 0) break;
    }
    double step = 1.0, f_new = 0;
    std::vector<double> x_new(n);
    for (;;) {  // backtracking (Armijo)
      for (std::size_t i = 0; i < n; ++i) x_new[i] = x[i] + step * p[i];
      f_new = f(x_new);
      if (std::isfinite(f_new) && f_new <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
      if (step < 1e-14) return x;
    }
    std::vector<double> g_new = gradient(x_new);
    std::vector<double> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = x_new[i] - x[i];
      y[i] = g_new[i] - g[i];
    }
    const double sy = std::inner_product(s.begin(), s.end(), y.begin(), 0.0);
    const double change = fx - f_new;
    x = x_new;
    g = g_new;
    fx = f_new;
    double g_max = 0;
    for (double v : g) g_max = std::max(g_max, std::abs(v));
    if (g_max < 1e-9 || change <= 1e-13 * (1 + std::abs(fx))) break;  // converged, or no more progress
    if (sy > 1e-12) {                                                 // BFGS update of the inverse Hessian
      std::vector<double> hy(n, 0.0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) hy[i] += h_inv[i * n + j] * y[j];
      const double yhy = std::inner_product(y.begin(), y.end(), hy.begin(), 0.0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
          h_inv[i * n + j] += ((sy + yhy) * s[i] * s[j]) / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
    }
  }
  return x;
}

}  // namespace lab
