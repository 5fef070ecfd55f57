//===- TrainStepABITest.cpp - the training step's contract ----------------===//
//
// Role spellings round-trip, malformed ones are rejected, and StepLayout
// finds every part of a step by role and rejects what breaks the order.
//
//===----------------------------------------------------------------------===//

#include "ampc/Dialect/Amp/IR/TrainStepABI.h"

#include "gtest/gtest.h"

using namespace ampc::amp::abi;

namespace {

TEST(TrainStepABITest, EveryRoleRoundTrips) {
  std::vector<std::pair<Role, std::string>> cases = {
      {Role::ofParam(0), "param0"},
      {Role::ofParam(12), "param12"},
      {Role::ofParam(3, RoleKind::Momentum), "param3.momentum"},
      {Role::ofParam(1, RoleKind::ExpAvg), "param1.exp_avg"},
      {Role::ofParam(1, RoleKind::ExpAvgSq), "param1.exp_avg_sq"},
      {Role::of(RoleKind::Beta1Power), "beta1_power"},
      {Role::of(RoleKind::Beta2Power), "beta2_power"},
      {Role::of(RoleKind::LossScale), "loss_scale"},
      {Role::of(RoleKind::GrowthTracker), "growth_tracker"},
      {Role::of(RoleKind::HysteresisTracker), "hysteresis_tracker"},
      {Role::of(RoleKind::Fp8AmaxPosition), "fp8.amax_position"},
      {Role::of(RoleKind::Fp8AmaxHistory), "fp8.amax_history"},
      {Role::of(RoleKind::Fp8AmaxBlockMax), "fp8.amax_block_max"},
      {Role::of(RoleKind::Fp8Scale), "fp8.scale"},
      {Role::of(RoleKind::LearningRate), "learning_rate"},
      {Role::of(RoleKind::Batch), "batch"},
      {Role::of(RoleKind::Loss), "loss"},
      {Role::of(RoleKind::FoundInf), "found_inf"},
      {Role::of(RoleKind::GradNorm), "grad_norm"},
      {Role::of(RoleKind::CastStats), "cast_stats"},
  };
  for (const auto &[role, text] : cases) {
    EXPECT_EQ(role.str(), text);
    std::optional<Role> parsed = Role::parse(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(*parsed, role) << text;
  }
}

TEST(TrainStepABITest, MalformedRolesAreRejected) {
  for (const char *text :
       {"", "param", "param-1", "param01", "param0.", "param0.velocity",
        "paramx", "fp8.", "fp8.t0", "fp8..scale", "fp8.t0.amax", "Loss",
        "loss_scale.x", "batch0",
        // One state for all sites (a column each), not one per site.
        "fp8.t0.amax_position", "fp8.t0.scale", "fp8.t0.amax_history"})
    EXPECT_FALSE(Role::parse(text)) << "'" << text << "'";
}

TEST(TrainStepABITest, StateAndDirections) {
  EXPECT_TRUE(Role::ofParam(0).isState());
  EXPECT_TRUE(Role::of(RoleKind::LossScale).isState());
  EXPECT_TRUE(Role::of(RoleKind::Fp8Scale).isState());
  EXPECT_TRUE(Role::of(RoleKind::Fp8AmaxPosition).isState());
  EXPECT_FALSE(Role::of(RoleKind::Batch).isState());
  EXPECT_TRUE(Role::of(RoleKind::Batch).isArgument());
  EXPECT_FALSE(Role::of(RoleKind::Batch).isResult());
  EXPECT_FALSE(Role::of(RoleKind::LearningRate).isState());
  EXPECT_TRUE(Role::of(RoleKind::LearningRate).isArgument());
  EXPECT_FALSE(Role::of(RoleKind::LearningRate).isResult());
  EXPECT_FALSE(Role::of(RoleKind::Loss).isArgument());
  EXPECT_TRUE(Role::of(RoleKind::CastStats).isResult());
}

TEST(TrainStepABITest, LayoutFindsEveryPartByRole) {
  std::vector<std::string> args = {
      "param0",     "param1",    "param0.momentum", "param1.momentum",
      "loss_scale", "fp8.scale", "batch",           "batch"};
  std::vector<std::string> results = {"param0",
                                      "param1",
                                      "param0.momentum",
                                      "param1.momentum",
                                      "loss_scale",
                                      "fp8.scale",
                                      "loss",
                                      "found_inf",
                                      "grad_norm",
                                      "cast_stats"};
  std::string error;
  std::optional<StepLayout> layout = StepLayout::get(args, results, error);
  ASSERT_TRUE(layout) << error;
  EXPECT_EQ(layout->numParams, 2u);
  EXPECT_EQ(layout->numState, 4u);
  EXPECT_EQ(layout->numBatch, 2u);
  EXPECT_EQ(layout->numCarried(), 6u);
  EXPECT_EQ(layout->loss, 6u);
  EXPECT_EQ(layout->foundInf, 7u);
  EXPECT_EQ(layout->gradNorm, 8u);
  EXPECT_EQ(layout->castStats, std::optional<size_t>(9));
  EXPECT_FALSE(layout->learningRate);

  // A learning-rate argument between the state and the batch.
  args.insert(args.begin() + 6, "learning_rate");
  layout = StepLayout::get(args, results, error);
  ASSERT_TRUE(layout) << error;
  EXPECT_EQ(layout->learningRate, std::optional<size_t>(6));
  EXPECT_EQ(layout->numCarried(), 6u);
  EXPECT_EQ(layout->numBatch, 2u);

  // The trailing results may come in any order.
  std::vector<std::string> shuffled = {"param0", "grad_norm", "loss",
                                       "found_inf"};
  layout = StepLayout::get({"param0", "batch"}, shuffled, error);
  ASSERT_TRUE(layout) << error;
  EXPECT_EQ(layout->gradNorm, 1u);
  EXPECT_EQ(layout->loss, 2u);
  EXPECT_FALSE(layout->castStats);
}

TEST(TrainStepABITest, LayoutRejectsBrokenContracts) {
  std::string error;
  auto rejects = [&](std::vector<std::string> args,
                     std::vector<std::string> results,
                     const std::string &expected) {
    error.clear();
    EXPECT_FALSE(StepLayout::get(args, results, error));
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  };
  std::vector<std::string> tail = {"loss", "found_inf", "grad_norm"};
  auto with = [&](std::vector<std::string> head) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  rejects({"param1", "batch"}, with({"param1"}),
          "argument #0 is 'param1', expected 'param0'");
  rejects({"batch"}, tail, "no 'param0' argument");
  rejects({"param0", "batch", "loss_scale"}, with({"param0"}),
          "argument #2 is 'loss_scale', expected 'batch'");
  rejects({"param0", "batch", "learning_rate"}, with({"param0"}),
          "argument #2 is 'learning_rate', expected 'batch' after the "
          "parameters, the state and an optional 'learning_rate'");
  rejects({"param0", "learning_rate", "learning_rate", "batch"},
          with({"param0"}), "argument #2 is 'learning_rate'");
  rejects({"param0", "loss_scale", "param1"}, with({"param0"}),
          "parameter 'param1' after the optimizer state");
  rejects({"param0", "loss_scale"}, with({"loss_scale", "param0"}),
          "do not start with the parameters and state");
  rejects({"param0"}, {"param0", "loss", "found_inf"},
          "lacks a 'loss', 'found_inf' or 'grad_norm'");
  rejects({"param0"}, with({"param0", "loss"}),
          "result #2 'loss' is unexpected after the state (or repeated)");
}

} // namespace
