#pragma once
// CLI11 checks with messages a user can read: CLI::PositiveNumber reports its range as "0.000000 to
// 1797693134862315708145...", 300 digits of the largest double.

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lab {

inline CLI::Validator whole_number_at_least(long long least) {
  return CLI::Validator(
      [least](std::string& input) -> std::string {
        long long value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return "'" + input + "' is not a whole number";
        if (value < least) return "must be at least " + std::to_string(least) + ", got " + input;
        return {};
      },
      "INT>=" + std::to_string(least));
}

inline CLI::Validator positive_real() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return "'" + input + "' is not a number";
        if (!(value > 0)) return "must be positive, got " + input;
        return {};
      },
      "X>0");
}

inline CLI::Validator positive_number() { return whole_number_at_least(1); }
inline CLI::Validator non_negative_number() { return whole_number_at_least(0); }

// A flag taking one of `names`, stored as its enum value; the help shows the current value.
template <typename Enum>
inline CLI::Option* add_enum_flag(CLI::App* app, const std::string& name, Enum& value,
                                  const std::string& help, const std::map<std::string, Enum>& names) {
  std::vector<std::string> keys;
  for (const auto& entry : names) keys.push_back(entry.first);
  return app
      ->add_option_function<std::string>(
          name, [&value, names](const std::string& text) { value = names.at(text); }, help)
      ->check(CLI::IsMember(keys))
      ->default_str(std::string(to_string(value)));
}

}  // namespace lab
