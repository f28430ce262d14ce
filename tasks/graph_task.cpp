#include "tasks/graph_task.h"

#include <algorithm>
#include <string>

namespace lab {

Vocabulary graph_vocabulary(const GraphFormat& format) {
  std::vector<std::string> texts = {"<pad>", "<bos>", "<eos>", "<sep>", "<q>", "<yes>", "<no>"};
  for (int label = 0; label < format.node_tokens; ++label) texts.push_back(std::to_string(label));
  if (format.prompt_format >= 2) texts.push_back("<e>");
  return Vocabulary(std::move(texts), " ");
}

void append_graph_prompt(const GraphQuestion& question, const GraphFormat& format, std::vector<Token>& out) {
  out.push_back(special::bos);
  const bool delimited = format.prompt_format >= 2;
  const Token edge = format.edge_token();
  for (auto [u, v] : question.edges) {
    if (delimited) out.push_back(edge);
    out.push_back(label_token(u));
    out.push_back(label_token(v));
  }
  out.push_back(graph_token::query);
  out.push_back(label_token(question.source));
  out.push_back(label_token(question.target));
  out.push_back(special::sep);
}

void append_path_answer(std::span<const int> path, std::vector<Token>& out) {
  for (int label : path) out.push_back(label_token(label));
  out.push_back(special::eos);
}

void append_connectivity_answer(bool connected, std::vector<Token>& out) {
  out.push_back(connected ? graph_token::yes : graph_token::no);
  out.push_back(special::eos);
}

namespace {

std::optional<int> as_label(Token token, int node_tokens) {
  if (token < graph_token::first_label || token >= graph_token::first_label + node_tokens)
    return std::nullopt;
  return token - graph_token::first_label;
}

}  // namespace

std::size_t edges_in_prompt(std::size_t prompt_length, const GraphFormat& format) {
  return prompt_length < 5 ? 0 : (prompt_length - 5) / format.tokens_per_edge();
}

std::optional<GraphQuestion> parse_graph_prompt(std::span<const Token> prompt, const GraphFormat& format) {
  // <bos> (<e> u v)* <q> s t <sep> (format 2) or <bos> (u v)* <q> s t <sep> (format 1): at least 5
  // tokens, a whole number of edges between <bos> and <q>.
  const int node_tokens = format.node_tokens;
  const std::size_t per_edge = format.tokens_per_edge();
  if (prompt.size() < 5 || prompt.front() != special::bos || prompt.back() != special::sep)
    return std::nullopt;
  std::size_t edge_tokens = prompt.size() - 5;
  if (edge_tokens % per_edge != 0 || prompt[1 + edge_tokens] != graph_token::query) return std::nullopt;
  GraphQuestion question;
  for (std::size_t i = 1; i < 1 + edge_tokens; i += per_edge) {
    if (per_edge == 3 && prompt[i] != format.edge_token()) return std::nullopt;
    auto u = as_label(prompt[i + per_edge - 2], node_tokens);
    auto v = as_label(prompt[i + per_edge - 1], node_tokens);
    if (!u || !v) return std::nullopt;
    question.edges.emplace_back(*u, *v);
  }
  auto s = as_label(prompt[prompt.size() - 3], node_tokens);
  auto t = as_label(prompt[prompt.size() - 2], node_tokens);
  if (!s || !t) return std::nullopt;
  question.source = *s;
  question.target = *t;
  return question;
}

std::optional<std::vector<int>> parse_path_answer(std::span<const Token> answer, int node_tokens) {
  auto eos = std::find(answer.begin(), answer.end(), special::eos);
  if (eos == answer.end()) return std::nullopt;
  std::vector<int> path;
  for (auto it = answer.begin(); it != eos; ++it) {
    auto label = as_label(*it, node_tokens);
    if (!label) return std::nullopt;
    path.push_back(*label);
  }
  return path;
}

namespace {

bool adjacent(const GraphQuestion& question, int a, int b) {
  return std::any_of(question.edges.begin(), question.edges.end(), [&](auto edge) {
    return (edge.first == a && edge.second == b) || (edge.first == b && edge.second == a);
  });
}

// Hops from every label to `target` by breadth-first search over the question's edges; -1 where
// unreachable. Labels index the result (they are below max label + 1).
std::vector<int> hops_to(const GraphQuestion& question, int target) {
  int labels = target + 1;
  for (auto [u, v] : question.edges) labels = std::max({labels, u + 1, v + 1});
  std::vector<int> hops(static_cast<std::size_t>(labels), -1);
  std::vector<int> frontier = {target};
  hops[target] = 0;
  for (int d = 1; !frontier.empty(); ++d) {
    std::vector<int> next;
    for (int x : frontier) {
      for (auto [u, v] : question.edges) {
        const int other = u == x ? v : v == x ? u : -1;
        if (other >= 0 && hops[other] < 0) {
          hops[other] = d;
          next.push_back(other);
        }
      }
    }
    frontier = std::move(next);
  }
  return hops;
}

// The first decoded vertex after s lies on a shortest s-t path: it is a neighbour of s one hop
// closer to t.
bool right_first_hop(const GraphQuestion& question, std::span<const Token> decoded) {
  if (decoded.size() < 2 || decoded[0] != label_token(question.source)) return false;
  if (decoded[1] < graph_token::first_label) return false;
  const int next = decoded[1] - graph_token::first_label;
  const std::vector<int> hops = hops_to(question, question.target);
  const int from_source = question.source < static_cast<int>(hops.size()) ? hops[question.source] : -1;
  if (from_source <= 0 || next >= static_cast<int>(hops.size())) return false;
  return hops[next] == from_source - 1 && adjacent(question, question.source, next);
}

}  // namespace

PathScore score_shortest_path(const GraphQuestion& question, std::span<const Token> expected,
                              std::span<const Token> decoded) {
  PathScore score;
  score.first_hop = right_first_hop(question, decoded);
  auto eos = std::find(decoded.begin(), decoded.end(), special::eos);
  if (eos == decoded.end()) return score;
  std::span<const Token> answer(decoded.begin(), eos + 1);
  score.exact = std::equal(answer.begin(), answer.end(), expected.begin(), expected.end());

  auto path = parse_path_answer(answer, graph_token::max_labels);
  std::size_t shortest_vertices = expected.size() - 1;  // the stored answer is a shortest path + <eos>
  if (!path || path->size() != shortest_vertices || path->front() != question.source ||
      path->back() != question.target) {
    return score;
  }
  for (std::size_t i = 0; i + 1 < path->size(); ++i) {
    if (!adjacent(question, (*path)[i], (*path)[i + 1])) return score;
  }
  score.valid = true;
  return score;
}

std::uint64_t count_shortest_paths(const GraphQuestion& question) {
  const std::vector<int> hops = hops_to(question, question.target);
  if (question.source >= static_cast<int>(hops.size()) || hops[question.source] < 0) return 0;
  // paths[v]: shortest v-t paths, filled in order of hops from t (each from its neighbours one hop closer).
  std::vector<int> order;
  for (int v = 0; v < static_cast<int>(hops.size()); ++v) {
    if (hops[v] >= 0) order.push_back(v);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return hops[a] < hops[b]; });
  std::vector<std::uint64_t> paths(hops.size(), 0);
  paths[question.target] = 1;
  for (int v : order) {
    for (auto [a, b] : question.edges) {
      const int other = a == v ? b : b == v ? a : -1;
      if (other >= 0 && hops[other] == hops[v] - 1) paths[v] += paths[other];
    }
  }
  return paths[question.source];
}

