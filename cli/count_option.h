#pragma once
// Count flags that accept what researchers type: 1000000, 1e6, 3.5e6, 1_000_000. Header-only: the
// config structs' flags (cli/field_flags.h) are also built in tests that do not link the binary.

#include <cmath>
#include <cstdint>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

namespace lab {

inline CLI::Option* add_count_option(CLI::App* app, const std::string& name, std::uint64_t& value,
                                     const std::string& help) {
  // Rewrites the text to plain digits before CLI11 converts it, so errors name the flag.
  CLI::Validator count_text(
      [](std::string& text) -> std::string {
        std::string digits;
        for (char c : text) {
          if (c != '_') digits += c;
        }
        std::size_t used = 0;
        double number = 0;
        try {
          number = std::stod(digits, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != digits.size() || digits.empty() || !(number >= 0) || number != std::floor(number) ||
            number > 1e18) {
          return "expected a whole number such as 1000, 1e6 or 1_000_000, got '" + text + "'";
        }
        text = std::to_string(static_cast<std::uint64_t>(number));
        return "";
      },
      "COUNT");
  return app->add_option(name, value, help)
      ->transform(count_text)
      ->option_text("COUNT=" + std::to_string(value));
}

}  // namespace lab
