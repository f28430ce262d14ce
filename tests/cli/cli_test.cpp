// The `lab` binary's global flags and exit codes, run as a subprocess exactly as a user runs it.
#include <cstdlib>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace lab::test {
namespace {

TEST(Cli, HelpExplainsTheGlobalFlagsAndExitsZero) {
  ProcessResult r = run_lab({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"--threads", "--quiet", "--version", "--help"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "help does not mention " << flag << ":\n" << r.out;
  }
  EXPECT_NE(r.out.find("Mixture-of-Experts"), std::string::npos);
}

TEST(Cli, UnknownFlagExitsTwoAndNamesTheFlag) {
  ProcessResult r = run_lab({"--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--help"), std::string::npos) << "the error should point at --help:\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, BadThreadCountsExitTwoAndNameTheFlag) {
  for (const char* value : {"0", "-3", "many", ""}) {
    ProcessResult r = run_lab({"--threads", value, "--version"});
    EXPECT_EQ(r.exit_code, 2) << "--threads " << value;
    EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.err;
    // The bound is stated as a person would, not as 300 digits of the largest double.
    EXPECT_LT(r.err.size(), 200u) << r.err;
  }
  ProcessResult r = run_lab({"--threads", "0", "--version"});
  EXPECT_NE(r.err.find("must be at least 1, got 0"), std::string::npos) << r.err;
  r = run_lab({"probe", "some-run", "--limit", "-3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--limit: must be at least 0, got -3"), std::string::npos) << r.err;
}

TEST(Cli, NoCommandPrintsUsageAndExitsTwo) {
  ProcessResult r = run_lab({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Usage"), std::string::npos) << r.err;
}

TEST(Cli, VersionNamesProjectCommitLibtorchBlasAndThreads) {
  ProcessResult r = run_lab({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(^lab \d+\.\d+\.\d+\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\ncommit: ([0-9a-f]{12}|unknown)\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nlibtorch: \d+\.\d+\.\d+)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nblas: \S+)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nthreads: [1-9]\d*\n)"))) << r.out;
}

// OpenBLAS 0.3.21 takes CPUs newer than its tables (this project's Emerald Rapids host) for a Prescott
// and runs SSE3 kernels, 4-5x slower; lab chooses its AVX-512 or AVX2 kernels then (core/blas_info.h),
// unless the user set OPENBLAS_CORETYPE.
TEST(Cli, OpenBlasRunsVectorKernelsOnAVectorCpuUnlessTheUserChose) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) GTEST_SKIP() << "OPENBLAS_CORETYPE is set here";
  ProcessResult r = run_lab({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (r.out.find("\nblas: OpenBLAS") == std::string::npos) GTEST_SKIP() << "OpenBLAS does not serve lab here";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(r.out.find("USE_OPENMP Prescott"), std::string::npos) << r.out;
  }
  ProcessResult chosen = run_lab({"--version"}, {"OPENBLAS_CORETYPE=Prescott"});
  ASSERT_EQ(chosen.exit_code, 0) << chosen.err;
  EXPECT_NE(chosen.out.find("USE_OPENMP Prescott"), std::string::npos) << chosen.out;
  EXPECT_EQ(chosen.out.find("chosen by lab"), std::string::npos) << chosen.out;
}

TEST(Cli, ThreadsFlagSetsLibtorchThreads) {
  ProcessResult r = run_lab({"--threads", "1", "--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nthreads: 1\n"), std::string::npos) << r.out;
  r = run_lab({"--threads", "3", "--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nthreads: 3\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lab::test