const char* path_error_name(PathError error) {
  switch (error) {
    case PathError::none:
      return "correct";
    case PathError::malformed:
      return "malformed";
    case PathError::wrong_ends:
      return "wrong_ends";
    case PathError::too_short:
      return "too_short";
    case PathError::too_long:
      return "too_long";
    case PathError::not_a_path:
      return "not_a_path";
  }
  return "?";
}

PathVerdict classify_path_answer(const GraphQuestion& question, std::span<const Token> expected,
                                 std::span<const Token> decoded) {
  PathVerdict verdict;
  auto path = parse_path_answer(decoded, graph_token::max_labels);  // up to the first <eos>
  if (!path) return verdict;                                        // malformed
  for (std::size_t i = 0; i + 1 < path->size(); ++i) {
    if (!adjacent(question, (*path)[i], (*path)[i + 1])) {
      verdict.first_bad_hop = static_cast<int>(i) + 1;
      break;
    }
  }
  const std::size_t shortest_vertices = expected.size() - 1;  // the stored answer: a shortest path + <eos>
  if (path->empty() || path->front() != question.source || path->back() != question.target) {
    verdict.error = PathError::wrong_ends;
  } else if (path->size() < shortest_vertices) {
    verdict.error = PathError::too_short;
  } else if (path->size() > shortest_vertices) {
    verdict.error = PathError::too_long;
  } else {
    verdict.error = verdict.first_bad_hop > 0 ? PathError::not_a_path : PathError::none;
  }
  return verdict;
}

const char* connectivity_error_name(ConnectivityError error) {
  switch (error) {
    case ConnectivityError::none:
      return "correct";
    case ConnectivityError::false_yes:
      return "false_yes";
    case ConnectivityError::false_no:
      return "false_no";
    case ConnectivityError::malformed:
      return "malformed";
  }
  return "?";
}

ConnectivityError classify_connectivity_answer(std::span<const Token> expected,
                                               std::span<const Token> decoded) {
  if (decoded.size() < 2 || decoded[1] != special::eos ||
      (decoded[0] != graph_token::yes && decoded[0] != graph_token::no)) {
    return ConnectivityError::malformed;
  }
  if (decoded[0] == expected[0]) return ConnectivityError::none;
  return decoded[0] == graph_token::yes ? ConnectivityError::false_yes : ConnectivityError::false_no;
}

bool score_connectivity(std::span<const Token> expected, std::span<const Token> decoded) {
  return decoded.size() >= 2 && expected.size() == 2 && decoded[0] == expected[0] &&
         decoded[1] == special::eos;
}

void ConnectivityTally::add(bool truth_connected, bool correct) {
  if (truth_connected) {
    ++yes_total;
    yes_correct += correct;
  } else {
    ++no_total;
    no_correct += correct;
  }
}

double ConnectivityTally::accuracy() const {
  long total = yes_total + no_total;
  return total > 0 ? static_cast<double>(yes_correct + no_correct) / static_cast<double>(total) : 0.0;
}

double ConnectivityTally::balanced_accuracy() const {
  double yes = yes_total > 0 ? static_cast<double>(yes_correct) / static_cast<double>(yes_total) : 0.0;
  double no = no_total > 0 ? static_cast<double>(no_correct) / static_cast<double>(no_total) : 0.0;
  int classes = (yes_total > 0) + (no_total > 0);
  return classes > 0 ? (yes + no) / classes : 0.0;
}

}  // namespace lab
