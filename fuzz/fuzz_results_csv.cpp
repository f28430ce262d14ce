// The CSV reader of `lab fit RESULTS` (results.csv as `lab report` writes it, or as a spreadsheet
// saved it): any bytes.
#include "core/error.h"
#include "fuzz/bundle.h"
#include "results/report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path file = lab::fuzz::write_input("results.csv", data, size);
  try {
    for (const auto& row : lab::read_results_csv(file)) (void)row.size();
  } catch (const lab::Error&) {
  }
  return 0;
}
