//===- RuntimeTest.cpp - the runtime's C interface and allocator ----------===//

#include "ampc_rt/Allocator.h"
#include "ampc_rt/Collectives.h"
#include "ampc_rt/ampc_rt.h"

#include "gtest/gtest.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "ampc_rt_" + std::to_string(getpid()) + "_" +
         name;
}

bool exists(const std::string &path) { return std::ifstream(path).good(); }

struct StateDeleter {
  void operator()(ampc_state *s) const { ampc_state_destroy(s); }
};
using StatePtr = std::unique_ptr<ampc_state, StateDeleter>;

/// A state of an MLP layer's parameters, optimizer and loss-scale state.
StatePtr makeState(char *error) {
  StatePtr state(ampc_state_create());
  int64_t w[] = {4, 3}, b[] = {3}, h[] = {16};
  ampc_state_add(state.get(), "w1", AMPC_F32, 2, w, error, 256);
  ampc_state_add(state.get(), "b1", AMPC_F32, 1, b, error, 256);
  ampc_state_add(state.get(), "w1.momentum", AMPC_F32, 2, w, error, 256);
  ampc_state_add(state.get(), "loss_scale", AMPC_F32, 0, nullptr, error, 256);
  ampc_state_add(state.get(), "growth_tracker", AMPC_I32, 0, nullptr, error,
                 256);
  ampc_state_add(state.get(), "w1.amax_history", AMPC_F32, 1, h, error, 256);
  return state;
}

TEST(RuntimeTest, TensorsAndDescriptors) {
  char error[256] = "";
  int64_t shape[] = {2, 3, 4};
  ampc_tensor *t = ampc_tensor_create(AMPC_BF16, 3, shape, error, sizeof error);
  ASSERT_NE(t, nullptr) << error;
  EXPECT_EQ(ampc_tensor_nbytes(t), 2u * 3 * 4 * 2);
  EXPECT_EQ(ampc_tensor_rank(t), 3);
  EXPECT_EQ(ampc_tensor_shape(t)[2], 4);
  int64_t words[3 + 2 * 3];
  ampc_tensor_describe(t, words);
  void *data = ampc_tensor_data(t);
  EXPECT_EQ(std::memcmp(&words[0], &data, sizeof data), 0);
  EXPECT_EQ(std::memcmp(&words[1], &data, sizeof data), 0);
  EXPECT_EQ(words[2], 0);
  EXPECT_EQ(words[3], 2);
  EXPECT_EQ(words[5], 4);
  EXPECT_EQ(words[6], 12); // strides: 12, 4, 1
  EXPECT_EQ(words[7], 4);
  EXPECT_EQ(words[8], 1);
  ampc_tensor_destroy(t);

  int64_t bad[] = {2, -1};
  EXPECT_EQ(ampc_tensor_create(AMPC_F32, 2, bad, error, sizeof error), nullptr);
  EXPECT_STREQ(error, "negative size in shape");
}

TEST(RuntimeTest, NpyRoundTripThroughTheCApi) {
  char error[256] = "";
  int64_t shape[] = {2, 2};
  ampc_tensor *t =
      ampc_tensor_create(AMPC_F8E4M3FN, 2, shape, error, sizeof error);
  uint8_t bits[] = {0x38, 0x7e, 0xc5, 0x7f};
  std::memcpy(ampc_tensor_data(t), bits, 4);
  std::string path = tempPath("t.npy");
  ASSERT_EQ(ampc_tensor_write_npy(t, path.c_str(), error, sizeof error), 0)
      << error;
  ampc_tensor *back = ampc_tensor_read_npy(path.c_str(), error, sizeof error);
  ASSERT_NE(back, nullptr) << error;
  // fp8 travels as uint8 bit patterns.
  EXPECT_EQ(ampc_tensor_dtype(back), AMPC_U8);
  EXPECT_EQ(std::memcmp(ampc_tensor_data(back), bits, 4), 0);
  ampc_tensor_destroy(t);
  ampc_tensor_destroy(back);
  std::remove(path.c_str());
  EXPECT_EQ(ampc_tensor_read_npy("/nonexistent/x.npy", error, sizeof error),
            nullptr);
  EXPECT_STREQ(error,
               "cannot open '/nonexistent/x.npy': No such file or directory");
}

