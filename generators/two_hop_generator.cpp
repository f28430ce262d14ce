#include "generators/two_hop_generator.h"

#include <bit>
#include <numeric>

#include "core/error.h"
#include "generators/graph_labels.h"
#include "generators/rng.h"

namespace lab {
namespace {

constexpr std::size_t kTestSplit = 1;  // split numbers follow splits(): train, test

// Buffers reused from example to example by each generator thread.
struct TwoHopWorkspace {
  std::vector<int> pool;                   // middles 0..M-1, partially shuffled per end
  std::vector<std::uint64_t> neighbours;   // end a's middles as a bitset: words [a * W, (a + 1) * W)
  std::vector<std::pair<int, int>> edges;  // (end, |V|/2 + middle), before labels
  std::vector<int> label;                  // vertex -> label; ends are 0..E-1, middles E..|V|-1
};

// Middles shared by ends a and b.
int shared_middles(const std::uint64_t* neighbours, std::size_t words, int a, int b) {
  int count = 0;
  for (std::size_t w = 0; w < words; ++w)
    count += std::popcount(neighbours[a * words + w] & neighbours[b * words + w]);
  return count;
}

}  // namespace

void TwoHopParams::validate() const {
  check_field_ranges(*this);
  if (vertices % 2 != 0) fail("--vertices must be even (half ends, half middles), got {}", vertices);
  const int middles = vertices / 2;
  if (resolved_degree() > middles / 2) {
    fail(
        "--degree ({}) must be at most --vertices / 4 = {}: two ends joined to more than half of the {} "
        "middles each always share one, so the answer <no> would be impossible",
        resolved_degree(), middles / 2, middles);
  }
}

namespace {
const TwoHopParams& validated(const TwoHopParams& params) {
  params.validate();
  return params;
}
}  // namespace

TwoHopGenerator::TwoHopGenerator(TwoHopParams params)
    : params_(validated(params)), vocabulary_(graph_vocabulary(params_.format())) {}

std::vector<SplitSpec> TwoHopGenerator::splits() const {
  return {{"train", params_.train_count}, {"test", params_.test_count}};
}

nlohmann::json TwoHopGenerator::parameters() const {
  nlohmann::json p = manifest_parameters(params_);
  p.update({{"degree", params_.resolved_degree()},
            {"node_tokens", params_.vertices},  // what graph_format_of() reads
            {"prompt_format", kGraphPromptFormat},
            {"test_partition", kTestPartition}});
  return p;
}

TwoHopSample TwoHopGenerator::sample(std::size_t split, std::uint64_t index) const {
  TwoHopSample result;
  std::vector<Token> prompt;
  draw(split, index, result, prompt);
  return result;
}

void TwoHopGenerator::draw(std::size_t split, std::uint64_t index, TwoHopSample& result,
                           std::vector<Token>& prompt) const {
  static thread_local TwoHopWorkspace ws;
  const int ends = params_.vertices / 2, middles = params_.vertices / 2;
  const int degree = params_.resolved_degree();
  const std::size_t words = (static_cast<std::size_t>(middles) + 63) / 64;
  Rng rng(params_.seed, split, index);
  // The case is drawn first, so one shared middle and none are exactly 50/50 in expectation.
  const bool want_middle = rng.bernoulli(0.5);
  const int want_shared = want_middle ? 1 : 0;
  constexpr int kMaxDraws = 100'000;
  for (int draws = 0;; ++draws) {
    if (draws == kMaxDraws) {
      fail(
          "no usable graph for example {} of split {} in {} draws: --vertices {} --degree {} allow too "
          "few distinct examples; use more vertices",
          index, split == kTestSplit ? "test" : "train", kMaxDraws, params_.vertices, degree);
    }
    // Each end's middles: the first `degree` of a partial Fisher-Yates shuffle of the pool (any
    // arrangement of the pool gives a uniform subset, so the pool is reset once per draw).
    ws.pool.resize(middles);
    std::iota(ws.pool.begin(), ws.pool.end(), 0);
    ws.neighbours.assign(static_cast<std::size_t>(ends) * words, 0);
    ws.edges.clear();
    for (int a = 0; a < ends; ++a) {
      for (int i = 0; i < degree; ++i) {
        std::swap(ws.pool[i], ws.pool[i + rng.uniform(middles - i)]);
        const int m = ws.pool[i];
        ws.neighbours[a * words + m / 64] |= 1ULL << (m % 64);
        ws.edges.emplace_back(a, ends + m);
      }
    }
    // The pairs of ends (a < b) sharing the drawn number of middles, in row-major order; one of them
    // uniformly, found by a second scan rather than stored.
    std::uint64_t candidates = 0;
    for (int a = 0; a < ends; ++a) {
      for (int b = a + 1; b < ends; ++b)
        candidates += shared_middles(ws.neighbours.data(), words, a, b) == want_shared;
    }
    if (candidates == 0) continue;  // this graph cannot provide the drawn case: redraw it
    std::uint64_t k = rng.uniform(candidates);
    int s = -1, t = -1;
    for (int a = 0; a < ends && s < 0; ++a) {
      for (int b = a + 1; b < ends; ++b) {
        if (shared_middles(ws.neighbours.data(), words, a, b) == want_shared && k-- == 0) {
          s = a;
          t = b;
          break;
        }
      }
    }
    if (rng.bernoulli(0.5)) std::swap(s, t);
    int middle = -1;
    if (want_middle) {
      for (std::size_t w = 0; w < words && middle < 0; ++w) {
        const std::uint64_t both = ws.neighbours[s * words + w] & ws.neighbours[t * words + w];
        if (both != 0) middle = ends + static_cast<int>(w * 64) + std::countr_zero(both);
      }
    }
    sample_labels(rng, params_.vertices, params_.vertices, ws.label);
    present_edges(rng, ws.edges, ws.label, result.question.edges);
    result.question.source = ws.label[s];
    result.question.target = ws.label[t];
    result.middle = want_middle ? std::optional<int>(ws.label[middle]) : std::nullopt;

    // Keep the draw only if its prompt lies in this split's partition.
    prompt.clear();
    append_graph_prompt(result.question, params_.format(), prompt);
    if (prompt_fits_split(prompt, split == kTestSplit, kTestPartition)) return;
  }
}

std::size_t TwoHopGenerator::generate(std::size_t split, std::uint64_t index, std::vector<Token>& out) const {
  static thread_local TwoHopSample drawn;  // buffers reused from example to example
  static thread_local std::vector<Token> prompt;
  draw(split, index, drawn, prompt);
  out.insert(out.end(), prompt.begin(), prompt.end());
  append_two_hop_answer(drawn.middle, out);
  return prompt.size();
}

}  // namespace lab
