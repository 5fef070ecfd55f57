//===- Data.cpp - datasets, normalisation, shuffling and batching ---------===//

#include "ampc/Train/Data.h"

#include "Error.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>

using ampc_rt::DType;
using ampc_rt::Tensor;
using namespace ampc::train;
using ampc::train::detail::makeError;

namespace {

/// Class indices from a 1-D integer tensor.
llvm::Expected<std::vector<int32_t>> toClasses(const Tensor &t,
                                               llvm::StringRef name) {
  if (t.shape.size() != 1)
    return makeError("'" + name + "': labels must be a 1-D array");
  std::vector<int32_t> classes(t.numElements());
  for (int64_t i = 0; i < t.numElements(); ++i) {
    int64_t value;
    switch (t.dtype) {
    case DType::U8:
      value = t.as<uint8_t>()[i];
      break;
    case DType::I32:
      value = t.as<int32_t>()[i];
      break;
    case DType::I64:
      value = t.as<int64_t>()[i];
      break;
    default:
      return makeError("'" + name +
                       "': labels must be uint8, int32 or int64, not " +
                       ampc_rt::dtypeName(t.dtype));
    }
    if (value < INT32_MIN || value > INT32_MAX)
      return makeError("'" + name + "': label " + llvm::Twine(value) +
                       " of sample " + llvm::Twine(i) +
                       " is not a 32-bit class index");
    classes[i] = int32_t(value);
  }
  return classes;
}

} // namespace

int64_t Dataset::features() const {
  return samples.shape.empty() || labels.empty()
             ? 0
             : samples.numElements() / size();
}

llvm::Expected<Dataset> ampc::train::makeDataset(Tensor samples,
                                                 const Tensor &labels,
                                                 llvm::StringRef name) {
  if (samples.dtype != DType::U8 && samples.dtype != DType::F32)
    return makeError("'" + name + "': samples must be uint8 or float32, not " +
                     ampc_rt::dtypeName(samples.dtype));
  auto classes = toClasses(labels, name);
  if (!classes)
    return classes.takeError();
  if (samples.shape.empty() || samples.shape[0] != int64_t(classes->size()))
    return makeError("'" + name +
                     "': the samples and the labels hold different numbers "
                     "of samples");
  Dataset data;
  data.samples = std::move(samples);
  data.labels = std::move(*classes);
  return data;
}

namespace {
constexpr int64_t kCifarImage = 3 * 32 * 32;

/// CIFAR-10's training split (five batches) or test split.
llvm::Expected<Dataset> loadCifar(const std::string &dir,
                                  llvm::StringRef split) {
  std::vector<std::string> files;
  if (split == "test")
    files.push_back(dir + "/test_batch.bin");
  else
    for (int i = 1; i <= 5; ++i)
      files.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  std::string bytes;
  for (const std::string &file : files) {
    auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false);
    if (!buffer)
      return makeError("cannot read '" + file +
                       "': " + buffer.getError().message());
    bytes += (*buffer)->getBuffer().str();
  }
  return ampc::train::parseCifarBatch(bytes, dir + " (" + split.str() + ")");
}
} // namespace

llvm::Expected<Dataset> ampc::train::parseCifarBatch(llvm::StringRef bytes,
                                                     llvm::StringRef name) {
  int64_t record = kCifarImage + 1;
  if (bytes.empty() || int64_t(bytes.size()) % record != 0)
    return makeError("'" + name + "' is not CIFAR-10 binary batches: " +
                     llvm::Twine(bytes.size()) + " bytes, not a multiple of " +
                     llvm::Twine(record));
  int64_t n = int64_t(bytes.size()) / record;
  Tensor images(DType::U8, {n, 3, 32, 32});
  Tensor labels(DType::U8, {n});
  for (int64_t i = 0; i < n; ++i) {
    const char *at = bytes.data() + i * record;
    labels.as<uint8_t>()[i] = uint8_t(at[0]);
    std::memcpy(images.as<uint8_t>() + i * kCifarImage, at + 1, kCifarImage);
  }
  return makeDataset(std::move(images), labels, name);
}