TEST(RuntimeTest, CheckpointSaveAndLoadBitForBit) {
  char error[256] = "";
  StatePtr state = makeState(error);
  ASSERT_EQ(ampc_state_count(state.get()), 6u) << error;
  EXPECT_STREQ(ampc_state_name(state.get(), 3), "loss_scale");
  EXPECT_EQ(ampc_state_add(state.get(), "w1", AMPC_F32, 0, nullptr, error,
                           sizeof error),
            nullptr);
  EXPECT_STREQ(error, "the state already has a tensor named 'w1'");

  // Distinctive contents, NaN payloads included.
  for (size_t i = 0; i < ampc_state_count(state.get()); ++i) {
    ampc_tensor *t =
        ampc_state_get(state.get(), ampc_state_name(state.get(), i));
    auto *bytes = static_cast<uint8_t *>(ampc_tensor_data(t));
    for (size_t j = 0; j < ampc_tensor_nbytes(t); ++j)
      bytes[j] = uint8_t(i * 37 + j * 11 + 1);
  }
  std::string path = tempPath("state.ckpt");
  ASSERT_EQ(ampc_state_save(state.get(), path.c_str(), error, sizeof error), 0)
      << error;
  EXPECT_FALSE(exists(path + ".tmp"));

  StatePtr fresh = makeState(error);
  ASSERT_EQ(ampc_state_load(fresh.get(), path.c_str(), error, sizeof error), 0)
      << error;
  for (size_t i = 0; i < ampc_state_count(state.get()); ++i) {
    const char *name = ampc_state_name(state.get(), i);
    ampc_tensor *a = ampc_state_get(state.get(), name);
    ampc_tensor *b = ampc_state_get(fresh.get(), name);
    ASSERT_EQ(ampc_tensor_nbytes(a), ampc_tensor_nbytes(b));
    EXPECT_EQ(std::memcmp(ampc_tensor_data(a), ampc_tensor_data(b),
                          ampc_tensor_nbytes(a)),
              0)
        << name;
  }
  std::remove(path.c_str());
}

TEST(RuntimeTest, CheckpointMismatchesChangeNothing) {
  char error[256] = "";
  StatePtr state = makeState(error);
  std::string path = tempPath("mismatch.ckpt");
  ASSERT_EQ(ampc_state_save(state.get(), path.c_str(), error, sizeof error), 0);

  StatePtr other(ampc_state_create());
  int64_t w[] = {4, 4};
  ampc_tensor *w1 =
      ampc_state_add(other.get(), "w1", AMPC_F32, 2, w, error, sizeof error);
  EXPECT_NE(ampc_state_load(other.get(), path.c_str(), error, sizeof error), 0);
  EXPECT_EQ(std::string(error),
            "'" + path + "': holds 6 tensors, the state has 1");

  StatePtr reshaped(ampc_state_create());
  int64_t shapes[6][2] = {{4, 4}, {3, 0}, {4, 3}, {0, 0}, {0, 0}, {16, 0}};
  const char *names[] = {"w1",
                         "b1",
                         "w1.momentum",
                         "loss_scale",
                         "growth_tracker",
                         "w1.amax_history"};
  int ranks[] = {2, 1, 2, 0, 0, 1};
  ampc_dtype types[] = {AMPC_F32, AMPC_F32, AMPC_F32,
                        AMPC_F32, AMPC_I32, AMPC_F32};
  for (int i = 0; i < 6; ++i)
    ampc_state_add(reshaped.get(), names[i], types[i], ranks[i], shapes[i],
                   error, sizeof error);
  float *before = static_cast<float *>(
      ampc_tensor_data(ampc_state_get(reshaped.get(), "b1")));
  before[0] = 42;
  EXPECT_NE(ampc_state_load(reshaped.get(), path.c_str(), error, sizeof error),
            0);
  EXPECT_EQ(std::string(error),
            "'" + path + "': 'w1' is 4x3xf32, the state expects 4x4xf32");
  EXPECT_EQ(before[0], 42.0f); // nothing was loaded
  (void)w1;

  // A truncated file is an error, not a crash.
  std::string cut = tempPath("cut.ckpt");
  {
    std::ifstream in(path, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(cut, std::ios::binary);
    out.write(all.data(), std::streamsize(all.size() / 2));
  }
  EXPECT_NE(ampc_state_load(state.get(), cut.c_str(), error, sizeof error), 0);
  EXPECT_NE(std::string(error).find("truncated"), std::string::npos) << error;
  EXPECT_NE(
      ampc_state_load(state.get(), "/nonexistent/ckpt", error, sizeof error),
      0);
  EXPECT_STREQ(error,
               "cannot open '/nonexistent/ckpt': No such file or directory");

  // A failed save leaves no file behind.
  EXPECT_NE(ampc_state_save(state.get(), "/nonexistent/dir/x.ckpt", error,
                            sizeof error),
            0);
  EXPECT_STREQ(
      error,
      "cannot write '/nonexistent/dir/x.ckpt': No such file or directory");
  std::remove(path.c_str());
  std::remove(cut.c_str());
}

/// The bytes of a file.
std::string contents(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void overwrite(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), std::streamsize(bytes.size()));
}

