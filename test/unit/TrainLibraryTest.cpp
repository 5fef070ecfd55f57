//===- TrainLibraryTest.cpp - datasets, batching and the training loop ----===//
//
// The training library (ampc/Train) on data in memory: dataset checks,
// normalisation against a closed form, the shuffle, padded batches, an
// evaluation that counts every sample, the errors of tiny and empty sets,
// and a resumed run that ends bit-identical to an uninterrupted one.
//
//===----------------------------------------------------------------------===//

#include "JitTestSupport.h"

#include "ampc/Train/TrainLoop.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;
using namespace ampc::train;

namespace {

/// Logistic regression, 2 features, 2 classes, batch 4.
const char *kLinear = R"mlir(
// Logistic regression on 2 features, 2 classes, batch 4.
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @forward(%w: tensor<2x2xf32> {amp.param}, %b: tensor<2xf32> {amp.param},
                   %x: tensor<4x2xf32>, %onehot: tensor<4x2xf32>) -> (tensor<f32>, tensor<4x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %neg_inv_batch = arith.constant -0.25 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<4x2xf32>, tensor<2x2xf32>) outs(%z : tensor<4x2xf32>) -> tensor<4x2xf32>
  %logits = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<4x2xf32>, tensor<2xf32>) outs(%e : tensor<4x2xf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %s = arith.addf %in, %bb : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  %er = tensor.empty() : tensor<4xf32>
  %mfill = linalg.fill ins(%ninf : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<4x2xf32>) outs(%mfill : tensor<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %zfill = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sumexp = linalg.generic {indexing_maps = [#id, #rows, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%logits, %max : tensor<4x2xf32>, tensor<4xf32>) outs(%zfill : tensor<4xf32>) {
  ^bb0(%in: f32, %m: f32, %acc: f32):
    %d = arith.subf %in, %m : f32
    %ex = math.exp %d : f32
    %s = arith.addf %ex, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %e0 = tensor.empty() : tensor<f32>
  %tfill = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %total = linalg.generic {indexing_maps = [#id, #id, #rows, #rows, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%onehot, %logits, %max, %sumexp : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4xf32>, tensor<4xf32>) outs(%tfill : tensor<f32>) {
  ^bb0(%t: f32, %l: f32, %m: f32, %s: f32, %acc: f32):
    %d = arith.subf %l, %m : f32
    %ls = math.log %s : f32
    %lp = arith.subf %d, %ls : f32
    %p = arith.mulf %t, %lp : f32
    %r = arith.addf %p, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%total : tensor<f32>) outs(%e0 : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %l = arith.mulf %in, %neg_inv_batch : f32
    linalg.yield %l : f32
  } -> tensor<f32>
  return %loss, %logits : tensor<f32>, tensor<4x2xf32>
}
)mlir";

Tensor labelsOf(DType dtype, std::vector<int64_t> values) {
  Tensor t(dtype, {int64_t(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::I64)
      t.as<int64_t>()[i] = values[i];
    else if (dtype == DType::I32)
      t.as<int32_t>()[i] = int32_t(values[i]);
    else
      t.as<uint8_t>()[i] = uint8_t(values[i]);
  }
  return t;
}

/// `n` samples of two separable clusters around (+-1, +-1).
Dataset clusters(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0, 0.3f);
  Tensor x(DType::F32, {n, 2});
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = i % 2;
    float center = labels[i] ? 1.0f : -1.0f;
    x.as<float>()[2 * i] = center + noise(rng);
    x.as<float>()[2 * i + 1] = center + noise(rng);
  }
  auto data = makeDataset(std::move(x), labelsOf(DType::I64, labels), "test");
  EXPECT_TRUE(static_cast<bool>(data));
  return std::move(*data);
}

std::unique_ptr<ampc::Trainer> makeTrainer() {
  ampc::JitOptions jit;
  ampc::TrainOptions options;
  options.learningRate = 0.1;
  auto trainer = ampc::Trainer::create(kLinear, "linear.mlir", jit, options);
  EXPECT_TRUE(static_cast<bool>(trainer))
      << llvm::toString(trainer.takeError());
  return trainer ? std::move(*trainer) : nullptr;
}

std::string errorText(llvm::Error error) {
  return llvm::toString(std::move(error));
}

TEST(TrainLibraryTest, DatasetsAreChecked) {
  Tensor x(DType::F32, {3, 2});
  EXPECT_TRUE(
      static_cast<bool>(makeDataset(x, labelsOf(DType::U8, {0, 1, 1}), "ok")));
  auto narrowed =
      makeDataset(x, labelsOf(DType::I64, {0, int64_t(1) << 32, 1}), "wide");
  ASSERT_FALSE(static_cast<bool>(narrowed));
  EXPECT_EQ(errorText(narrowed.takeError()),
            "'wide': label 4294967296 of sample 1 is not a 32-bit class index");
  auto counts = makeDataset(x, labelsOf(DType::I32, {0, 1}), "short");
  ASSERT_FALSE(static_cast<bool>(counts));
  EXPECT_EQ(errorText(counts.takeError()),
            "'short': the samples and the labels hold different numbers of "
            "samples");
  auto f64 = makeDataset(Tensor(DType::F64, {3, 2}),
                         labelsOf(DType::U8, {0, 1, 1}), "f64");
  ASSERT_FALSE(static_cast<bool>(f64));
  EXPECT_EQ(errorText(f64.takeError()),
            "'f64': samples must be uint8 or float32, not f64");
  auto missing = loadSplit("/nonexistent", "train");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_NE(errorText(missing.takeError()).find("'/nonexistent' has neither"),
            std::string::npos);
}

TEST(TrainLibraryTest, EpochOrderIsADeterministicPermutation) {
  std::vector<int64_t> a = epochOrder(100, 7, 1), b = epochOrder(100, 7, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, epochOrder(100, 7, 2));
  EXPECT_NE(a, epochOrder(100, 8, 1));
  std::sort(a.begin(), a.end());
  for (int64_t i = 0; i < 100; ++i)
    ASSERT_EQ(a[i], i);
}

TEST(TrainLibraryTest, BatchesNormaliseAndPad) {
  Tensor pixels(DType::U8, {3, 2});
  uint8_t values[] = {0, 255, 51, 102, 7, 8};
  std::copy(values, values + 6, pixels.as<uint8_t>());
  auto data = makeDataset(pixels, labelsOf(DType::U8, {2, 0, 1}), "pixels");
  ASSERT_TRUE(static_cast<bool>(data));
  Batcher batcher({2, 2}, 3);
  std::vector<int64_t> order = {2, 0, 1};
  batcher.fill(*data, order, 0);
  EXPECT_EQ(batcher.rows(), 2);
  // Fashion-MNIST's normalisation, in f32 as torchvision computes it.
  auto normalised = [](float v) { return (v / 255.0f - 0.2860f) / 0.3530f; };
  EXPECT_EQ(batcher.samples.as<float>()[0], normalised(7));
  EXPECT_EQ(batcher.samples.as<float>()[3], normalised(255));
  EXPECT_FLOAT_EQ(normalised(255), (1.0f - 0.2860f) / 0.3530f);
  EXPECT_EQ(batcher.classes()[0], 1);
  EXPECT_EQ(batcher.onehot.as<float>()[0 * 3 + 1], 1.0f);
  EXPECT_EQ(batcher.onehot.as<float>()[1 * 3 + 2], 1.0f);
  // The last, partial batch: one real row, the other repeats it.
  batcher.fill(*data, order, 2);
  EXPECT_EQ(batcher.rows(), 1);
  EXPECT_EQ(batcher.samples.as<float>()[0], normalised(51));
  EXPECT_EQ(batcher.samples.as<float>()[2], normalised(51));
}

TEST(TrainLibraryTest, EvaluationCountsEverySample) {
  std::unique_ptr<ampc::Trainer> trainer = makeTrainer();
  ASSERT_TRUE(trainer);
  auto shape = getClassifierShape(*trainer);
  ASSERT_TRUE(static_cast<bool>(shape));
  EXPECT_EQ(shape->batch, 4);
  EXPECT_EQ(shape->numClasses, 2);
  // 10 samples in batches of 4: the third batch has 2 real rows.
  Dataset data = clusters(10, 1);
  auto accuracy = evaluateAccuracy(*trainer, *shape, data);
  ASSERT_TRUE(static_cast<bool>(accuracy));
  double correct = *accuracy * 10 / 100;
  EXPECT_NEAR(correct, std::round(correct), 1e-9) << *accuracy;
  // Each sample by itself, as the reference.
  int64_t expected = 0;
  for (int64_t i = 0; i < 10; ++i) {
    Tensor x(DType::F32, {1, 2});
    x.as<float>()[0] = data.samples.as<float>()[2 * i];
    x.as<float>()[1] = data.samples.as<float>()[2 * i + 1];
    auto single = makeDataset(x, labelsOf(DType::I32, {data.labels[i]}), "1");
    ASSERT_TRUE(static_cast<bool>(single));
    auto a = evaluateAccuracy(*trainer, *shape, *single);
    ASSERT_TRUE(static_cast<bool>(a));
    expected += *a == 100.0;
  }
  EXPECT_EQ(int64_t(std::round(correct)), expected);
}

TEST(TrainLibraryTest, TinyAndEmptySetsAreErrors) {
  std::unique_ptr<ampc::Trainer> trainer = makeTrainer();
  ASSERT_TRUE(trainer);
  Dataset tiny = clusters(3, 2), test = clusters(8, 3);
  auto run = runTraining(*trainer, tiny, test, {});
  ASSERT_FALSE(static_cast<bool>(run));
  EXPECT_EQ(errorText(run.takeError()),
            "the training set has 3 samples, fewer than one batch of 4");
  Dataset empty;
  empty.samples = Tensor(DType::F32, {0, 2});
  run = runTraining(*trainer, test, empty, {});
  ASSERT_FALSE(static_cast<bool>(run));
  EXPECT_EQ(errorText(run.takeError()), "the test set is empty");
  Dataset outside = clusters(8, 4);
  outside.labels[5] = 2;
  run = runTraining(*trainer, outside, test, {});
  ASSERT_FALSE(static_cast<bool>(run));
  EXPECT_EQ(errorText(run.takeError()),
            "label 2 is outside the 2 classes of @forward");
  EXPECT_EQ(trainer->stepsTaken(), 0);
}

TEST(TrainLibraryTest, AResumedRunEndsBitIdentical) {
  Dataset train = clusters(40, 5), test = clusters(12, 6);
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ampc-resume", dir));
  std::string checkpoint = (dir + "/run.ckpt").str();
  LoopOptions loop;
  loop.epochs = 3;
  loop.seed = 11;

  std::unique_ptr<ampc::Trainer> straight = makeTrainer();
  ASSERT_TRUE(straight);
  auto full = runTraining(*straight, train, test, loop);
  ASSERT_TRUE(static_cast<bool>(full)) << llvm::toString(full.takeError());
  EXPECT_EQ(full->steps, 30);

  // Two epochs, a checkpoint, then a new trainer resumes for the third.
  std::unique_ptr<ampc::Trainer> first = makeTrainer();
  ASSERT_TRUE(first);
  LoopOptions part = loop;
  part.epochs = 2;
  part.checkpoint = checkpoint;
  ASSERT_TRUE(static_cast<bool>(runTraining(*first, train, test, part)));
  std::unique_ptr<ampc::Trainer> second = makeTrainer();
  ASSERT_TRUE(second);
  LoopOptions rest = loop;
  rest.checkpoint = checkpoint;
  rest.resume = true;
  int64_t resumedAt = -1;
  rest.onResume = [&](int64_t step) { resumedAt = step; };
  auto resumed = runTraining(*second, train, test, rest);
  ASSERT_TRUE(static_cast<bool>(resumed))
      << llvm::toString(resumed.takeError());
  EXPECT_EQ(resumedAt, 20);
  EXPECT_EQ(resumed->steps, 10);
  std::vector<Tensor> a = straight->parameters(), b = second->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].data, b[i].data) << "parameter " << i;
  EXPECT_EQ(full->accuracy, resumed->accuracy);

  // Another data seed would see other batches: refused, nothing changed.
  std::unique_ptr<ampc::Trainer> third = makeTrainer();
  ASSERT_TRUE(third);
  std::vector<Tensor> before = third->parameters();
  LoopOptions other = rest;
  other.seed = 12;
  auto refused = runTraining(*third, train, test, other);
  ASSERT_FALSE(static_cast<bool>(refused));
  EXPECT_NE(errorText(refused.takeError())
                .find("cannot resume: '" + checkpoint +
                      "' was written with data seed 11 and 10 steps per "
                      "epoch; this run has seed 12 and 10"),
            std::string::npos);
  EXPECT_EQ(third->stepsTaken(), 0);
  EXPECT_EQ(third->parameters()[0].data, before[0].data);
  llvm::sys::fs::remove_directories(dir);
}

} // namespace

