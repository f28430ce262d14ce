#pragma once
// The two reasoning tasks on small undirected graphs (TASKS.md): shortest path and connectivity.
// What an example looks like as tokens, how to read a prompt back, and how an answer is scored.
//
//   prompt:  <bos> <e> u v <e> u v ... <q> s t <sep>   format 2: each edge once, delimited, in random
//            <bos> u v u v ... <q> s t <sep>           order and orientation; format 1 (older datasets)
//                                                      wrote the edges undelimited
//   answer:  s x1 ... t <eos>                          (shortest path)
//            <yes> <eos> | <no> <eos>                  (connectivity)

#include <cstdint>
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

// The prompt format `lab gen` writes. Format 1 wrote the edges as one flat stream `u v u v ...`, in
// which only a token's position parity told which tokens pair into an edge: small models could not
// even look an edge up reliably (SCIENCE.md). Readers accept both.
constexpr int kGraphPromptFormat = 2;

// What a graph dataset's tokens mean: its label count and its prompt format.
struct GraphFormat {
  int node_tokens = 32;
  int prompt_format = kGraphPromptFormat;

  // Format 2's edge delimiter <e> comes after the labels, so a label's token is the same in both
  // formats and a format-1 vocabulary is a prefix of the format-2 one.
  Token edge_token() const { return static_cast<Token>(graph_token::first_label + node_tokens); }
  std::size_t tokens_per_edge() const { return prompt_format == 1 ? 2 : 3; }
};

// Both graph tasks share one vocabulary: specials, <q>, <yes>, <no>, labels "0" .. node_tokens-1,
// then (format 2) <e>.
Vocabulary graph_vocabulary(const GraphFormat& format);

inline Token label_token(int label) { return static_cast<Token>(graph_token::first_label + label); }

// The question of a graph example, in node labels.
struct GraphQuestion {
  std::vector<std::pair<int, int>> edges;  // in prompt order and orientation
  int source = -1;
  int target = -1;
};

void append_graph_prompt(const GraphQuestion& question, const GraphFormat& format, std::vector<Token>& out);
void append_path_answer(std::span<const int> path, std::vector<Token>& out);
void append_connectivity_answer(bool connected, std::vector<Token>& out);

// Reads a prompt back; nullopt if it is not of the form above (in `format`) with labels below
// format.node_tokens.
std::optional<GraphQuestion> parse_graph_prompt(std::span<const Token> prompt, const GraphFormat& format);

// The number of edges a well-formed prompt of `format` holds, from its length alone.
std::size_t edges_in_prompt(std::size_t prompt_length, const GraphFormat& format);

// Labels of a path answer without <eos>; nullopt if it is not labels followed by one <eos>.
std::optional<std::vector<int>> parse_path_answer(std::span<const Token> answer, int node_tokens);

struct PathScore {
  bool valid = false;      // a path of the graph from s to t with the shortest length, then <eos>
  bool exact = false;      // token for token the stored answer
  bool first_hop = false;  // starts at s, and its next vertex is on some shortest path to t
};

// `expected` is the stored answer (a shortest path, then <eos>); `decoded` is what a model produced,
// scored up to its first <eos>. The first hop is judged on the first two decoded tokens alone (with
// or without an <eos> after them): did the model take a right first step (Bachmann & Nagarajan's
// reason to report it: teacher forcing can teach the rest of a path as a shortcut).
PathScore score_shortest_path(const GraphQuestion& question, std::span<const Token> expected,
                              std::span<const Token> decoded);

// The number of distinct shortest s-t paths of the question's graph (0 if t is unreachable).
std::uint64_t count_shortest_paths(const GraphQuestion& question);

// How a decoded shortest-path answer is wrong: `lab probe`'s error classes, judged in this order.
enum class PathError {
  none,        // valid: a shortest path from s to t
  malformed,   // no <eos>, or a token before it that is not a vertex label
  wrong_ends,  // does not start at s or does not end at t
  too_short,   // from s to t in fewer hops than d(s, t): only possible through a non-edge
  too_long,    // from s to t in more hops than d(s, t)
  not_a_path,  // the right length and ends, but a step that is not an edge of the graph
};
constexpr PathError kPathErrors[] = {PathError::none,      PathError::malformed, PathError::wrong_ends,
                                     PathError::too_short, PathError::too_long,  PathError::not_a_path};
const char* path_error_name(PathError error);  // "correct", "malformed", "wrong_ends", ...

struct PathVerdict {
  PathError error = PathError::malformed;
  int first_bad_hop = 0;  // 1-based hop of the first step that is not an edge; 0 if every step is one
};

// `expected` and `decoded` as for score_shortest_path. Agrees with it: error == none iff valid.
PathVerdict classify_path_answer(const GraphQuestion& question, std::span<const Token> expected,
                                 std::span<const Token> decoded);

// Connectivity: exact match of <yes>/<no> then <eos>.
bool score_connectivity(std::span<const Token> expected, std::span<const Token> decoded);

enum class ConnectivityError {
  none,
  false_yes,  // <yes> <eos> for a pair that is not connected
  false_no,   // <no> <eos> for a connected pair
  malformed,  // anything but <yes> or <no> followed by <eos>
};
constexpr ConnectivityError kConnectivityErrors[] = {ConnectivityError::none, ConnectivityError::false_yes,
                                                     ConnectivityError::false_no,
                                                     ConnectivityError::malformed};
const char* connectivity_error_name(ConnectivityError error);  // "correct", "false_yes", ...
ConnectivityError classify_connectivity_answer(std::span<const Token> expected,
                                               std::span<const Token> decoded);

// Accuracy and balanced accuracy (the mean of the two per-class recalls) of connectivity answers.
struct ConnectivityTally {
  long yes_total = 0, yes_correct = 0, no_total = 0, no_correct = 0;

  void add(bool truth_connected, bool correct);
  double accuracy() const;
  double balanced_accuracy() const;
};

}  // namespace lab
