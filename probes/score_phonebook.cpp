// Scoring of phone-book answers (tasks/phonebook_task.h): exact and per-digit recall of the book's
// names and of the control names, the bits stored per parameter, and how wrong numbers are wrong.
#include <cmath>

#include "core/run_files.h"
#include "probes/probe.h"
#include "probes/scoring.h"
#include "tasks/phonebook_task.h"

namespace lab {
using scoring::ratio;

nlohmann::json score_phonebook_answers(const Dataset& data, std::span<const std::vector<Token>> test_answers,
                                       std::span<const std::vector<Token>> control_answers,
                                       const nlohmann::json& parameters,
                                       std::vector<nlohmann::json>* predictions) {
  const Vocabulary& vocabulary = data.vocabulary();
  struct Recall {
    double exact, per_digit;
    nlohmann::json errors;
  };
  auto recall = [&](const DatasetSplit& split, std::span<const std::vector<Token>> answers) {
    long exact = 0, digits = 0, malformed = 0;
    std::vector<long> digits_wrong(kPhoneDigits + 1, 0), wrong_at(kPhoneDigits, 0);
    for (std::size_t i = 0; i < answers.size(); ++i) {
      const ExampleView ex = split.example(i);
      const PhoneScore s = score_phone_number(ex.answer(), answers[i]);
      exact += s.exact;
      digits += s.digits_correct;
      malformed += s.malformed;
      ++digits_wrong[kPhoneDigits - s.digits_correct];
      std::vector<int> wrong_positions;
      for (int d = 0; d < kPhoneDigits; ++d) {
        if (!s.digit_correct[d]) {
          ++wrong_at[d];
          wrong_positions.push_back(d);
        }
      }
      if (predictions) {
        const auto prompt = ex.prompt();
        predictions->push_back(
            {{"split", split.name()},
             {"index", i},
             {"prompt", vocabulary.render(prompt)},
             {"expected", vocabulary.render(ex.answer())},
             {"decoded", vocabulary.render(answers[i])},
             {"decoded_ids", answers[i]},
             {"verdict",
              {{"exact", s.exact},
               {"digits_correct", s.digits_correct},
               {"wrong_positions", wrong_positions},
               {"malformed", s.malformed}}},
             {"facts",
              {{"name",
                prompt.size() >= 3 ? vocabulary.render(prompt.subspan(1, prompt.size() - 3)) : ""}}}});
      }
    }
    const auto n = static_cast<double>(answers.size());
    nlohmann::json histogram = nlohmann::json::object();
    for (int k = 0; k <= kPhoneDigits; ++k) histogram[std::to_string(k)] = digits_wrong[k];
    nlohmann::json errors = {{"counts",
                              {{"exact", exact},
                               {"wrong_digits", static_cast<long>(answers.size()) - exact - malformed},
                               {"malformed", malformed}}},
                             {"digits_wrong", histogram},
                             {"wrong_by_position", wrong_at}};
    return Recall{ratio(exact, n), ratio(digits, n * kPhoneDigits), std::move(errors)};
  };
  Recall test = recall(data.split("test"), test_answers);
  Recall control = recall(data.split("control"), control_answers);
  const auto entries = data.manifest().at("parameters").at("entries").get<double>();
  const double memorized = test.exact * entries;
  const double bits = memorized * bits_per_phone_number();
  nlohmann::json result;
  result[run_files::probe::kMetrics] = {
      {"examples", test_answers.size()},
      {"recall_exact", test.exact},
      {"recall_per_digit", test.per_digit},
      {"control_exact", control.exact},
      {"control_per_digit", control.per_digit},
      {"accuracy", test.exact},
      {"book_entries", entries},
      {"memorized_entries", memorized},
      {"bits_per_param_total", bits / parameters.at("total").get<double>()},
      {"bits_per_param_active", bits / parameters.at("active").get<double>()}};
  result["breakdown"] = nlohmann::json::object();
  result["errors"] = {{"test", test.errors}, {"control", control.errors}};
  return result;
}

}  // namespace lab
