#include "tasks/two_hop_task.h"

#include <algorithm>
#include <cmath>

namespace lab {

void append_two_hop_answer(std::optional<int> middle, std::vector<Token>& out) {
  out.push_back(middle ? label_token(*middle) : graph_token::no);
  out.push_back(special::eos);
}

std::vector<int> common_neighbours(const GraphQuestion& question) {
  auto neighbours = [&](int vertex) {
    std::vector<int> out;
    for (auto [u, v] : question.edges) {
      if (u == vertex) out.push_back(v);
      if (v == vertex) out.push_back(u);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  const std::vector<int> of_s = neighbours(question.source);
  const std::vector<int> of_t = neighbours(question.target);
  std::vector<int> common;
  std::set_intersection(of_s.begin(), of_s.end(), of_t.begin(), of_t.end(), std::back_inserter(common));
  return common;
}

const char* two_hop_error_name(TwoHopError error) {
  switch (error) {
    case TwoHopError::none:
      return "correct";
    case TwoHopError::wrong_middle:
      return "wrong_middle";
    case TwoHopError::missed_middle:
      return "missed_middle";
    case TwoHopError::invented_middle:
      return "invented_middle";
    case TwoHopError::malformed:
      return "malformed";
  }
  return "?";
}

TwoHopError classify_two_hop_answer(std::span<const Token> expected, std::span<const Token> decoded,
                                    int node_tokens) {
  const auto is_label = [&](Token t) {
    return t >= graph_token::first_label && t < graph_token::first_label + node_tokens;
  };
  if (decoded.size() < 2 || decoded[1] != special::eos ||
      !(decoded[0] == graph_token::no || is_label(decoded[0])))
    return TwoHopError::malformed;
  const bool has_middle = expected[0] != graph_token::no;
  if (decoded[0] == expected[0]) return TwoHopError::none;
  if (!has_middle) return TwoHopError::invented_middle;
  return decoded[0] == graph_token::no ? TwoHopError::missed_middle : TwoHopError::wrong_middle;
}

void TwoHopTally::add(bool has_middle, bool correct) {
  if (has_middle) {
    ++middle_total;
    middle_correct += correct;
  } else {
    ++none_total;
    none_correct += correct;
  }
}

namespace {
double share(long part, long whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : std::nan("");
}
}  // namespace

double TwoHopTally::accuracy() const {
  return share(middle_correct + none_correct, middle_total + none_total);
}
double TwoHopTally::middle_accuracy() const { return share(middle_correct, middle_total); }
double TwoHopTally::none_accuracy() const { return share(none_correct, none_total); }

double TwoHopTally::balanced_accuracy() const {
  double sum = 0;
  int cases = 0;
  for (double a : {middle_accuracy(), none_accuracy()}) {
    if (!std::isnan(a)) {
      sum += a;
      ++cases;
    }
  }
  return cases > 0 ? sum / cases : std::nan("");
}

}  // namespace lab
