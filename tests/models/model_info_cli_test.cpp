// `lab model-info`, run as a subprocess as a user runs it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/accounting.h"
#include "models/model_config_json.h"
#include "tests/support/subprocess.h"

namespace lab::test {
namespace {

TEST(ModelInfoCli, HelpExplainsEveryModelFlag) {
  ProcessResult r = run_lab({"model-info", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag : {"--vocab",
                           "--max-seq-len",
                           "--d-model",
                           "--layers",
                           "--heads",
                           "--d-ff",
                           "--norm",
                           "--positions",
                           "--activation",
                           "--init-scale",
                           "--experts",
                           "--top-k",
                           "--expert-width",
                           "--granularity",
                           "--expansion",
                           "--router",
                           "--capacity-factor",
                           "--group-size",
                           "--load-balance-coef",
                           "--z-loss-coef",
                           "--moe-output-norm",
                           "--seq-len",
                           "--json"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "help does not mention " << flag;
  }
}

TEST(ModelInfoCli, PrintsTheAccountingOfAGoodConfig) {
  ProcessResult r = run_lab({"model-info", "--d-model", "8", "--heads", "2", "--layers", "2", "--vocab", "10",
                             "--max-seq-len", "8", "--experts", "4", "--top-k", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The hand-computed case of accounting_test.cpp.
  EXPECT_NE(r.out.find("total                            1840\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("active                           1328\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("training FLOPs per token           8544\n"), std::string::npos) << r.out;
}

TEST(ModelInfoCli, BadConfigsExitTwoNamingTheField) {
  ProcessResult r = run_lab({"model-info", "--d-model", "256", "--heads", "6"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("heads (6) must divide d_model (256)"), std::string::npos) << r.err;
  r = run_lab({"model-info", "--experts", "4", "--top-k", "5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("top_k (5) must not exceed experts (4)"), std::string::npos) << r.err;
  r = run_lab({"model-info", "--granularity", "3", "--expansion", "2", "--d-ff", "64"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("granularity (3) must divide d_ff (64)"), std::string::npos) << r.err;
  r = run_lab({"model-info", "--norm", "batch_norm"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--norm"), std::string::npos) << r.err;
}

TEST(ModelInfoCli, AbsurdSizesAreUserErrorsNotNegativeCounts) {
  // 8e9 x 8e9 overflows int64 in the attention matrices: a clear error, exit 2, nothing printed.
  ProcessResult r = run_lab({"model-info", "--vocab", "100", "--max-seq-len", "30", "--d-model", "8000000000",
                             "--layers", "100", "--json"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("overflows"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // Large but representable: beyond the 1e14 parameters the lab accepts.
  r = run_lab({"model-info", "--d-model", "4000000", "--layers", "1000", "--json"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("more than the 1e14"), std::string::npos) << r.err;
}

TEST(ModelInfoCli, JsonIsValidAndMatchesTheLibrary) {
  ProcessResult r = run_lab({"model-info", "--granularity", "8", "--expansion", "8", "--top-k", "1",
                             "--activation", "swiglu", "--seq-len", "64", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);  // throws (and fails the test) on invalid JSON
  ModelConfig c;
  c.ffn = FfnKind::moe;
  c.granularity = 8;
  c.expansion = 8;
  c.top_k = 1;
  c.activation = ActivationKind::swiglu;
  // The config is config.json's: the fields as given, the fine-grained shorthand resolved apart.
  EXPECT_EQ(model_config_from_json(j["config"], "model-info"), c);
  EXPECT_EQ(j["config"]["resolved"]["experts"], 64);
  EXPECT_EQ(j["config"]["resolved"]["top_k"], 8);
  EXPECT_EQ(j["config"]["resolved"]["expert_width"], 32);
  EXPECT_EQ(j["parameters"]["total"], count_parameters(c).total);
  EXPECT_EQ(j["parameters"]["active"], count_parameters(c).active);
  EXPECT_EQ(j["flops_per_token"]["seq_len"], 64);
  EXPECT_DOUBLE_EQ(j["flops_per_token"]["training"].get<double>(), count_flops(c, 64).training);
}

}  // namespace
}  // namespace lab::test