llvm::Expected<Dataset> ampc::train::padImages(const Dataset &data,
                                               int64_t size, int64_t channels) {
  const Tensor &x = data.samples;
  if (x.dtype != DType::U8 || x.shape.size() != 3)
    return makeError("padding images needs grayscale uint8 images [N, H, W], "
                     "got " + x.typeString());
  int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2];
  if (channels < 1 || size < h || size < w)
    return makeError("cannot pad " + llvm::Twine(h) + "x" + llvm::Twine(w) +
                     " images to " + llvm::Twine(size) + "x" +
                     llvm::Twine(size) + " with " + llvm::Twine(channels) +
                     " channels");
  Dataset padded;
  padded.labels = data.labels;
  padded.samples = Tensor(DType::U8, {n, channels, size, size});
  uint8_t *out = padded.samples.as<uint8_t>();
  std::fill(out, out + padded.samples.numElements(), 0);
  int64_t top = (size - h) / 2, left = (size - w) / 2;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < h; ++r)
        std::memcpy(out + ((i * channels + c) * size + top + r) * size + left,
                    x.as<uint8_t>() + (i * h + r) * w, w);
  return padded;
}

llvm::Expected<Dataset> ampc::train::loadSplit(llvm::StringRef directory,
                                               llvm::StringRef split) {
  if (split != "train" && split != "test")
    return makeError("unknown split '" + split + "'; expected train or test");
  std::string dir = directory.str();
  bool idx = llvm::sys::fs::exists(dir + "/train-images-idx3-ubyte.gz");
  bool npy = llvm::sys::fs::exists(dir + "/train-images.npy");
  if (!idx && !npy && llvm::sys::fs::exists(dir + "/test_batch.bin"))
    return loadCifar(dir, split);
  if (!idx && !npy)
    return makeError("'" + directory +
                     "' has neither Fashion-MNIST's IDX files "
                     "(train-images-idx3-ubyte.gz, ...; Debian's "
                     "dataset-fashion-mnist installs them), CIFAR-10's "
                     "binary batches (test_batch.bin, ...) nor "
                     "train-images.npy");
  std::string prefix =
      dir + "/" + (idx && split == "test" ? "t10k" : split.str());
  std::string images = prefix + (idx ? "-images-idx3-ubyte.gz" : "-images.npy");
  std::string labels = prefix + (idx ? "-labels-idx1-ubyte.gz" : "-labels.npy");
  auto x = idx ? ampc_rt::readIdx(images) : ampc_rt::readNpy(images);
  if (!x)
    return makeError(x.message());
  auto y = idx ? ampc_rt::readIdx(labels) : ampc_rt::readNpy(labels);
  if (!y)
    return makeError(y.message());
  return makeDataset(std::move(*x), *y, images + "' and '" + labels);
}

std::vector<int64_t> ampc::train::epochOrder(int64_t size, uint64_t seed,
                                             unsigned epoch) {
  std::vector<int64_t> order(size);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 1000003 + epoch);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

Batcher::Batcher(std::vector<int64_t> sampleShape, int64_t numClasses,
                 Normalization normalization)
    : samples(DType::F32, sampleShape),
      onehot(DType::F32, {sampleShape.at(0), numClasses}),
      normalization(normalization) {}

void Batcher::fill(const Dataset &data, llvm::ArrayRef<int64_t> order,
                   int64_t begin) {
  int64_t batch = batchSize(), features = data.features();
  int64_t numClasses = onehot.shape[1];
  std::fill(onehot.data.begin(), onehot.data.end(), 0);
  filled = std::clamp<int64_t>(int64_t(order.size()) - begin, 0, batch);
  rowClasses.resize(batch);
  // Padding rows repeat a sample the batch holds (or the order's first).
  int64_t pad = filled ? order[begin] : order.front();
  for (int64_t r = 0; r < batch; ++r) {
    int64_t sample = r < filled ? order[begin + r] : pad;
    float *dst = samples.as<float>() + r * features;
    if (data.samples.dtype == DType::U8) {
      const uint8_t *src = data.samples.as<uint8_t>() + sample * features;
      for (int64_t p = 0; p < features; ++p)
        dst[p] = (src[p] / normalization.divisor - normalization.mean) /
                 normalization.stddev;
    } else {
      const float *src = data.samples.as<float>() + sample * features;
      std::copy(src, src + features, dst);
    }
    rowClasses[r] = data.labels[sample];
    onehot.as<float>()[r * numClasses + rowClasses[r]] = 1;
  }
}
