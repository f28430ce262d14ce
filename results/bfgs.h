#pragma once
// Unconstrained minimisation for the scaling-law fits (results/fit.h): BFGS with a backtracking
// (Armijo) line search, small and dense (the laws have 2 to 7 coefficients).

#include <functional>
#include <vector>

namespace lab {

// BFGS with a backtracking line search from `start`; the
// gradient is `grad` if given, else central differences. Returns the minimiser.
using Objective = std::function<double(const std::vector<double>&)>;
using Gradient = std::function<std::vector<double>(const std::vector<double>&)>;
std::vector<double> minimize_bfgs(const Objective& f, std::vector<double> start, int max_iterations = 500,
                                  const Gradient& grad = nullptr);

}  // namespace lab
