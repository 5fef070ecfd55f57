//===- FileReadersTest.cpp - IDX, .npy and tensor literals from bytes -----===//
//
// The readers the fuzz targets drive (fuzz/*_fuzzer.cpp), on the inputs the
// fuzzers and the crash probe found or that guard their classes: forged
// sizes, truncated and multi-member gzip, integer literals out of range.
//
//===----------------------------------------------------------------------===//

#include "ampc_rt/Tensor.h"

#include "gtest/gtest.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

namespace {

/// `bytes` compressed by zlib's own gzip writer.
std::string gzip(const std::string &bytes) {
  std::string path =
      ::testing::TempDir() + "ampc_idx_" + std::to_string(getpid()) + ".gz";
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
  std::ifstream in(path, std::ios::binary);
  std::string out((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  return out;
}

/// An IDX header of unsigned bytes with `dims` (big-endian u32 each).
std::string idxHeader(std::initializer_list<uint32_t> dims) {
  std::string s = {0, 0, 8, char(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      s += char((d >> shift) & 0xff);
  return s;
}

TEST(FileReadersTest, IdxPlainAndGzipReadTheSame) {
  std::string file =
      idxHeader({2, 3}) + std::string("\x01\x02\x03\x04\x05\x06");
  for (const std::string &bytes : {file, gzip(file)}) {
    auto t = ampc_rt::parseIdx(bytes, "x");
    ASSERT_TRUE(bool(t)) << t.message();
    EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t->data, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  }
  // Two gzip members (concatenated .gz files) read as one stream.
  auto t =
      ampc_rt::parseIdx(gzip(file.substr(0, 7)) + gzip(file.substr(7)), "two");
  ASSERT_TRUE(bool(t)) << t.message();
  EXPECT_EQ(t->data.back(), 6);
}

TEST(FileReadersTest, IdxForgedSizesAreErrorsNotAllocations) {
  // 2^32-1 cubed: beyond 64-bit sizes.
  auto t = ampc_rt::parseIdx(idxHeader({0xffffffff, 0xffffffff, 0xffffffff}),
                             "huge");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(t.message(),
            "'huge': the shape in the header overflows 64-bit sizes");
  // 16 GiB claimed by a 20-byte plain file, and by a small gzip file (more
  // than deflate's 1032:1 can hold): refused before allocating.
  std::string big = idxHeader({0x10000, 0x10000, 4});
  t = ampc_rt::parseIdx(big, "big");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(t.message(),
            "'big': expected 17179869184 bytes of data, the file is shorter");
  t = ampc_rt::parseIdx(gzip(big + std::string(1000, '\0')), "big.gz");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(
      t.message(),
      "'big.gz': expected 17179869184 bytes of data, the file is shorter");
}

TEST(FileReadersTest, IdxTruncatedOrCorruptGzipIsAnError) {
  std::string file = idxHeader({4}) + std::string("\x01\x02\x03\x04");
  std::string gz = gzip(file);
  auto t = ampc_rt::parseIdx(gz.substr(0, gz.size() - 12), "cut.gz");
  ASSERT_FALSE(bool(t));
  EXPECT_NE(t.message().find("the file is shorter or not valid gzip"),
            std::string::npos)
      << t.message();
  gz[12] ^= 0x55; // inside the deflate stream
  t = ampc_rt::parseIdx(gz, "bad.gz");
  EXPECT_FALSE(bool(t));
  t = ampc_rt::parseIdx(std::string("\x1f\x8b"), "magic-only");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(t.message(), "'magic-only': truncated header");
  t = ampc_rt::parseIdx(idxHeader({4}) + "\x01", "short");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(t.message(),
            "'short': expected 4 bytes of data, the file is shorter");
  t = ampc_rt::parseIdx(std::string("\0\0\x0d\x01", 4), "floats");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(t.message(), "'floats': not an IDX file of unsigned bytes");
}

TEST(FileReadersTest, IntegerLiteralsMustFitTheirType) {
  struct Case {
    const char *text, *error;
  };
  for (Case c : {Case{"2xi8=1 128", "out of range for i8"},
                 Case{"i8=-129", "out of range for i8"},
                 Case{"i32=2147483648", "out of range for i32"},
                 Case{"i32=2.5", "not an integer (the type is i32)"},
                 Case{"i64=1e300", "out of range for i64"},
                 Case{"i64=9223372036854775808", "out of range for i64"},
                 Case{"2xi1=0 2", "out of range for i1"},
                 Case{"i32=nan", "not an integer (the type is i32)"},
                 Case{"i32=inf", "out of range for i32"}}) {
    auto t = ampc_rt::parseTensorLiteral(c.text);
    ASSERT_FALSE(bool(t)) << c.text;
    EXPECT_NE(t.message().find(c.error), std::string::npos)
        << c.text << ": " << t.message();
  }
  auto t = ampc_rt::parseTensorLiteral("3xi8=-128 0 127");
  ASSERT_TRUE(bool(t)) << t.message();
  EXPECT_EQ(t->as<int8_t>()[0], -128);
  EXPECT_EQ(t->as<int8_t>()[2], 127);
  t = ampc_rt::parseTensorLiteral("i64=-9223372036854775808");
  ASSERT_TRUE(bool(t)) << t.message();
  EXPECT_EQ(t->as<int64_t>()[0], INT64_MIN);
  // Floats take any value (beyond the range: infinity, as C's strtod).
  t = ampc_rt::parseTensorLiteral("f32=1e39");
  ASSERT_TRUE(bool(t)) << t.message();
}

TEST(FileReadersTest, NpyFromBytesNamesTheInput) {
  ampc_rt::Tensor x(ampc_rt::DType::I32, {2});
  x.as<int32_t>()[0] = 7;
  x.as<int32_t>()[1] = -7;
  std::string bytes = ampc_rt::npyBytes(x);
  auto t = ampc_rt::parseNpy(bytes, "mem");
  ASSERT_TRUE(bool(t)) << t.message();
  EXPECT_EQ(t->data, x.data);
  t = ampc_rt::parseNpy(bytes.substr(0, bytes.size() - 1), "mem");
  ASSERT_FALSE(bool(t));
  EXPECT_EQ(t.message(), "'mem': expected 8 bytes of data, the file has 7");
}

} // namespace

namespace {

TEST(FileReadersTest, OneValueFillsAndEveryTokenIsANumber) {
  auto t = ampc_rt::parseTensorLiteral("5x3xbf16=1.5");
  ASSERT_TRUE(bool(t)) << t.message();
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(t->as<uint16_t>()[i], 0x3fc0) << i; // bf16 1.5
  t = ampc_rt::parseTensorLiteral("7xi1=1");
  ASSERT_TRUE(bool(t)) << t.message();
  EXPECT_EQ(t->data, std::vector<uint8_t>(7, 1));
  // A NUL inside the text does not end a number early.
  t = ampc_rt::parseTensorLiteral(std::string_view("2xf32=1 \0x", 10));
  ASSERT_FALSE(bool(t));
  EXPECT_NE(t.message().find("bad value"), std::string::npos) << t.message();
  t = ampc_rt::parseTensorLiteral("65536x16385xf32=0");
  ASSERT_FALSE(bool(t));
  EXPECT_NE(t.message().find("more than 1 GiB"), std::string::npos)
      << t.message();
}

} // namespace

namespace {

TEST(FileReadersTest, EmptyTensorsAndForgedHeaderLengths) {
  // A zero dimension makes the tensor empty, whatever comes before it (the
  // element count overflowed first: UBSan in the sanitizer stage).
  auto t = ampc_rt::parseIdx(idxHeader({0xffffffff, 0xffffffff, 0}), "empty");
  ASSERT_TRUE(bool(t)) << t.message();
  EXPECT_EQ(t->numElements(), 0);
  EXPECT_TRUE(t->data.empty());
  // A .npy header claiming 4 GiB in a 12-byte file: an error, not an
  // allocation of 4 GiB.
  auto n = ampc_rt::parseNpy(
      std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12), "forged");
  ASSERT_FALSE(bool(n));
  EXPECT_EQ(n.message(), "'forged': truncated header");
}

} // namespace