namespace {

/// CIFAR-10 records: label i % 10, pixel bytes (i * 7 + offset) % 251.
std::string cifarRecords(int64_t count, int64_t first) {
  std::string bytes;
  for (int64_t i = first; i < first + count; ++i) {
    bytes += char(i % 10);
    for (int64_t p = 0; p < 3 * 32 * 32; ++p)
      bytes += char((i * 7 + p) % 251);
  }
  return bytes;
}

} // namespace

TEST(TrainLibraryTest, CifarBinaryBatchesAreRead) {
  auto data = parseCifarBatch(cifarRecords(2, 3), "two");
  ASSERT_TRUE(static_cast<bool>(data)) << errorText(data.takeError());
  EXPECT_EQ(data->samples.typeString(), "2x3x32x32xu8");
  EXPECT_EQ(data->labels, (std::vector<int32_t>{3, 4}));
  // Image 1 (record 4), channel 2, row 5, column 6: byte 2 * 1024 + 5 * 32 + 6.
  int64_t p = 2 * 1024 + 5 * 32 + 6;
  EXPECT_EQ(data->samples.as<uint8_t>()[3072 + p], (4 * 7 + p) % 251);
  auto cut = parseCifarBatch(cifarRecords(2, 0).substr(100), "cut");
  ASSERT_FALSE(static_cast<bool>(cut));
  EXPECT_EQ(errorText(cut.takeError()),
            "'cut' is not CIFAR-10 binary batches: 6046 bytes, not a multiple "
            "of 3073");

  // A directory of batches: five training files, one test file.
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("cifar", dir));
  auto write = [&](const std::string &name, const std::string &bytes) {
    std::FILE *f = std::fopen((dir + "/" + name).str().c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  };
  for (int i = 1; i <= 5; ++i)
    write("data_batch_" + std::to_string(i) + ".bin", cifarRecords(2, 2 * i));
  write("test_batch.bin", cifarRecords(3, 0));
  auto train = loadSplit(dir, "train");
  auto test = loadSplit(dir, "test");
  ASSERT_TRUE(train && test);
  EXPECT_EQ(train->size(), 10);
  EXPECT_EQ(train->labels.front(), 2);
  EXPECT_EQ(test->size(), 3);
  std::remove((dir + "/data_batch_3.bin").str().c_str());
  auto missing = loadSplit(dir, "train");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_NE(errorText(missing.takeError()).find("data_batch_3.bin"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

TEST(TrainLibraryTest, GrayscaleImagesArePaddedIntoChannels) {
  Tensor x(DType::U8, {1, 2, 3});
  for (int i = 0; i < 6; ++i)
    x.as<uint8_t>()[i] = uint8_t(10 + i);
  auto data = makeDataset(x, labelsOf(DType::U8, {7}), "one");
  ASSERT_TRUE(static_cast<bool>(data));
  auto padded = padImages(*data, 5, 3);
  ASSERT_TRUE(static_cast<bool>(padded)) << errorText(padded.takeError());
  EXPECT_EQ(padded->samples.typeString(), "1x3x5x5xu8");
  EXPECT_EQ(padded->labels, std::vector<int32_t>{7});
  const uint8_t *out = padded->samples.as<uint8_t>();
  // Rows 1-2, columns 1-3 of every channel (centred; the odd pixel of
  // padding goes after), zeros elsewhere.
  for (int c = 0; c < 3; ++c)
    for (int r = 0; r < 5; ++r)
      for (int q = 0; q < 5; ++q) {
        bool inside = r >= 1 && r < 3 && q >= 1 && q < 4;
        EXPECT_EQ(out[(c * 5 + r) * 5 + q],
                  inside ? 10 + (r - 1) * 3 + (q - 1) : 0)
            << c << " " << r << " " << q;
      }
  auto small = padImages(*data, 2, 3);
  ASSERT_FALSE(static_cast<bool>(small));
  EXPECT_EQ(errorText(small.takeError()),
            "cannot pad 2x3 images to 2x2 with 3 channels");
  auto colour = padImages(*padded, 8, 3);
  ASSERT_FALSE(static_cast<bool>(colour));
  EXPECT_EQ(errorText(colour.takeError()),
            "padding images needs grayscale uint8 images [N, H, W], got "
            "1x3x5x5xu8");
}