/// Every single-byte corruption of a checkpoint (each byte flipped in turn)
/// is refused and changes nothing; a flip in a tensor's bytes names it, a
/// flip of the file checksum says so; a short file says it is short.
TEST(RuntimeTest, CheckpointCorruptionIsDetected) {
  char error[256] = "";
  StatePtr state = makeState(error);
  std::string path = tempPath("flip.ckpt");
  ASSERT_EQ(ampc_state_save(state.get(), path.c_str(), error, sizeof error), 0);
  std::string good = contents(path);
  StatePtr target = makeState(error);
  auto *b1 = static_cast<float *>(
      ampc_tensor_data(ampc_state_get(target.get(), "b1")));
  b1[0] = 42;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = char(bad[i] ^ 0x10);
    overwrite(path, bad);
    ASSERT_NE(ampc_state_load(target.get(), path.c_str(), error, sizeof error),
              0)
        << "byte " << i << " flipped was not detected";
    ASSERT_EQ(b1[0], 42.0f) << "byte " << i;
  }
  // Byte 140 is b1's first data byte: the header takes 20 bytes, w1's
  // entry 90 (4 + 2 + 4 + 4 + 16 + 8 + 48 + 4), b1's own header 30.
  std::string bad = good;
  bad[20 + 90 + 30] ^= 1;
  overwrite(path, bad);
  EXPECT_NE(ampc_state_load(target.get(), path.c_str(), error, sizeof error),
            0);
  EXPECT_EQ(std::string(error),
            "'" + path +
                "': entry 1 ('b1') is corrupt: its checksum does not match its "
                "contents");
  bad = good;
  bad.back() ^= 1;
  overwrite(path, bad);
  EXPECT_NE(ampc_state_load(target.get(), path.c_str(), error, sizeof error),
            0);
  EXPECT_EQ(std::string(error),
            "'" + path +
                "': corrupt: the file's checksum does not match its contents");
  overwrite(path, good.substr(0, 10));
  EXPECT_NE(ampc_state_load(target.get(), path.c_str(), error, sizeof error),
            0);
  EXPECT_EQ(std::string(error),
            "'" + path +
                "': truncated (10 bytes; a checkpoint has at least 24)");
  overwrite(path, good);
  EXPECT_EQ(ampc_state_load(target.get(), path.c_str(), error, sizeof error), 0)
      << error;
  std::remove(path.c_str());
}

/// A state of one 32 MB tensor whose bytes are all `fill`.
StatePtr bigState(uint8_t fill) {
  char error[256];
  StatePtr state(ampc_state_create());
  int64_t shape[] = {8 << 20};
  ampc_tensor *t =
      ampc_state_add(state.get(), "w", AMPC_F32, 1, shape, error, 256);
  std::memset(ampc_tensor_data(t), fill, ampc_tensor_nbytes(t));
  return state;
}

