//===- Data.h - datasets, normalisation, shuffling and batching -*- C++ -*-===//
//
// What a classifier's training loop feeds the compiled step: a labelled
// dataset (Fashion-MNIST's IDX files, .npy arrays, or tensors in memory),
// uint8 samples normalised to f32, a deterministic order per epoch, and
// batches of samples with one-hot labels.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TRAIN_DATA_H
#define AMPC_TRAIN_DATA_H

#include "ampc_rt/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace ampc::train {

/// Samples [N, ...] (uint8 or f32) and their class indices.
struct Dataset {
  ampc_rt::Tensor samples;
  std::vector<int32_t> labels;

  int64_t size() const { return int64_t(labels.size()); }
  /// Elements per sample.
  int64_t features() const;
};

/// Checks and pairs `samples` (uint8 or f32, [N, ...]) with `labels`
/// (uint8, int32 or int64 class indices, [N], each in int32). `name` is
/// used in errors.
llvm::Expected<Dataset> makeDataset(ampc_rt::Tensor samples,
                                    const ampc_rt::Tensor &labels,
                                    llvm::StringRef name);

/// Reads one split of `directory`: Fashion-MNIST's IDX files
/// (`train-images-idx3-ubyte.gz`, ..., `t10k-*` for the test split),
/// CIFAR-10's binary batches (`data_batch_1.bin` ... `data_batch_5.bin`,
/// `test_batch.bin`: a label byte and 3x32x32 bytes per image, channels
/// first), or `train-images.npy`, `train-labels.npy`, `test-images.npy`,
/// `test-labels.npy`. `split` is "train" or "test".
llvm::Expected<Dataset> loadSplit(llvm::StringRef directory,
                                  llvm::StringRef split);

/// CIFAR-10's binary batch format on bytes: images [N, 3, 32, 32] (uint8)
/// and labels. `name` is used in errors.
llvm::Expected<Dataset> parseCifarBatch(llvm::StringRef bytes,
                                        llvm::StringRef name);

/// Grayscale images [N, H, W] (uint8) zero-padded around to [N, channels,
/// size, size] with the image replicated in every channel: Fashion-MNIST as
/// the 3x32x32 input of a CIFAR-10 model.
llvm::Expected<Dataset> padImages(const Dataset &data, int64_t size,
                                  int64_t channels);

/// How uint8 samples become f32: (x / divisor - mean) / stddev, in f32. The
/// defaults are Fashion-MNIST's (inputs / 255, then mean 0.2860, std
/// 0.3530); f32 samples are taken as they are.
struct Normalization {
  float divisor = 255.0f, mean = 0.2860f, stddev = 0.3530f;
};

/// The order of the samples in `epoch` (from 1): a shuffle that depends on
/// `seed` and `epoch` alone, so a resumed run sees the same batches.
std::vector<int64_t> epochOrder(int64_t size, uint64_t seed, unsigned epoch);

/// Fills the inputs of one classifier batch: samples of `sampleShape`
/// ([B, ...]) and one-hot labels [B, numClasses]. Rows past the end of the
/// order (the last, partial batch) repeat its first sample and are not
/// counted in `rows()`.
class Batcher {
public:
  Batcher(std::vector<int64_t> sampleShape, int64_t numClasses,
          Normalization normalization = {});

  int64_t batchSize() const { return samples.shape[0]; }
  /// Fills rows from order[begin, begin + B) of `data`.
  void fill(const Dataset &data, llvm::ArrayRef<int64_t> order, int64_t begin);
  /// The rows the last fill took from the order.
  int64_t rows() const { return filled; }
  /// The class of each row.
  llvm::ArrayRef<int32_t> classes() const { return rowClasses; }

  ampc_rt::Tensor samples, onehot;

private:
  Normalization normalization;
  std::vector<int32_t> rowClasses;
  int64_t filled = 0;
};

} // namespace ampc::train

#endif // AMPC_TRAIN_DATA_H
