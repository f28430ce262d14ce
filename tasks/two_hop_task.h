#pragma once
// The two-hop task (TASKS.md, "two-hop"): the Mixture-of-Parrots theory's length-2 path question.
// |V| vertex labels split into ends and middles; each end is joined to `degree` middles; the question
// is which middle two ends share. The vertex set is the width knob: every set a solver must hold (the
// neighbours of s, of t) grows with |V|.
//
//   prompt:  <bos> <e> u v <e> u v ... <q> s t <sep>   graph prompt format 2 (tasks/graph_task.h),
//                                                      node_tokens = |V|
//   answer:  w <eos>                                   the one middle s and t share
//            <no> <eos>                                they share none

#include <optional>
#include <span>
#include <vector>

#include "tasks/graph_task.h"

namespace lab {

// `middle`: the label of the shared middle, or nullopt when the ends share none.
void append_two_hop_answer(std::optional<int> middle, std::vector<Token>& out);

// The middles that the neighbour sets of question.source and question.target share, in increasing
// label order: a plain scan of the edge list, the brute-force ground truth of a prompt.
std::vector<int> common_neighbours(const GraphQuestion& question);

// How a decoded two-hop answer is wrong: `lab probe`'s error classes.
enum class TwoHopError {
  none,
  wrong_middle,     // named a vertex, but not the shared middle
  missed_middle,    // <no> when the ends share a middle
  invented_middle,  // named a vertex when the ends share none
  malformed,        // anything but one label or <no>, followed by <eos>
};
constexpr TwoHopError kTwoHopErrors[] = {TwoHopError::none, TwoHopError::wrong_middle,
                                         TwoHopError::missed_middle, TwoHopError::invented_middle,
                                         TwoHopError::malformed};
const char* two_hop_error_name(TwoHopError error);  // "correct", "wrong_middle", ...

// `expected` is the stored answer; `decoded` what a model produced; a vertex is a label below
// `node_tokens` (= |V|). Correct iff error == none, which is exact match of the answer's two tokens.
TwoHopError classify_two_hop_answer(std::span<const Token> expected, std::span<const Token> decoded,
                                    int node_tokens);

// Accuracy over all examples, on the two cases apart (one shared middle / none), and balanced (the
// mean of the two).
struct TwoHopTally {
  long middle_total = 0, middle_correct = 0, none_total = 0, none_correct = 0;

  void add(bool has_middle, bool correct);
  double accuracy() const;
  double middle_accuracy() const;  // NaN when there was no such example
  double none_accuracy() const;
  double balanced_accuracy() const;  // over the cases that occurred
};

}  // namespace lab