/// The byte every element of the loaded checkpoint at `path` has, or -1
/// when it does not load or the bytes differ.
int loadedFill(const std::string &path) {
  char error[256];
  StatePtr state = bigState(0);
  if (ampc_state_load(state.get(), path.c_str(), error, sizeof error) != 0)
    return -1;
  ampc_tensor *t = ampc_state_get(state.get(), "w");
  auto *bytes = static_cast<uint8_t *>(ampc_tensor_data(t));
  for (size_t i = 1; i < ampc_tensor_nbytes(t); ++i)
    if (bytes[i] != bytes[0])
      return -1;
  return bytes[0];
}

/// A process killed while it saves leaves the previous checkpoint (or the
/// new one) whole; a full disk is an error and the previous one stays.
TEST(RuntimeTest, KilledOrFullSavesLeaveTheOldCheckpoint) {
  char error[256];
  std::string path = tempPath("killed.ckpt");
  ASSERT_EQ(ampc_state_save(bigState(1).get(), path.c_str(), error, 256), 0);
  for (int delayMs : {5, 40, 120}) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      StatePtr next = bigState(2);
      for (;;)
        ampc_state_save(next.get(), path.c_str(), error, 256);
    }
    usleep(useconds_t(delayMs) * 1000);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    int fill = loadedFill(path);
    EXPECT_TRUE(fill == 1 || fill == 2) << "after " << delayMs << " ms";
  }
  ASSERT_EQ(ampc_state_save(bigState(1).get(), path.c_str(), error, 256), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A disk with 1 MB left: the write fails with EFBIG.
    struct rlimit limit = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &limit);
    signal(SIGXFSZ, SIG_IGN);
    int rc = ampc_state_save(bigState(3).get(), path.c_str(), error, 256);
    _exit(rc != 0 && std::strstr(error, "cannot write") ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the save on a full disk did not fail with a message";
  EXPECT_EQ(loadedFill(path), 1);
  std::remove(path.c_str());
  std::remove((path + ".tmp").c_str());
}

TEST(RuntimeTest, AllocatorReusesFreedBlocks) {
  ampc_rt_release_cached_memory();
  void *a = _mlir_memref_to_llvm_alloc(1 << 20);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  std::memset(a, 1, 1 << 20);
  _mlir_memref_to_llvm_free(a);
  EXPECT_EQ(ampc_rt_cached_bytes(), size_t(1) << 20);
  void *b = _mlir_memref_to_llvm_alloc(1 << 20);
  EXPECT_EQ(a, b); // the same block, no new pages
  EXPECT_EQ(ampc_rt_cached_bytes(), 0u);
  void *c = _mlir_memref_to_llvm_aligned_alloc(256, 1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 256, 0u);
  _mlir_memref_to_llvm_free(c);
  _mlir_memref_to_llvm_free(b);
  _mlir_memref_to_llvm_free(nullptr);
  ampc_rt_release_cached_memory();
  EXPECT_EQ(ampc_rt_cached_bytes(), 0u);
}

} // namespace

// Without mpirun the group is this process: every collective, blocking or
// started and waited for, leaves the values as they are (the mean of one
// value is itself), and a started one has nothing to wait for.
TEST(RuntimeTest, CollectivesInAGroupOfOneKeepTheValues) {
  ASSERT_FALSE(ampc_rt::launchedWithRanks());
  EXPECT_EQ(ampc_rt::initDistributed(), "");
  EXPECT_EQ(ampc_rt::distributedRank(), 0);
  EXPECT_EQ(ampc_rt::distributedSize(), 1);
  float values[5] = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f};
  const float want[5] = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f};
  for (int32_t kind = 0; kind < 3; ++kind) {
    ampc_rt_all_reduce_f32(values, 5, kind);
    int64_t request = ampc_rt_all_reduce_start_f32(values, 5, kind);
    EXPECT_EQ(request, 0);
    ampc_rt_all_reduce_wait(request);
  }
  EXPECT_EQ(std::memcmp(values, want, sizeof(values)), 0);
  double doubles[2] = {0.25, 4.0};
  EXPECT_EQ(ampc_rt::allReduce(doubles, 2, ampc_rt::ReduceKind::Mean), "");
  EXPECT_EQ(ampc_rt::broadcast(doubles, sizeof(doubles), 0), "");
  EXPECT_EQ(doubles[0], 0.25);
  EXPECT_EQ(doubles[1], 4.0);
}
