#pragma once
// Helpers the probes' scorers share (score_graph.cpp, score_phonebook.cpp, score_two_hop.cpp,
// probe.cpp): a share that is NaN when there is nothing to share, and error counts per class.

#include <cmath>
#include <cstddef>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace lab::scoring {

// part / whole, NaN when whole is 0 (written as null in JSON: "no examples", not "0%").
inline double ratio(double part, double whole) { return whole > 0 ? part / whole : std::nan(""); }

// Counts per error class, with every class present (zeros too) so that tables line up.
template <typename Error, std::size_t N>
nlohmann::json error_counts(const std::map<std::string, long>& counts, const Error (&classes)[N],
                            const char* (*name)(Error)) {
  nlohmann::json out = nlohmann::json::object();
  for (Error e : classes) {
    auto it = counts.find(name(e));
    out[name(e)] = it == counts.end() ? 0 : it->second;
  }
  return out;
}

}  // namespace lab::scoring
