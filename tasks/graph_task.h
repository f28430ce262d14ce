#pragma once
// The two reasoning tasks on small undirected graphs (TASKS.md): shortest path and connectivity.
// What an example looks like as tokens, how to read a prompt back, and how an answer is scored.
//
//   prompt:  <bos> u v u v ... <q> s t <sep>     each edge once, in random order and orientation
//   answer:  s x1 ... t <eos>                    (shortest path)
//            <yes> <eos> | <no> <eos>            (connectivity)

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "tasks/vocabulary.h"

namespace lab {

namespace graph_token {
constexpr Token query = 4;  // <q>
constexpr Token yes = 5;
constexpr Token no = 6;
constexpr Token first_label = 7;                 // node label L is token first_label + L
constexpr int max_labels = 65536 - first_label;  // the most labels uint16 tokens can hold
}  // namespace graph_token

// Both graph tasks share one vocabulary: specials, <q>, <yes>, <no>, then labels "0" .. node_tokens-1.
Vocabulary graph_vocabulary(int node_tokens);

inline Token label_token(int label) { return static_cast<Token>(graph_token::first_label + label); }

// The question of a graph example, in node labels.
struct GraphQuestion {
  std::vector<std::pair<int, int>> edges;  // in prompt order and orientation
  int source = -1;
  int target = -1;
};

void append_graph_prompt(const GraphQuestion& question, std::vector<Token>& out);
void append_path_answer(std::span<const int> path, std::vector<Token>& out);
void append_connectivity_answer(bool connected, std::vector<Token>& out);

// Reads a prompt back; nullopt if it is not of the form above with labels below node_tokens.
std::optional<GraphQuestion> parse_graph_prompt(std::span<const Token> prompt, int node_tokens);

// Labels of a path answer without <eos>; nullopt if it is not labels followed by one <eos>.
std::optional<std::vector<int>> parse_path_answer(std::span<const Token> answer, int node_tokens);

struct PathScore {
  bool valid = false;  // a path of the graph from s to t with the shortest length, then <eos>
  bool exact = false;  // token for token the stored answer
};

// `expected` is the stored answer (a shortest path, then <eos>); `decoded` is what a model produced,
// scored up to its first <eos>.
PathScore score_shortest_path(const GraphQuestion& question, std::span<const Token> expected,
                              std::span<const Token> decoded);

// Connectivity: exact match of <yes>/<no> then <eos>.
bool score_connectivity(std::span<const Token> expected, std::span<const Token> decoded);

// Accuracy and balanced accuracy (the mean of the two per-class recalls) of connectivity answers.
struct ConnectivityTally {
  long yes_total = 0, yes_correct = 0, no_total = 0, no_correct = 0;

  void add(bool truth_connected, bool correct);
  double accuracy() const;
  double balanced_accuracy() const;
};

}  // namespace lab
